/**
 * The source task: reads batches from a source instance and hands them downstream, injects
 * checkpoint barriers when the coordinator asks (reporting its position first), seeks to the
 * restored position after a recovery, and commits positions once a checkpoint completes.
 */
import { Clock, Deferred, Effect, type Scope } from "effect"
import * as Batch from "../../Batch.ts"
import { RestoreError } from "../../Checkpoint.ts"
import { Pending } from "../../Connector.ts"
import { decodeStored } from "../../connectors/kit/Positions.ts"
import type { PreparedSource } from "../../Registry.ts"
import type { PlannedTask } from "../planner.ts"
import { type ExecuteContext, keyOf, type NodeCounters, spanAttributes } from "./context.ts"
import type { Downstream } from "./downstream.ts"

/**
 * A source whose reader answers synchronously (and whose batches go on without waiting, e.g. to
 * an inline sink) yields to other fibers after this many batches, or once this many milliseconds
 * have passed since it last did, whichever comes first: timers, checkpoints and other workflows
 * keep running beside a pipeline that never waits.
 */
const YIELD_EVERY = 64
const YIELD_AFTER_MS = 10

/**
 * How a source task waits after its `idle`-th empty read in a row (a streaming source with
 * nothing to read now): it yields to other fibers for the first few, then sleeps 1, 2, 4 ms, at
 * most {@link IDLE_MAX_MS}, until data comes again (then reads go back to full speed at once).
 * A source that polls a remote system on every read may still wait inside `readBatch` itself
 * (see docs/connectors/writing-a-connector.md).
 */
export const idleWait = (idle: number): Effect.Effect<void> =>
  idle <= IDLE_YIELDS ? Effect.yieldNow : Effect.sleep(Math.min(IDLE_MAX_MS, 2 ** Math.min(8, idle - IDLE_YIELDS - 1)))

const IDLE_YIELDS = 8
const IDLE_MAX_MS = 5

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
      ...(task.encoding !== undefined ? { encoding: task.encoding } : {}),
      onDeadLetters: (n) => {
        counters.deadLetters += n
      }
    }).pipe(Effect.withSpan("dataflare.source.open", { attributes: spanAttributes(ctx, counters) }))
    if (reader.lag !== undefined) counters.lag = reader.lag
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
    const identify = (position: Batch.Position) => (source.identify === undefined ? Effect.undefined : source.identify(position))
    let injected = 0
    if (ctx.restored !== undefined) {
      const saved = ctx.restored.positions.find((p) => p.node === task.id && p.instance === instance)
      if (saved === undefined) {
        return yield* new RestoreError({
          node: task.id,
          checkpoint: ctx.restored.id,
          reason: `the checkpoint has no position for instance ${instance} (was the source's parallelism changed?)`,
          remedy: "run with --from-scratch to start over"
        })
      }
      yield* reader.seek(yield* decodeStored(source.position, { node: task.id, instance, checkpoint: ctx.restored.id }, saved.position))
      injected = ctx.restored.id
    }
    const k = keyOf(task.id, instance)
    coordinator.onComplete(task.id, (id, positions) => {
      const p = positions.get(k)
      return p === undefined
        ? Effect.void
        : reader.commit(p).pipe(Effect.withSpan("dataflare.source.commit", { attributes: { ...spanAttributes(ctx, counters), checkpoint: id } }))
    })
    counters.open = true
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
    // the watermark of the first batch gathered: a watermark must hold for every record of the
    // batch, and a later read's may be past the records read before it
    let pendingWatermark: number | undefined
    const flushPending = Effect.suspend(() => {
      if (pendingLast === undefined || pending.length === 0) return Effect.void
      const batch = Batch.make(pending, { origin: pendingLast.origin, watermark: pendingWatermark, readAt: pendingLast.readAt })
      pending = []
      pendingLast = undefined
      return emit(batch)
    })
    const inject = (id: number) =>
      Effect.gen(function*() {
        injected = id
        yield* flushPending
        const position = yield* reader.position
        yield* coordinator.sourcePosition(task.id, instance, id, position, yield* identify(position))
        yield* downstream.barrier(id)
      })
    // consecutive empty reads of a streaming source: the first few yield, then it backs off
    let idle = 0
    while (true) {
      const requested = coordinator.requested()
      if (requested > injected) yield* inject(requested)
      const stop = coordinator.stopMode()
      if (stop === "drain") break
      if (stop === "checkpoint") {
        const at = yield* coordinator.stopAt
        if (at === undefined) break // every source had ended: the run completes as usual
        if (at > injected) yield* inject(at)
        // nothing is read after the stop barrier; once the checkpoint is complete, the run halts
        yield* Deferred.await(coordinator.final)
        yield* downstream.end
        return
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
      if (n === 0) {
        idle += 1
        if (idle > 1) yield* idleWait(idle)
      } else {
        idle = 0
      }
      if (batcher === undefined) {
        if (n === 0) {
          if (idle <= 1) yield* Effect.yieldNow
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
        if (pending.length === 0) {
          pendingSince = now
          pendingWatermark = batch.watermark
        }
        Batch.forEach(batch, (r) => pending.push(r))
        pendingLast = batch
      }
      if (pending.length >= batcher.size() || (pending.length > 0 && now - pendingSince >= batcher.settings.lingerMs)) {
        batcher.full = pending.length >= batcher.size()
        yield* flushPending
      }
    }
    yield* flushPending
    const position = yield* reader.position
    yield* coordinator.sourceEnded(task.id, instance, position, yield* identify(position))
    yield* downstream.end
    // keep the reader open until the final checkpoint has committed its position
    yield* Deferred.await(coordinator.final)
  })

