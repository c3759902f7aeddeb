/**
 * The executor: runs an execution plan as task fibers joined by channels, with checkpoints.
 *
 * - Every task instance is one fiber. The workflow's supervisor fiber runs them all
 *   concurrently; the first task to fail interrupts the others, and every connector opened in a
 *   task scope is released on every path.
 * - Every consumer instance has a bounded channel (see channel.ts); producers route batches by
 *   key hash or to the least busy instance; fan-out sends the same batch reference to each
 *   consumer. A full channel suspends the producer: a slow sink slows the source.
 * - Checkpoints: sources inject barriers when the coordinator asks; a task whose channel has
 *   barrier `n` from all its producers snapshots its state (stateful operators) or pre-commits
 *   (sinks), reports to the coordinator and forwards the barrier. After a restore, sources seek,
 *   operators restore their state and sinks discard what was written after the checkpoint.
 */
import { Cause, Clock, Deferred, Effect, Fiber, type Scope } from "effect"
import type { AdaptiveBatcher } from "../AdaptiveBatcher.ts"
import * as Batch from "../Batch.ts"
import type { OperatorState, Restored } from "../Checkpoint.ts"
import { Pending, type SourceLag, type WriteStats } from "../Connector.ts"
import { NodeError } from "../Errors.ts"
import { fuse, type OperatorOutput } from "../Processor.ts"
import type { PreparedSink, PreparedSource } from "../Registry.ts"
import {
  type Channel,
  EMPTY,
  type Inbound,
  makeChannel,
  receiver,
  sendAll,
  sendBarrier,
  sendEnd,
  sizeOf
} from "./channel.ts"
import type { Coordinator } from "./coordinator.ts"
import { decodeState, encodeState } from "./operatorState.ts"
import type { Plan, PlannedTask } from "./planner.ts"

/** Live counters of one node (summed over its instances). */
export interface NodeCounters {
  readonly id: string
  readonly kind: "source" | "processor" | "sink"
  readonly type: string
  recordsIn: number
  recordsOut: number
  batchesIn: number
  batchesOut: number
  /** Sources: how far the source is behind its input, as its reader last measured it. */
  lag?: (() => SourceLag | undefined) | undefined
}

/** Live view of a running workflow, for progress reporting. */
export interface Live {
  readonly counters: ReadonlyMap<string, NodeCounters>
  /** Fill of each task's channels: task id → [batches queued, capacity]. */
  readonly queueFill: () => ReadonlyMap<string, readonly [number, number]>
}

/** What a run starts from and reports to. */
export interface ExecuteContext {
  readonly workflow: string
  readonly coordinator: Coordinator
  readonly restored: Restored | undefined
  /** Every how many checkpoints an operator writes a full snapshot. */
  readonly fullEvery: number
  /** Adaptive batchers by source node, when `execution.batching.adaptive` is on. */
  readonly batchers?: ReadonlyMap<string, AdaptiveBatcher> | undefined
  readonly onStart?: ((live: Live) => Effect.Effect<void, never, Scope.Scope>) | undefined
}

/**
 * A source whose reader answers synchronously (and whose batches go on without waiting, e.g. to
 * an inline sink) yields to other fibers after this many batches, or once this many milliseconds
 * have passed since it last did, whichever comes first: timers, checkpoints and other workflows
 * keep running beside a pipeline that never waits.
 */
const YIELD_EVERY = 64
const YIELD_AFTER_MS = 10

/** Turns any failure or defect of a task into a NodeError naming the node (interruption stays). */
const failNode = (node: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, NodeError, R> =>
  effect.pipe(
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
      const error = Cause.squash(cause)
      return Effect.fail(error instanceof NodeError ? error : new NodeError({ node, cause: error }))
    })
  )

/** The output ports of a task: port name → consumers. */
type Outputs = ReadonlyMap<string, ReadonlyArray<Inbound>>
const main = (outputs: Outputs): ReadonlyArray<Inbound> => outputs.get("main") ?? []
const everyOutput = (outputs: Outputs): ReadonlyArray<Inbound> => [...new Set([...outputs.values()].flat())]

const keyOf = (node: string, instance: number) => `${node}/${instance}`

/**
 * Where a task hands on what it produces: the channels of its consumers, or a stateless chain
 * run in the same fiber (operator chaining: no queue hop, no fiber switch per batch).
 */
interface Downstream {
  readonly push: (batch: Batch.Batch<unknown>) => Effect.Effect<void, unknown>
  readonly barrier: (id: number) => Effect.Effect<void, unknown>
  readonly end: Effect.Effect<void, unknown>
}

/** The channels of a task's consumers as its downstream. */
const toChannels = (outputs: Outputs): Downstream => {
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
const chainStateless = (
  process: StatelessProcess,
  first: NodeCounters,
  last: NodeCounters,
  next: Downstream
): Downstream => ({
  push: (batch) => {
    first.batchesIn += 1
    const records = process(batch)
    if (records instanceof NodeError) return Effect.fail(records)
    if (records.length === 0) return Effect.void
    last.batchesOut += 1
    return next.push(Batch.withRecords(batch, records))
  },
  barrier: next.barrier,
  end: next.end
})

const runSource = (
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

/** The per-batch function of a stateless task: the output records, or the error naming the node. */
type StatelessProcess = (batch: Batch.Batch<unknown>) => ReadonlyArray<unknown> | NodeError

/**
 * The per-batch function of a (possibly fused) stateless task. Per-node record counts come from
 * the fused loop's step counters; a throwing step is blamed on its own node. Synchronous: no
 * Effect per batch.
 */
const statelessProcess = (
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
const statelessEffect = (process: StatelessProcess) => (batch: Batch.Batch<unknown>): Effect.Effect<ReadonlyArray<unknown>, NodeError> =>
  Effect.suspend(() => {
    const records = process(batch)
    return records instanceof NodeError ? Effect.fail(records) : Effect.succeed(records)
  })

/**
 * Runs a per-batch transformation over a channel. With `ordered` and several instances, one
 * fiber runs up to `parallelism` batches at once and emits them in input order.
 */
const runTransform = (
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

const runStateful = (
  task: PlannedTask & { readonly _tag: "Stateful" },
  instance: number,
  channel: Channel,
  outputs: Outputs,
  counters: NodeCounters,
  ctx: ExecuteContext
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const processor = task.processor
    const operator = processor.make({ node: task.id, instance })
    let checkpoints = 0
    if (ctx.restored !== undefined) {
      const saved = ctx.restored.operators.get(keyOf(task.id, instance))
      if (saved !== undefined) {
        operator.state.restore(yield* decodeState(task.id, processor, saved))
      }
    }
    const snapshot = (full: boolean): OperatorState => {
      const changes = operator.state.takeChanges()
      const upserts = full ? operator.state.snapshot() : changes.upserts
      return {
        node: task.id,
        instance,
        version: processor.stateVersion,
        full,
        upserts: encodeState(processor, upserts),
        deletes: full ? [] : changes.deletes
      }
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
      yield* emit(operator.onBatch(message))
    }
    yield* emit(operator.onEnd())
    yield* ctx.coordinator.operatorEnded(snapshot(true))
    yield* sendEnd(all)
  })

/**
 * A sink instance as a downstream: opens the writer (restoring it after a recovery), writes each
 * batch (through the writer's synchronous fast path when it takes the batch at once),
 * pre-commits and acknowledges barriers, and flushes at the end. Used by the sink's own task
 * (fed by its channel) and by a producer that the sink is chained into.
 */
const openSink = (
  task: PlannedTask & { readonly _tag: "Sink" },
  sink: PreparedSink,
  instance: number,
  batchSize: number,
  counters: NodeCounters,
  ctx: ExecuteContext
): Effect.Effect<Downstream, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const { coordinator } = ctx
    const writer = yield* sink.open({ workflow: ctx.workflow, node: task.id, batchSize, instance, parallelism: task.parallelism })
    if (writer.restore !== undefined) yield* writer.restore(ctx.restored?.id)
    const preCommitted = new Set<number>()
    const preCommit = (id: number) =>
      Effect.gen(function*() {
        yield* writer.flush
        if (writer.preCommit !== undefined) yield* writer.preCommit(id)
        preCommitted.add(id)
      })
    coordinator.onComplete((id) => {
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
      end: Effect.andThen(writer.flush, coordinator.sinkEnded(task.id, instance, preCommit))
    }
  })

/** A sink task: feeds what arrives on its channel to the sink opened by `open` (see openSink). */
const runSink = (
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

/** A task that runs in its source's fiber instead of its own (see {@link chainedIntoSource}). */
export type ChainedTask = PlannedTask & { readonly _tag: "Stateless" | "Sink" }

/**
 * The tasks that run in their source's fiber (operator chaining, as Flink chains a source with
 * the operators after it):
 * - a stateless task whose only input is a source with the same parallelism, that is the
 *   source's only consumer, with no key and no order to keep;
 * - a sink whose writer declares `inline` (it takes batches without waiting on I/O), fed only by
 *   such a source or such a chained stateless task, with the same parallelism and no key.
 * Source instance `i` then runs chain instance `i`: a queue hop per batch disappears, and with
 * the sink chained too, the whole pipeline runs in one fiber. Other sinks keep their own fiber,
 * so that their writes overlap the source's reads.
 */
export const chainedIntoSource = (plan: Plan): ReadonlyMap<string, ChainedTask> => {
  const byId = new Map(plan.tasks.map((t) => [t.id, t]))
  const readers = new Map<string, number>()
  for (const t of plan.tasks) for (const i of t.inputs) readers.set(i.task, (readers.get(i.task) ?? 0) + 1)
  const chained = new Map<string, ChainedTask>()
  const chainable = (t: PlannedTask): boolean => {
    if (t.inputs.length !== 1 || t.key !== undefined || t.ordered) return false
    const input = byId.get(t.inputs[0].task)
    return input !== undefined && input.parallelism === t.parallelism && readers.get(input.id) === 1
  }
  for (const t of plan.tasks) {
    if (t._tag === "Stateless" && chainable(t) && byId.get(t.inputs[0].task)?._tag === "Source") chained.set(t.id, t)
  }
  for (const t of plan.tasks) {
    if (t._tag !== "Sink" || t.sink.capabilities.inline !== true || !chainable(t)) continue
    const input = byId.get(t.inputs[0].task)!
    if (input._tag === "Source" || chained.has(input.id)) chained.set(t.id, t)
  }
  return chained
}

/** Runs a plan to completion. Fails with the first task failure (a NodeError naming the node). */
export const execute = (plan: Plan, ctx: ExecuteContext): Effect.Effect<void, NodeError> =>
  Effect.scoped(Effect.gen(function*() {
    const counters = new Map<string, NodeCounters>()
    for (const n of plan.workflow.nodes) {
      counters.set(n.node.id, {
        id: n.node.id,
        kind: n.kind,
        type: n.node.type,
        recordsIn: 0,
        recordsOut: 0,
        batchesIn: 0,
        batchesOut: 0
      })
    }
    const capacity = plan.workflow.queueCapacity
    const byId = new Map(plan.tasks.map((t) => [t.id, t]))
    const inbound = new Map<string, Inbound>()
    // task id → port → consumers
    const outputs = new Map<string, Map<string, Array<Inbound>>>()
    const instancesOf = (task: PlannedTask) => (task.ordered && task.inputs.length > 0 ? 1 : task.parallelism)
    const chained = chainedIntoSource(plan)
    for (const task of plan.tasks) {
      if (task.inputs.length === 0 || chained.has(task.id)) continue
      const producers = task.inputs.reduce((sum, input) => sum + instancesOf(byId.get(input.task)!), 0)
      const channels: Array<Channel> = []
      for (let i = 0; i < instancesOf(task); i++) channels.push(yield* makeChannel(capacity, producers))
      const target: Inbound = { channels, key: channels.length > 1 ? task.key : undefined, next: 0 }
      inbound.set(task.id, target)
      for (const input of task.inputs) {
        const ports = outputs.get(input.task) ?? new Map<string, Array<Inbound>>()
        outputs.set(input.task, ports)
        ports.set(input.port, [...(ports.get(input.port) ?? []), target])
      }
    }
    const outputsOf = (task: PlannedTask): Outputs => outputs.get(task.id) ?? new Map()
    if (ctx.onStart !== undefined) {
      yield* ctx.onStart({
        counters,
        queueFill: () => {
          const fill = new Map<string, readonly [number, number]>()
          for (const [id, q] of inbound) {
            let size = 0
            for (const channel of q.channels) size += sizeOf(channel)
            fill.set(id, [size, capacity * q.channels.length])
          }
          return fill
        }
      })
    }
    const fibers: Array<Effect.Effect<void, NodeError>> = []
    // source task id → the stateless task chained after it; producer task id → the sink chained after it
    const chainOf = new Map<string, PlannedTask & { readonly _tag: "Stateless" }>()
    const sinkAfter = new Map<string, PlannedTask & { readonly _tag: "Sink" }>()
    for (const t of chained.values()) {
      if (t._tag === "Stateless") chainOf.set(t.inputs[0].task, t)
      else sinkAfter.set(t.inputs[0].task, t)
    }
    for (const task of plan.tasks) {
      if (chained.has(task.id)) continue // runs in its source's fiber
      const ports = outputsOf(task)
      const channels = inbound.get(task.id)?.channels ?? []
      const ordered = task.ordered && task.parallelism > 1 && channels.length === 1
      for (let instance = 0; instance < instancesOf(task); instance++) {
        let body: Effect.Effect<void, unknown, Scope.Scope>
        switch (task._tag) {
          case "Source": {
            const chain = chainOf.get(task.id)
            const last = chain ?? task
            const sink = sinkAfter.get(last.id)
            // what the source (or its chain) hands batches to: the consumers' channels, or the
            // chained sink, opened in the source task's scope
            const tail: Effect.Effect<Downstream, unknown, Scope.Scope> = sink === undefined
              ? Effect.succeed(toChannels(outputsOf(last)))
              : openSink(sink, sink.sink, instance, plan.workflow.batchSize, counters.get(sink.id)!, ctx)
            let downstream = tail
            if (chain !== undefined) {
              const nodeCounters = chain.nodes.map((id) => counters.get(id)!)
              const process = statelessProcess(chain, nodeCounters)
              downstream = Effect.map(tail, (next) =>
                chainStateless(process, nodeCounters[0], nodeCounters[nodeCounters.length - 1], next))
            }
            body = runSource(
              task,
              task.source,
              instance,
              plan.workflow.batchSize,
              downstream,
              counters.get(task.id)!,
              task.fused.map((f) => counters.get(f.node)!),
              ctx
            )
            break
          }
          case "Stateless": {
            const nodeCounters = task.nodes.map((id) => counters.get(id)!)
            body = runTransform(
              statelessEffect(statelessProcess(task, nodeCounters)),
              channels[instance],
              ports,
              nodeCounters[0],
              nodeCounters[nodeCounters.length - 1],
              false,
              ordered ? task.parallelism : undefined
            )
            break
          }
          case "Batch": {
            const c = counters.get(task.id)!
            body = runTransform(task.process, channels[instance], ports, c, c, true, ordered ? task.parallelism : undefined)
            break
          }
          case "Stateful":
            body = runStateful(task, instance, channels[instance], ports, counters.get(task.id)!, ctx)
            break
          case "Sink":
            body = runSink(
              openSink(task, task.sink, instance, plan.workflow.batchSize, counters.get(task.id)!, ctx),
              channels[instance],
              ctx
            )
            break
        }
        // A task's resources live in its own scope, released when the task ends, on every path.
        fibers.push(Effect.scoped(body).pipe(failNode(task.id)))
      }
    }
    yield* Effect.forEach(fibers, (f) => f, { concurrency: "unbounded", discard: true })
  }))
