/**
 * The sink task: opens a sink instance (restoring it after a recovery), writes each batch,
 * pre-commits and acknowledges barriers, commits once a checkpoint completes, and flushes at the
 * end. A sink chained into its source runs as that source's downstream instead of a task.
 */
import { Clock, Deferred, Effect, type Scope } from "effect"
import * as Batch from "../../Batch.ts"
import { Pending, type WriteStats } from "../../Connector.ts"
import type { PreparedSink } from "../../Registry.ts"
import { type Channel, EMPTY, receiver } from "../channel.ts"
import type { PlannedTask } from "../planner.ts"
import type { ExecuteContext, NodeCounters } from "./context.ts"
import type { Downstream } from "./downstream.ts"

/**
 * A sink instance as a downstream: opens the writer (restoring it after a recovery), writes each
 * batch (through the writer's synchronous fast path when it takes the batch at once),
 * pre-commits and acknowledges barriers, and flushes at the end. Used by the sink's own task
 * (fed by its channel) and by a producer that the sink is chained into.
 */
export const openSink = (
  task: PlannedTask & { readonly _tag: "Sink" },
  sink: PreparedSink,
  instance: number,
  batchSize: number,
  counters: NodeCounters,
  ctx: ExecuteContext
): Effect.Effect<Downstream, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const { coordinator } = ctx
    const writer = yield* sink.open({
      workflow: ctx.workflow,
      node: task.id,
      batchSize,
      instance,
      parallelism: task.parallelism,
      ...(ctx.fromScratch === true ? { fromScratch: true } : {})
    })
    if (writer.restore !== undefined) yield* writer.restore(ctx.restored?.id)
    const preCommitted = new Set<number>()
    const preCommit = (id: number) =>
      Effect.gen(function*() {
        yield* writer.flush
        if (writer.preCommit !== undefined) yield* writer.preCommit(id)
        preCommitted.add(id)
      })
    coordinator.onComplete(task.id, (id) => {
      if (!preCommitted.has(id)) return Effect.void
      preCommitted.delete(id)
      return writer.commit !== undefined ? writer.commit(id) : Effect.void
    })
    const max = sink.capabilities.maxBatchSize
    const clock = yield* Clock.Clock
    const batchers = ctx.batchers !== undefined && ctx.batchers.size > 0 ? ctx.batchers : undefined
    // the writer's synchronous fast path when it has one and can take the batch now
    const write = (batch: Batch.Batch<unknown>): WriteStats | Effect.Effect<WriteStats, unknown> => {
      if (writer.writeBatchSync !== undefined) {
        try {
          const stats = writer.writeBatchSync(batch)
          if (stats !== Pending) return stats
        } catch (error) {
          return Effect.fail(error)
        }
      }
      return writer.writeBatch(batch)
    }
    const observe = (batch: Batch.Batch<unknown>) => {
      const batcher = batchers !== undefined && batch.origin !== undefined ? batchers.get(batch.origin.source) : undefined
      if (batcher !== undefined) {
        const now = clock.currentTimeMillisUnsafe()
        batcher.observe({ records: Batch.size(batch), latencyMs: now - batch.readAt, now, full: batcher.full })
      }
    }
    const push = (batch: Batch.Batch<unknown>): Effect.Effect<void, unknown> => {
      counters.batchesIn += 1
      counters.recordsIn += Batch.size(batch)
      if (max === undefined || Batch.size(batch) <= max) {
        const stats = write(batch)
        if (!Effect.isEffect(stats)) {
          counters.recordsOut += stats.written
          observe(batch)
          return Effect.void
        }
        return Effect.map(stats, (s) => {
          counters.recordsOut += s.written
          observe(batch)
        })
      }
      return Effect.gen(function*() {
        for (const part of Batch.chunksOf(batch, max)) {
          const stats = write(part)
          counters.recordsOut += (Effect.isEffect(stats) ? yield* stats : stats).written
        }
        observe(batch)
      })
    }
    return {
      push,
      barrier: (id) => Effect.andThen(preCommit(id), coordinator.sinkAck(task.id, instance, id)),
      // a run halted by a stop has committed everything in the stop checkpoint: nothing to finish
      end: Effect.suspend(() =>
        coordinator.halted() ? Effect.void : Effect.andThen(writer.flush, coordinator.sinkEnded(task.id, instance, preCommit))
      )
    }
  })

/** A sink task: feeds what arrives on its channel to the sink opened by `open` (see openSink). */
export const runSink = (
  open: Effect.Effect<Downstream, unknown, Scope.Scope>,
  channel: Channel,
  ctx: ExecuteContext
): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const handler = yield* open
    const input = receiver(channel)
    while (true) {
      const polled = input.poll()
      const message = polled !== EMPTY ? polled : yield* input.next
      if (message === undefined) break
      if (message._tag === "Barrier") {
        yield* handler.barrier(message.id)
        continue
      }
      const written = handler.push(message)
      if (written !== Effect.void) yield* written
    }
    yield* handler.end
    // keep the writer open until the final checkpoint has committed it
    yield* Deferred.await(ctx.coordinator.final)
  })

