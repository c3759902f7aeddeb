/**
 * The sink task: opens a sink instance (restoring it after a recovery), writes each batch,
 * pre-commits and acknowledges barriers, commits once a checkpoint completes, and flushes at the
 * end. A sink chained into its source runs as that source's downstream instead of a task.
 */
import { Clock, Deferred, Effect, type Scope } from "effect"
import * as Batch from "../../Batch.ts"
import { Pending, type WriteStats } from "../../Connector.ts"
import type { PreparedSink } from "../../Registry.ts"
import * as DeadLetter from "../../connectors/kit/DeadLetter.ts"
import { type Channel, EMPTY, type Inbound, receiver, sendAll, sendBarrier, sendEnd } from "../channel.ts"
import type { PlannedTask } from "../planner.ts"
import { type ExecuteContext, type NodeCounters, spanAttributes } from "./context.ts"
import { recordLatency } from "../latency.ts"
import { batchSpans } from "../spans.ts"
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
  ctx: ExecuteContext,
  /**
   * The sink sets records aside (`on_error: dead_letter`): its writes run with a
   * `DeadLetter.CurrentWrite` giving the batch's origin, and with `dead_letter: { to }` sending
   * the envelopes to `targets` (the destination's channels), which also get the sink's barriers
   * (after its pre-commit) and its end.
   */
  letters?: SinkLetters | undefined
): Effect.Effect<Downstream, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const around = letters === undefined ? undefined : currentWrite(letters)
    const { coordinator } = ctx
    const attributes = spanAttributes(ctx, counters)
    const writer = yield* Effect.gen(function*() {
      const writer = yield* sink.open({
        workflow: ctx.workflow,
        node: task.id,
        batchSize,
        instance,
        parallelism: task.parallelism,
        ...(ctx.fromScratch === true ? { fromScratch: true } : {}),
        onDeadLetters: (n) => {
          counters.deadLetters += n
        }
      })
      if (writer.restore !== undefined) yield* writer.restore(ctx.restored?.id)
      return writer
    }).pipe(Effect.withSpan("dataflare.sink.open", { attributes }))
    const preCommitted = new Set<number>()
    // (the final checkpoint's pre-commit runs in whichever task completes it: it brings its CurrentWrite)
    const preCommit = (id: number) =>
      (around?.provided ?? identity)(Effect.gen(function*() {
        yield* writer.flush
        if (writer.preCommit !== undefined) yield* writer.preCommit(id)
        preCommitted.add(id)
      }))
    coordinator.onComplete(task.id, (id) => {
      if (!preCommitted.has(id)) return Effect.void
      preCommitted.delete(id)
      return writer.commit !== undefined
        ? writer.commit(id).pipe(Effect.withSpan("dataflare.sink.commit", { attributes: { ...attributes, checkpoint: id } }))
        : Effect.void
    })
    counters.open = true
    const max = sink.capabilities.maxBatchSize
    const clock = yield* Clock.Clock
    const tracer = yield* Effect.tracer
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
    const latency = counters.latency
    const sampler = batchSpans(tracer, attributes)
    // after a batch is written: its latency since the read, for the histogram, the batcher and a sampled span
    const observe = (batch: Batch.Batch<unknown>) => {
      if (batch.readAt === 0) return
      const now = clock.currentTimeMillisUnsafe()
      if (latency !== undefined) recordLatency(latency, now - batch.readAt)
      sampler(batch, now)
      const batcher = batchers !== undefined && batch.origin !== undefined ? batchers.get(batch.origin.source) : undefined
      if (batcher !== undefined) batcher.observe({ records: Batch.size(batch), latencyMs: now - batch.readAt, now, full: batcher.full })
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
    const downstream: Downstream = {
      push,
      barrier: (id) => Effect.andThen(preCommit(id), coordinator.sinkAck(task.id, instance, id)),
      // a run halted by a stop has committed everything in the stop checkpoint: nothing to finish
      end: Effect.suspend(() =>
        coordinator.halted() ? Effect.void : Effect.andThen(writer.flush, coordinator.sinkEnded(task.id, instance, preCommit))
      )
    }
    return around === undefined ? downstream : around.wrap(downstream)
  })

const identity = <A>(a: A): A => a

/**
 * What a sink that sets records aside needs (see {@link openSink}): the channels of the
 * destination of its `dead_letter: { to }` (empty without one), and once that destination has
 * ended, a way to hand it envelopes directly (`late`).
 */
export interface SinkLetters {
  readonly targets: ReadonlyArray<Inbound>
  /**
   * The destination's own write, registered when it ends: the final checkpoint pre-commits this
   * sink before its destination (sinks pre-commit in the order they ended), so the envelopes of
   * rows refused by that pre-commit (the postgres sink ends its COPY there) are still written
   * in the destination's final checkpoint.
   */
  readonly late: () => ((batch: Batch.Batch<unknown>) => Effect.Effect<void, unknown>) | undefined
}

/**
 * The `DeadLetter.CurrentWrite` of a sink that sets records aside: the origin of the batch being
 * written, and — with a destination — the sending of envelopes to its channels, ahead of the
 * barrier the sink forwards there after its pre-commit. The destination gets the sink's end once
 * its last write (the final flush) is done; envelopes after that (the final checkpoint's
 * pre-commit) go straight to the destination's writer ({@link SinkLetters.late}).
 */
const currentWrite = (letters: SinkLetters) => {
  const { targets } = letters
  let last: Batch.Batch<unknown> = Batch.empty()
  let ended = false
  let origin: DeadLetter.CurrentWrite["origin"]
  const send = (envelopes: ReadonlyArray<unknown>): Effect.Effect<void, unknown> => {
    const batch = Batch.withRecords(last, envelopes)
    if (!ended) return sendAll(targets, batch)
    const late = letters.late()
    return late === undefined ? Effect.fail(new Error("the destination has ended")) : late(batch)
  }
  const service: DeadLetter.CurrentWrite = {
    get origin() {
      return origin
    },
    send: targets.length > 0 ? send : undefined
  }
  const provided = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, DeadLetter.CurrentWrite, service)
  const wrap = (downstream: Downstream): Downstream => ({
    push: (batch) =>
      Effect.suspend(() => {
        last = batch
        origin = batch.origin === undefined ? undefined : { source: batch.origin.source, position: batch.origin.position }
        return provided(downstream.push(batch))
      }),
    // the pre-commit (inside `barrier`) provides it already
    barrier: (id) => (targets.length === 0 ? downstream.barrier(id) : Effect.andThen(downstream.barrier(id), sendBarrier(targets, id))),
    // the final flush may still set records aside: they go before the end
    end: targets.length === 0 ? provided(downstream.end) : Effect.andThen(
      provided(downstream.end),
      Effect.suspend(() => {
        ended = true
        return sendEnd(targets)
      })
    )
  })
  return { provided, wrap }
}

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

