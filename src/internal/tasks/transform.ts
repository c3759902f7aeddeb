/**
 * Transform tasks: stateless (fused) processors and batch processors, each a per-batch function
 * run over the task's channel. Barriers pass through: these tasks hold no state.
 */
import { Effect, Fiber } from "effect"
import * as Batch from "../../Batch.ts"
import { NodeError } from "../../Errors.ts"
import { fuse } from "../../Processor.ts"
import { type Channel, EMPTY, receiver, sendAll, sendBarrier, sendEnd } from "../channel.ts"
import type { PlannedTask } from "../planner.ts"
import type { NodeCounters } from "./context.ts"
import { everyOutput, main, type Outputs } from "./downstream.ts"

/** The per-batch function of a stateless task: the output records, or the error naming the node. */
export type StatelessProcess = (batch: Batch.Batch<unknown>) => ReadonlyArray<unknown> | NodeError

/**
 * The per-batch function of a (possibly fused) stateless task. Per-node record counts come from
 * the fused loop's step counters; a throwing step is blamed on its own node. Synchronous: no
 * Effect per batch.
 */
export const statelessProcess = (
  task: PlannedTask & { readonly _tag: "Stateless" },
  counters: ReadonlyArray<NodeCounters>
): StatelessProcess => {
  const fused = fuse(task.steps.flat())
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
  return (batch) => {
    try {
      const records = fused.run(batch)
      update()
      return records
    } catch (cause) {
      return new NodeError({ node: nodeOfStep(fused.failedStep()), cause })
    }
  }
}

/** A stateless process as an Effect per batch (for a task that reads a channel). */
export const statelessEffect = (process: StatelessProcess) => (batch: Batch.Batch<unknown>): Effect.Effect<ReadonlyArray<unknown>, NodeError> =>
  Effect.suspend(() => {
    const records = process(batch)
    return records instanceof NodeError ? Effect.fail(records) : Effect.succeed(records)
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

