/**
 * The stateful task: runs a stateful operator over its channel, snapshots its state at every
 * aligned barrier (full every `fullEvery` checkpoints, incremental otherwise), restores it after
 * a recovery, and emits what is still held once its input ends.
 */
import { Effect } from "effect"
import * as Batch from "../../Batch.ts"
import type { OperatorState } from "../../Checkpoint.ts"
import type { OperatorOutput } from "../../Processor.ts"
import { type Channel, EMPTY, receiver, sendAll, sendBarrier, sendEnd } from "../channel.ts"
import { keyGroupOf } from "../keyGroups.ts"
import { decodeSaved, encodeState, savedStateOf } from "../operatorState.ts"
import { byKeyGroup, type PlannedTask } from "../planner.ts"
import type { ExecuteContext, NodeCounters } from "./context.ts"
import { everyOutput, main, type Outputs } from "./downstream.ts"
import { type Held, type LetterWriter, lettersOf } from "./transform.ts"

/** Runs one stateful operator instance until its input ends. */
export const runStateful = (
  task: PlannedTask & { readonly _tag: "Stateful" },
  instance: number,
  channel: Channel,
  outputs: Outputs,
  counters: NodeCounters,
  ctx: ExecuteContext,
  /** With `on_error: dead_letter`: where the records the operator sets aside go. */
  letters?: LetterWriter
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const processor = task.processor
    // records the operator set aside in the current batch, written before its output goes on
    const held: Array<Held> = []
    const operator = processor.make(
      letters === undefined
        ? { node: task.id, instance }
        : { node: task.id, instance, setAside: (record, error, index) => void held.push({ record, error, index }) }
    )
    let checkpoints = 0
    if (ctx.restored !== undefined) {
      const saved = savedStateOf(ctx.restored, task.id, instance, task.parallelism, ctx.keyGroups)
      if (saved !== undefined) operator.state.restore(yield* decodeSaved(task.id, processor, saved))
    }
    // the key group of every entry, when the operator can tell (see keyGroups.ts)
    const keyOfEntry = byKeyGroup(task) ? processor.keyOfEntry : undefined
    const groupsOf = (entries: ReadonlyArray<readonly [string, unknown]>): ReadonlyArray<number> | undefined => {
      if (keyOfEntry === undefined) return undefined
      return entries.map(([k, v]) => {
        const owner = keyOfEntry(k, v)
        return owner === undefined ? -1 : keyGroupOf(owner.key, ctx.keyGroups)
      })
    }
    const snapshot = (full: boolean): OperatorState => {
      const changes = operator.state.takeChanges()
      const upserts = full ? operator.state.snapshot() : changes.upserts
      const groups = groupsOf(upserts)
      const state = {
        node: task.id,
        instance,
        version: processor.stateVersion,
        full,
        upserts: encodeState(processor, upserts),
        deletes: full ? [] : changes.deletes
      }
      return groups === undefined ? state : { ...state, groups }
    }
    const input = receiver(channel)
    const all = everyOutput(outputs)
    let last: Batch.Batch<unknown> = Batch.empty()
    const emit = (output: OperatorOutput) =>
      Effect.gen(function*() {
        counters.recordsOut += output.records.length
        if (output.records.length > 0) {
          counters.batchesOut += 1
          yield* sendAll(main(outputs), Batch.withRecords(last, output.records))
        }
        if (output.side !== undefined) {
          for (const port of Object.keys(output.side)) {
            const records = output.side[port]
            const consumers = outputs.get(port)
            if (records.length > 0 && consumers !== undefined) {
              yield* sendAll(consumers, Batch.withRecords(last, records))
            }
          }
        }
      })
    while (true) {
      const polled = input.poll()
      const message = polled !== EMPTY ? polled : yield* input.next
      if (message === undefined) break
      if (message._tag === "Barrier") {
        // the first checkpoint of a run, and every `fullEvery`-th, is a full snapshot
        const full = checkpoints % ctx.fullEvery === 0
        checkpoints += 1
        yield* ctx.coordinator.operatorState(message.id, snapshot(full))
        yield* sendBarrier(all, message.id)
        continue
      }
      last = message
      counters.batchesIn += 1
      counters.recordsIn += Batch.size(message)
      const output = operator.onBatch(message)
      // the letters go ahead of the batch's output, and so ahead of the next barrier
      if (letters !== undefined && held.length > 0) yield* letters(lettersOf(held.splice(0), message), message)
      yield* emit(output)
    }
    // a run halted by a stop keeps what the operator holds in the stop checkpoint: no onEnd
    if (!ctx.coordinator.halted()) {
      yield* emit(operator.onEnd())
      yield* ctx.coordinator.operatorEnded(snapshot(true))
    }
    yield* sendEnd(all)
  })

