/**
 * Where a task hands on what it produces: the channels of its consumers, or a stateless chain
 * run in the same fiber (operator chaining: no queue hop, no fiber switch per batch).
 */
import { Effect } from "effect"
import * as Batch from "../../Batch.ts"
import { NodeError } from "../../Errors.ts"
import { type Inbound, sendAll, sendBarrier, sendEnd } from "../channel.ts"
import type { NodeCounters } from "./context.ts"
import type { StatelessProcess } from "./transform.ts"

/** The output ports of a task: port name → consumers. */
export type Outputs = ReadonlyMap<string, ReadonlyArray<Inbound>>

/** The consumers of a task's main output. */
export const main = (outputs: Outputs): ReadonlyArray<Inbound> => outputs.get("main") ?? []

/** Every consumer of every port (barriers and ends go to all of them). */
export const everyOutput = (outputs: Outputs): ReadonlyArray<Inbound> => [...new Set([...outputs.values()].flat())]

/** What a producer calls for each batch, barrier and its end. */
export interface Downstream {
  readonly push: (batch: Batch.Batch<unknown>) => Effect.Effect<void, unknown>
  readonly barrier: (id: number) => Effect.Effect<void, unknown>
  readonly end: Effect.Effect<void, unknown>
}

/** The channels of a task's consumers as its downstream. */
export const toChannels = (outputs: Outputs): Downstream => {
  const targets = main(outputs)
  const all = everyOutput(outputs)
  return {
    push: (batch) => sendAll(targets, batch),
    barrier: (id) => sendBarrier(all, id),
    end: sendEnd(all)
  }
}

/**
 * A stateless (fused) task chained after its producer: each batch runs through the fused loop in
 * the producer's fiber, and what comes out goes on to `next`. Barriers and the end pass straight
 * through (a stateless task has nothing to snapshot).
 */
export const chainStateless = (
  process: StatelessProcess,
  first: NodeCounters,
  last: NodeCounters,
  next: Downstream
): Downstream => ({
  push: (batch) => {
    first.batchesIn += 1
    const records = process(batch)
    if (records instanceof NodeError) return Effect.fail(records)
    const letters = process.letters?.()
    if (records.length === 0) return letters ?? Effect.void
    last.batchesOut += 1
    return letters === undefined ? next.push(Batch.withRecords(batch, records)) : Effect.andThen(letters, next.push(Batch.withRecords(batch, records)))
  },
  barrier: next.barrier,
  end: next.end
})
