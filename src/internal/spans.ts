/**
 * Spans the runtime records after the fact: a completed checkpoint, and sampled batches.
 *
 * Sampled batch spans. A sink instance records at most one `dataflare.batch` span per
 * {@link BATCH_SPAN_EVERY_MS}: from the moment its source read the batch to the moment the sink
 * wrote it, with the record count and the source it came from. The span is made directly on the
 * tracer (its start lies in the past), synchronously: the hot path runs no Effect for it, and
 * between samples it costs one comparison.
 */
import { Context, Effect, Exit, Option, type Tracer } from "effect"
import * as Batch from "../Batch.ts"
import type { CheckpointInfo } from "../Checkpoint.ts"

/** At most one batch span per sink instance in this many milliseconds. */
export const BATCH_SPAN_EVERY_MS = 1000

const nanos = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n

/** A sampler: call it after each written batch with the current time (ms). */
export const batchSpans = (
  tracer: Tracer.Tracer,
  attributes: Record<string, unknown>
): (batch: Batch.Batch<unknown>, now: number) => void => {
  let next = 0
  return (batch, now) => {
    if (now < next) return
    next = now + BATCH_SPAN_EVERY_MS
    const span = tracer.span({
      name: "dataflare.batch",
      parent: Option.none(),
      annotations: Context.empty(),
      links: [],
      startTime: nanos(batch.readAt),
      kind: "internal",
      root: true,
      sampled: true
    })
    for (const key in attributes) span.attribute(key, attributes[key])
    span.attribute("records", Batch.size(batch))
    if (batch.origin !== undefined) span.attribute("source", batch.origin.source)
    span.end(nanos(now), Exit.void)
  }
}

/**
 * A `dataflare.checkpoint` span from the moment checkpoint `id` was requested to its completion
 * (record written, sources and sinks committed), as a root span.
 */
export const checkpointSpan = (info: CheckpointInfo): Effect.Effect<void> =>
  Effect.map(Effect.tracer, (tracer) => {
    const span = tracer.span({
      name: "dataflare.checkpoint",
      parent: Option.none(),
      annotations: Context.empty(),
      links: [],
      startTime: nanos(info.startedAt),
      kind: "internal",
      root: true,
      sampled: true
    })
    span.attribute("workflow", info.workflow)
    span.attribute("checkpoint", info.id)
    span.attribute("final", info.final)
    span.attribute("full", info.full)
    span.attribute("state_bytes", Object.values(info.stateBytes).reduce((a, b) => a + b, 0))
    span.end(nanos(info.completedAt), Exit.void)
  })
