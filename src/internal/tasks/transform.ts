/**
 * Transform tasks: stateless (fused) processors and batch processors, each a per-batch function
 * run over the task's channel. Barriers pass through: these tasks hold no state.
 */
import { Effect, Fiber } from "effect"
import * as Batch from "../../Batch.ts"
import type * as DeadLetter from "../../connectors/kit/DeadLetter.ts"
import { bisect } from "../../connectors/kit/SinkKit.ts"
import { NodeError } from "../../Errors.ts"
import { type BatchProcessor, fuse, type Step } from "../../Processor.ts"
import { placed } from "../recordPlace.ts"
import { type Channel, EMPTY, receiver, sendAll, sendBarrier, sendEnd } from "../channel.ts"
import type { PlannedTask } from "../planner.ts"
import type { NodeCounters } from "./context.ts"
import { everyOutput, main, type Outputs } from "./downstream.ts"

/**
 * The per-batch function of a stateless task: the output records, or the error naming the node.
 * With nodes that set records aside (`on_error: dead_letter`), `letters()` gives the Effect that
 * appends what the last batch set aside to their dead-letter files (`undefined`: nothing), to run
 * before the batch's records go on.
 */
export interface StatelessProcess {
  (batch: Batch.Batch<unknown>): ReadonlyArray<unknown> | NodeError
  readonly letters?: (() => Effect.Effect<void, unknown> | undefined) | undefined
}

/**
 * The dead-letter writer of a processor node with `on_error: dead_letter`: appends the letters
 * of `batch` to the node's file, or sends them as envelopes to its destination (see
 * deadLetterOutput.ts).
 */
export type LetterWriter = (letters: ReadonlyArray<DeadLetter.Letter>, batch: Batch.Batch<unknown>) => Effect.Effect<void, unknown>

/** The tag of what a step threw (a tagged error's `_tag`, an Error's name). */
const tagOf = (e: unknown): string => {
  const tag = e !== null && typeof e === "object" && "_tag" in e ? e._tag : undefined
  return typeof tag === "string" ? tag : e instanceof Error ? e.name : typeof e
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * What a step or an operator threw on a record, held until the batch is done; `index` (in the
 * batch's `records`) places the error in its input.
 */
export interface Held {
  readonly record: unknown
  readonly error: unknown
  readonly index?: number | undefined
}

/** The dead letters of what was held on `batch`: the error's message and tag, the batch's origin. */
export const lettersOf = (held: ReadonlyArray<Held>, batch: Batch.Batch<unknown>): ReadonlyArray<DeadLetter.Letter> => {
  const origin = batch.origin
  return held.map((x) => {
    const error = x.index === undefined ? x.error : placed(x.error, batch, x.index)
    return {
      record: x.record,
      error: messageOf(error),
      fields: { tag: tagOf(error), ...(origin !== undefined ? { source: origin.source, position: origin.position } : {}) }
    }
  })
}

/**
 * A step that sets aside the records it throws on (into `held`) instead of failing: a filter
 * drops them, a map or flat_map emits nothing for them.
 */
const guarded = (step: Step, held: Array<Held>): Step => {
  switch (step._tag) {
    case "filter": {
      const f = step.f
      return {
        _tag: "filter",
        f: (r) => {
          try {
            return f(r)
          } catch (error) {
            held.push({ record: r, error })
            return false
          }
        }
      }
    }
    case "map": {
      const f = step.f
      return {
        _tag: "flatMap",
        f: (r) => {
          try {
            return [f(r)]
          } catch (error) {
            held.push({ record: r, error })
            return []
          }
        }
      }
    }
    case "flatMap": {
      const f = step.f
      return {
        _tag: "flatMap",
        f: (r) => {
          try {
            return Array.from(f(r))
          } catch (error) {
            held.push({ record: r, error })
            return []
          }
        }
      }
    }
  }
}

/**
 * The per-batch function of a (possibly fused) stateless task. Per-node record counts come from
 * the fused loop's step counters; a throwing step is blamed on its own node. Synchronous: no
 * Effect per batch.
 */
export const statelessProcess = (
  task: PlannedTask & { readonly _tag: "Stateless" },
  counters: ReadonlyArray<NodeCounters>,
  /** The dead-letter writers of the task's nodes that set records aside (by node id). */
  writers?: ReadonlyMap<string, LetterWriter>
): StatelessProcess => {
  // nodes with dead letters: their steps hold what they throw on, per node
  const held = task.nodes.map((node) => (writers?.has(node) === true ? [] as Array<Held> : undefined))
  const steps = task.steps.flatMap((nodeSteps, i) => {
    const h = held[i]
    return h === undefined ? nodeSteps : nodeSteps.map((step) => guarded(step, h))
  })
  const fused = fuse(steps)
  // node i spans steps [bounds[i], bounds[i + 1])
  const bounds: Array<number> = [0]
  for (const s of task.steps) bounds.push(bounds[bounds.length - 1] + s.length)
  const nodeOfStep = (k: number): string => {
    for (let i = 0; i < task.nodes.length; i++) if (k < bounds[i + 1]) return task.nodes[i]
    return task.nodes[task.nodes.length - 1]
  }
  // counters are shared by the node's instances: add what this instance did since last time
  const seen = new Float64Array(fused.reached.length)
  const update = () => {
    const reached = fused.reached
    for (let i = 0; i < counters.length; i++) {
      counters[i].recordsIn += reached[bounds[i]] - seen[bounds[i]]
      counters[i].recordsOut += reached[bounds[i + 1]] - seen[bounds[i + 1]]
    }
    seen.set(reached)
  }
  let lastBatch: Batch.Batch<unknown> | undefined
  const process = (batch: Batch.Batch<unknown>): ReadonlyArray<unknown> | NodeError => {
    lastBatch = batch
    try {
      const records = fused.run(batch)
      update()
      return records
    } catch (cause) {
      return new NodeError({ node: nodeOfStep(fused.failedStep()), cause })
    }
  }
  if (writers === undefined || writers.size === 0) return process
  const letters = (): Effect.Effect<void, unknown> | undefined => {
    let effect: Effect.Effect<void, unknown> | undefined
    const batch = lastBatch
    if (batch === undefined) return undefined
    for (let i = 0; i < task.nodes.length; i++) {
      const h = held[i]
      const write = writers.get(task.nodes[i])
      if (h === undefined || h.length === 0 || write === undefined) continue
      const one = write(lettersOf(h.splice(0), batch), batch)
      effect = effect === undefined ? one : Effect.andThen(effect, one)
    }
    return effect
  }
  return Object.assign(process, { letters })
}

/**
 * The per-batch Effect of a pure batch processor (`pure: true`) whose node sets records aside:
 * a batch it fails on is run again in halves, down to single records (the sink kit's
 * `bisect`), so that the records it fails on alone go to the dead letters and the others' output
 * goes on, in input order. Each record's output is produced once (a range whose run failed
 * produced nothing). A batch it does not fail on costs one run, as without dead letters.
 */
export const bisectingProcess = (
  process: (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, unknown>,
  write: LetterWriter
) =>
(batch: Batch.Batch<unknown>): Effect.Effect<ReadonlyArray<unknown>, unknown> =>
  Effect.gen(function*() {
    const output: Array<unknown> = []
    // bisect tries ranges left to right, so the successful ones come in input order
    const { rejected } = yield* bisect({
      size: Batch.size(batch),
      attempt: (from, to) =>
        Effect.map(process(Batch.slice(batch, from, to)), (records) => {
          for (const r of records) output.push(r)
          return to - from
        }),
      isRejection: () => true
    })
    if (rejected.length > 0) {
      const held = rejected.map((r) => ({ record: Batch.get(batch, r.index), error: r.error, index: batch.start + r.index }))
      yield* write(lettersOf(held, batch), batch)
    }
    return output
  })

/**
 * The per-batch Effect of a batch processor that says itself which records it failed on
 * (`BatchProcessor.setAside`, e.g. `worker_map` in record mode) and whose node sets records
 * aside: the batch runs once, the records it failed on go to the dead letters (before the
 * output goes on, so ahead of the next barrier), the others' output goes on in input order.
 */
export const settingAsideProcess = (
  setAside: NonNullable<BatchProcessor["setAside"]>,
  write: LetterWriter
) =>
(batch: Batch.Batch<unknown>): Effect.Effect<ReadonlyArray<unknown>, unknown> =>
  Effect.flatMap(setAside(batch), ({ failed, records }) => {
    if (failed.length === 0) return Effect.succeed(records)
    const held = failed.map((f) => ({ record: Batch.get(batch, f.index), error: f.error, index: batch.start + f.index }))
    return Effect.as(write(lettersOf(held, batch), batch), records)
  })

/** A stateless process as an Effect per batch (for a task that reads a channel). */
export const statelessEffect = (process: StatelessProcess) => (batch: Batch.Batch<unknown>): Effect.Effect<ReadonlyArray<unknown>, unknown> =>
  Effect.suspend(() => {
    const records = process(batch)
    if (records instanceof NodeError) return Effect.fail(records)
    const letters = process.letters?.()
    return letters === undefined ? Effect.succeed(records) : Effect.as(letters, records)
  })

/**
 * Runs a per-batch transformation over a channel. With `ordered` and several instances, one
 * fiber runs up to `parallelism` batches at once and emits them in input order.
 */
export const runTransform = (
  process: (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, unknown>,
  channel: Channel,
  outputs: Outputs,
  first: NodeCounters,
  last: NodeCounters,
  countRecords: boolean,
  orderedConcurrency: number | undefined
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const input = receiver(channel)
    const all = everyOutput(outputs)
    const emit = (batch: Batch.Batch<unknown>, records: ReadonlyArray<unknown>) => {
      if (countRecords) last.recordsOut += records.length
      if (records.length === 0) return Effect.void
      last.batchesOut += 1
      return sendAll(main(outputs), Batch.withRecords(batch, records))
    }
    const before = (batch: Batch.Batch<unknown>) => {
      first.batchesIn += 1
      if (countRecords) first.recordsIn += Batch.size(batch)
    }
    const window: Array<readonly [Batch.Batch<unknown>, Fiber.Fiber<ReadonlyArray<unknown>, unknown>]> = []
    const drainOne = Effect.suspend(() => {
      const [batch, fiber] = window.shift()!
      return Effect.flatMap(Fiber.join(fiber), (records) => emit(batch, records))
    })
    const drainAll = Effect.whileLoop({ while: () => window.length > 0, body: () => drainOne, step: () => {} })
    while (true) {
      const polled = input.poll()
      const message = polled !== EMPTY ? polled : yield* input.next
      if (message === undefined) break
      if (message._tag === "Barrier") {
        yield* drainAll
        yield* sendBarrier(all, message.id)
        continue
      }
      before(message)
      if (orderedConcurrency === undefined) {
        yield* emit(message, yield* process(message))
      } else {
        window.push([message, yield* Effect.forkChild(process(message))])
        if (window.length >= orderedConcurrency) yield* drainOne
      }
    }
    yield* drainAll
    yield* sendEnd(all)
  })

