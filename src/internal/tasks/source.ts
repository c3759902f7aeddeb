/**
 * The source task: reads batches from a source instance and hands them downstream, injects
 * checkpoint barriers when the coordinator asks (reporting its position first), seeks to the
 * restored position after a recovery, and commits positions once a checkpoint completes.
 */
import { Clock, Deferred, Effect, type Scope } from "effect"
import * as Batch from "../../Batch.ts"
import { Pending } from "../../Connector.ts"
import type { PreparedSource } from "../../Registry.ts"
import type { PlannedTask } from "../planner.ts"
import { type ExecuteContext, keyOf, type NodeCounters } from "./context.ts"
import type { Downstream } from "./downstream.ts"

/**
 * A source whose reader answers synchronously (and whose batches go on without waiting, e.g. to
 * an inline sink) yields to other fibers after this many batches, or once this many milliseconds
 * have passed since it last did, whichever comes first: timers, checkpoints and other workflows
 * keep running beside a pipeline that never waits.
 */
const YIELD_EVERY = 64
const YIELD_AFTER_MS = 10

/** Runs one source instance until its input ends or a stop is requested. */
export const runSource = (
  task: PlannedTask & { readonly _tag: "Source" },
  source: PreparedSource,
  instance: number,
  batchSize: number,
  makeDownstream: Effect.Effect<Downstream, unknown, Scope.Scope>,
  counters: NodeCounters,
  fusedCounters: ReadonlyArray<NodeCounters>,
  ctx: ExecuteContext
): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const { coordinator } = ctx
    const downstream = yield* makeDownstream
    const reader = yield* source.open({
      workflow: ctx.workflow,
      node: task.id,
      batchSize,
      instance,
      parallelism: task.parallelism,
      ...(task.fused.length > 0 ? { fused: task.fused } : {}),
      ...(task.encoding !== undefined ? { encoding: task.encoding } : {})
    })
    // Nodes fused into the source: their counts come from the reader (totals; add what is new).
    const seenCounts: Array<number> = fusedCounters.map(() => 0).concat(0)
    const updateFused = () => {
      const totals = reader.fusedCounts?.()
      if (totals === undefined || totals.length !== seenCounts.length) return
      counters.recordsOut += totals[0] - seenCounts[0]
      for (let k = 0; k < fusedCounters.length; k++) {
        fusedCounters[k].recordsIn += totals[k] - seenCounts[k]
        fusedCounters[k].recordsOut += totals[k + 1] - seenCounts[k + 1]
      }
      for (let k = 0; k < totals.length; k++) seenCounts[k] = totals[k]
    }
    let injected = 0
    if (ctx.restored !== undefined) {
      const saved = ctx.restored.positions.find((p) => p.node === task.id && p.instance === instance)
      if (saved === undefined) {
        return yield* Effect.fail(
          new Error(
            `checkpoint ${ctx.restored.id} has no position for source '${task.id}' instance ${instance} (was its parallelism changed?); run with --from-scratch to start over`
          )
        )
      }
      yield* reader.seek(saved.position as Batch.Position)
      injected = ctx.restored.id
    }
    const k = keyOf(task.id, instance)
    coordinator.onComplete((_, positions) => {
      const p = positions.get(k)
      return p === undefined ? Effect.void : reader.commit(p)
    })
    const limit = source.capabilities.maxBatchSize ?? Number.POSITIVE_INFINITY
    let syncReads = 0
    const batcher = ctx.batchers?.get(task.id)
    // the fiber's clock, read synchronously per batch (TestClock in tests)
    const clock = yield* Clock.Clock
    let lastYield = clock.currentTimeMillisUnsafe()
    // stamps a batch with its origin and read time (when the source did not) and hands it on
    const stamped = (batch: Batch.Batch<unknown>, readAt: number) => {
      if (fusedCounters.length === 0) counters.recordsOut += Batch.size(batch)
      else fusedCounters[fusedCounters.length - 1].batchesOut += 1
      counters.batchesOut += 1
      if (readAt === batch.readAt && batch.origin !== undefined) return downstream.push(batch)
      return downstream.push(Batch.make(batch.records, {
        origin: batch.origin ?? { source: task.id, position: null },
        watermark: batch.watermark,
        readAt
      }, batch.start, batch.end))
    }
    const emit = (batch: Batch.Batch<unknown>): Effect.Effect<void, unknown> =>
      stamped(batch, batch.readAt === 0 ? clock.currentTimeMillisUnsafe() : batch.readAt)
    // With adaptive batching, small reads are gathered up to the current size, for at most `linger`.
    let pending: Array<unknown> = []
    let pendingSince = 0
    let pendingLast: Batch.Batch<unknown> | undefined
    const flushPending = Effect.suspend(() => {
      if (pendingLast === undefined || pending.length === 0) return Effect.void
      const batch = Batch.withRecords(pendingLast, pending)
      pending = []
      pendingLast = undefined
      return emit(batch)
    })
    while (!coordinator.stopRequested()) {
      const requested = coordinator.requested()
      if (requested > injected) {
        injected = requested
        yield* flushPending
        yield* coordinator.sourcePosition(task.id, instance, requested, yield* reader.position)
        yield* downstream.barrier(requested)
      }
      const want = batcher !== undefined ? batcher.size() - pending.length : batchSize
      const max = Math.max(1, Math.min(want, limit))
      let got: Batch.Batch<unknown> | undefined | typeof Pending = Pending
      if (reader.readBatchSync !== undefined) {
        try {
          // called on the reader: one written as a class keeps its `this`
          got = reader.readBatchSync(max)
        } catch (error) {
          return yield* Effect.fail(error)
        }
        // a reader that keeps answering synchronously would never let other fibers run
        if (got !== Pending) {
          const now = clock.currentTimeMillisUnsafe()
          if (++syncReads >= YIELD_EVERY || now - lastYield >= YIELD_AFTER_MS) {
            syncReads = 0
            lastYield = now
            yield* Effect.yieldNow
          }
        }
      }
      const batch = got === Pending ? yield* reader.readBatch(max) : got
      if (fusedCounters.length > 0) updateFused()
      if (batch === undefined) break
      const n = Batch.size(batch)
      if (batcher === undefined) {
        if (n === 0) {
          yield* Effect.yieldNow
          continue
        }
        // most pushes complete at once (room in the channel): no Effect to run then
        const sent = emit(batch)
        if (sent !== Effect.void) yield* sent
        continue
      }
      const now = clock.currentTimeMillisUnsafe()
      if (n > 0 && pending.length === 0 && n >= batcher.size()) {
        batcher.full = true
        yield* emit(batch)
        continue
      }
      if (n > 0 && Batch.encodedOf(batch) !== undefined) {
        // gathering would decode an encoded batch: send what is gathered, then the batch as it is
        yield* flushPending
        batcher.full = n >= batcher.size()
        yield* emit(batch)
        continue
      }
      if (n > 0) {
        if (pending.length === 0) pendingSince = now
        Batch.forEach(batch, (r) => pending.push(r))
        pendingLast = batch
      }
      if (pending.length >= batcher.size() || (pending.length > 0 && now - pendingSince >= batcher.settings.lingerMs)) {
        batcher.full = pending.length >= batcher.size()
        yield* flushPending
      } else if (n === 0) {
        yield* Effect.sleep(1)
      }
    }
    yield* flushPending
    yield* coordinator.sourceEnded(task.id, instance, yield* reader.position)
    yield* downstream.end
    // keep the reader open until the final checkpoint has committed its position
    yield* Deferred.await(coordinator.final)
  })

