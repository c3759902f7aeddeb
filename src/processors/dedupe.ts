/**
 * The `dedupe` processor: emits the first occurrence of each key and drops the repeats, over all
 * time or within an event-time window.
 *
 * - Without `window`, every key ever seen is remembered: the state grows with the number of
 *   distinct keys (use it for bounded key spaces, or add a window). `max_keys` caps the keys one
 *   instance holds: the record that would add one more fails the run (nothing is evicted, which
 *   would let a duplicate through); see docs/limits.md.
 * - With `window` (and `time_field`), a record is a duplicate when an earlier-arrived record of
 *   the same key was emitted at event time `t0` and this record's event time is before
 *   `t0 + window`; a record at or after `t0 + window` is emitted and starts a new window. Keys
 *   are forgotten by the watermark (largest event time seen minus `max_out_of_orderness`), so the
 *   state holds about two windows' worth of keys. A record whose own window `[t, t + window)`
 *   has already closed under the watermark is late: an earlier occurrence may have been
 *   forgotten, so it is dropped (`late: drop`, counted) or sent to the side output `late`.
 *
 * The key is the tuple of the `key` fields (a missing field counts as `null`); it is also the
 * partitioning key, so every record of a key meets the same instance, in order. All state is in
 * the operator's keyed state, encoded by `stateSchema` for checkpoints. See `docs/windowing.md`.
 *
 * @example
 * ```yaml
 * transformations:
 *   unique_events:
 *     type: dedupe
 *     inputs: [events]
 *     config: { key: [event_id], time_field: ts, window: 10m, max_out_of_orderness: 30s }
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Processor from "../Processor.ts"
import { DurationString, durationMillis } from "../WorkflowGraph.ts"
import { type DedupePlan, makeOperator } from "./internal/dedupeOperator.ts"
import { UNLIMITED } from "./internal/keyLimit.ts"
import { dedupeStateSchema } from "./internal/windowState.ts"
import { dedupeKey, mergeClocks } from "./internal/windowState.ts"
import { keyOf } from "./internal/windows.ts"

export type { DedupeOperator, DedupePlan } from "./internal/dedupeOperator.ts"

/**
 * The config of `dedupe` (keys as written in YAML).
 *
 * @category schemas
 * @since 0.1.0
 */
export const DedupeConfig = Schema.Struct({
  key: Schema.Array(Schema.NonEmptyString).check(Schema.isMinLength(1)).annotate({
    description: "The fields whose values identify a record; a repeated key is dropped"
  }),
  time_field: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "The event-time field; required with window" })),
  window: Schema.optionalKey(DurationString).annotateKey({
    description: "Drop repeats only within this much event time (absent: over all time)"
  }),
  max_out_of_orderness: Schema.optionalKey(DurationString).annotateKey({
    description: "How far behind the largest event time seen a record may come and still count (only with window)",
    default: 0
  }),
  late: Schema.optionalKey(Schema.Literals(["drop", "side_output"]).annotate({
    description: "A record behind the watermark (only with window): dropped, or sent to the node's late side output",
    default: "drop"
  })),
  max_keys: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)).annotate({
    description: "The most keys an instance holds; one more fails the run (absent: no limit)"
  }))
}).check(
  Schema.makeFilter((c) => {
    const issues: Array<Schema.FilterIssue> = []
    if (c.window !== undefined) {
      if (c.time_field === undefined) issues.push({ path: ["time_field"], issue: "time_field is required when a window is set" })
      if (durationMillis(c.window) <= 0) issues.push({ path: ["window"], issue: "the window must be greater than 0" })
    } else {
      for (const key of ["time_field", "max_out_of_orderness", "late"] as const) {
        if (c[key] !== undefined) issues.push({ path: [key], issue: `${key} only applies with a window (set window, or remove ${key})` })
      }
    }
    return issues
  })
)

/**
 * A decoded `dedupe` config.
 *
 * @category models
 * @since 0.1.0
 */
export type DedupeConfig = typeof DedupeConfig.Type

/**
 * The operator plan of a decoded config.
 *
 * @category constructors
 * @since 0.1.0
 */
export const plan = (config: DedupeConfig): DedupePlan => ({
  key: config.key,
  window: config.window === undefined || config.time_field === undefined
    ? undefined
    : { size: durationMillis(config.window), timeField: config.time_field },
  maxOutOfOrderness: config.max_out_of_orderness === undefined ? 0 : durationMillis(config.max_out_of_orderness),
  late: config.late ?? "drop",
  maxKeys: config.max_keys ?? UNLIMITED
})

/**
 * The stateful processor of a decoded config.
 *
 * @category constructors
 * @since 0.1.0
 */
export const processor = (config: DedupeConfig): Processor.StatefulProcessor => {
  const p = plan(config)
  return {
    _tag: "Stateful",
    key: (record) => keyOf(record, p.key),
    ports: ["late"],
    stateSchema: dedupeStateSchema,
    stateVersion: 1,
    make: (context) => makeOperator(p, context.setAside),
    deadLetters: true,
    keyOfEntry: dedupeKey,
    mergeEntries: mergeClocks,
    fingerprint: { key: p.key, window: p.window ?? null }
  }
}

/**
 * The `dedupe` processor definition (YAML `type: dedupe`).
 *
 * @category definitions
 * @since 0.1.0
 */
export const Dedupe = Processor.define({
  type: "dedupe",
  description: "drops repeated keys, over all time or within an event-time window",
  config: DedupeConfig,
  make: (config) => processor(config)
})
