/**
 * The executor: turns a prepared workflow into task fibers joined by bounded queues.
 *
 * - Every node instance is one fiber (a task). The workflow's supervisor fiber runs them all
 *   concurrently; the first task to fail interrupts the others, and every connector opened in a
 *   task scope is released on every path.
 * - A node that reads from other nodes has one inbound bounded queue of batches; every instance
 *   of every input node offers to it (fan-in merges, fan-out offers the same batch reference to
 *   each consumer). A full queue suspends the producer: a slow sink slows the source, and the
 *   number of records in flight is bounded by queue capacities × batch size.
 * - Chains of stateless processors are fused by the planner into one task with one loop.
 */
import { Cause, Clock, Effect, Queue, type Scope } from "effect"
import * as Batch from "../Batch.ts"
import { NodeError } from "../Errors.ts"
import { runSteps, type Step } from "../Processor.ts"
import type { PreparedSink, PreparedSource } from "../Registry.ts"
import type { PlannedTask, Plan } from "./planner.ts"

/** Live counters of one node (summed over its instances). */
export interface NodeCounters {
  readonly id: string
  readonly kind: "source" | "processor" | "sink"
  readonly type: string
  recordsIn: number
  recordsOut: number
  batchesIn: number
  batchesOut: number
}

/** A queue between tasks, with the number of producer instances that have not finished yet. */
interface Inbound {
  readonly queue: Queue.Queue<Batch.Batch<unknown>, Cause.Done>
  producers: number
}

/** Live view of a running workflow, for progress reporting. */
export interface Live {
  readonly counters: ReadonlyMap<string, NodeCounters>
  /** Fill of each inbound queue: node id → [size, capacity]. */
  readonly queueFill: () => ReadonlyMap<string, readonly [number, number]>
}

/** Turns any failure or defect of a task into a NodeError naming the node (interruption stays). */
const failNode = (node: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, NodeError, R> =>
  effect.pipe(
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
      const error = Cause.squash(cause)
      return Effect.fail(error instanceof NodeError ? error : new NodeError({ node, cause: error }))
    })
  )

/** Offers a batch to every consumer queue. */
const offerAll = (outputs: ReadonlyArray<Inbound>, batch: Batch.Batch<unknown>): Effect.Effect<void> =>
  outputs.length === 1
    ? Effect.asVoid(Queue.offer(outputs[0].queue, batch))
    : Effect.forEach(outputs, (o) => Queue.offer(o.queue, batch), { discard: true })

/** Signals that one producer instance finished; ends a queue when its last producer is done. */
const finish = (outputs: ReadonlyArray<Inbound>): Effect.Effect<void> =>
  Effect.forEach(outputs, (o) => {
    o.producers -= 1
    return o.producers === 0 ? Effect.asVoid(Queue.end(o.queue)) : Effect.void
  }, { discard: true })

/** Takes the next batch, or `undefined` when the queue has ended. */
const takeNext = (queue: Queue.Queue<Batch.Batch<unknown>, Cause.Done>): Effect.Effect<Batch.Batch<unknown> | undefined> =>
  Queue.take(queue).pipe(Effect.catchIf(Cause.isDone, () => Effect.succeed(undefined)))

const runSource = (
  node: string,
  source: PreparedSource,
  instance: number,
  parallelism: number,
  batchSize: number,
  outputs: ReadonlyArray<Inbound>,
  counters: NodeCounters
): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const reader = yield* source.open({ node, batchSize, instance, parallelism })
    const max = source.capabilities.maxBatchSize !== undefined ? Math.min(batchSize, source.capabilities.maxBatchSize) : batchSize
    while (true) {
      const batch = yield* reader.readBatch(max)
      if (batch === undefined) break
      const n = Batch.size(batch)
      if (n === 0) {
        yield* Effect.yieldNow
        continue
      }
      const readAt = batch.readAt === 0 ? yield* Clock.currentTimeMillis : batch.readAt
      counters.recordsOut += n
      counters.batchesOut += 1
      yield* offerAll(outputs, readAt === batch.readAt ? batch : { ...batch, readAt })
    }
  })

/** Wraps the steps of one node so that the node's records in/out are counted inside a fused loop. */
const countedSteps = (steps: ReadonlyArray<Step>, counters: NodeCounters): ReadonlyArray<Step> => {
  if (steps.length === 0) {
    return [{
      _tag: "map",
      f: (r) => {
        counters.recordsIn++
        counters.recordsOut++
        return r
      }
    }]
  }
  const [head, ...rest] = steps
  const first: Step = head._tag === "filter"
    ? {
      _tag: "filter",
      f: (r) => {
        counters.recordsIn++
        return head.f(r)
      }
    }
    : head._tag === "map"
    ? {
      _tag: "map",
      f: (r) => {
        counters.recordsIn++
        return head.f(r)
      }
    }
    : {
      _tag: "flatMap",
      f: (r) => {
        counters.recordsIn++
        return head.f(r)
      }
    }
  const out: Array<Step> = [first, ...rest]
  // Count what leaves the node: a pass-through map after its last step.
  out.push({
    _tag: "map",
    f: (r) => {
      counters.recordsOut++
      return r
    }
  })
  return out
}

const runStateless = (
  task: PlannedTask & { readonly _tag: "Stateless" },
  inbound: Inbound,
  outputs: ReadonlyArray<Inbound>,
  counters: ReadonlyArray<NodeCounters>
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const single = counters.length === 1
    // In a fused chain, each node's first step records which node is running, so a throwing
    // step is blamed on its own node.
    let current = task.nodes[0]
    const steps = single
      ? task.steps.flat()
      : task.steps.flatMap((s, i) => {
        const node = task.nodes[i]
        const enter: Step = {
          _tag: "map",
          f: (r) => {
            current = node
            return r
          }
        }
        return [enter, ...countedSteps(s, counters[i])]
      })
    const process = runSteps(steps)
    const first = counters[0]
    const last = counters[counters.length - 1]
    while (true) {
      const batch = yield* takeNext(inbound.queue)
      if (batch === undefined) break
      first.batchesIn += 1
      if (single) first.recordsIn += Batch.size(batch)
      let records: Array<unknown>
      try {
        records = process(batch)
      } catch (cause) {
        return yield* new NodeError({ node: current, cause })
      }
      if (single) last.recordsOut += records.length
      if (records.length === 0) continue
      last.batchesOut += 1
      yield* offerAll(outputs, Batch.withRecords(batch, records))
    }
  })

const runBatchProcessor = (
  process: (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, unknown>,
  inbound: Inbound,
  outputs: ReadonlyArray<Inbound>,
  counters: NodeCounters
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    while (true) {
      const batch = yield* takeNext(inbound.queue)
      if (batch === undefined) break
      counters.batchesIn += 1
      counters.recordsIn += Batch.size(batch)
      const records = yield* process(batch)
      counters.recordsOut += records.length
      if (records.length === 0) continue
      counters.batchesOut += 1
      yield* offerAll(outputs, Batch.withRecords(batch, records))
    }
  })

const runSink = (
  node: string,
  sink: PreparedSink,
  instance: number,
  parallelism: number,
  batchSize: number,
  inbound: Inbound,
  counters: NodeCounters
): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const writer = yield* sink.open({ node, batchSize, instance, parallelism })
    const max = sink.capabilities.maxBatchSize
    while (true) {
      const batch = yield* takeNext(inbound.queue)
      if (batch === undefined) break
      counters.batchesIn += 1
      counters.recordsIn += Batch.size(batch)
      const parts = max !== undefined ? Batch.chunksOf(batch, max) : [batch]
      for (const part of parts) {
        const stats = yield* writer.writeBatch(part)
        counters.recordsOut += stats.written
      }
    }
    yield* writer.flush
  })

/** Runs a plan to completion. Fails with the first task failure (a NodeError naming the node). */
export const execute = (
  plan: Plan,
  onStart?: (live: Live) => Effect.Effect<void, never, Scope.Scope>
): Effect.Effect<void, NodeError> =>
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
    // One inbound queue per task that has inputs, sized by the queue capacity setting.
    const inbound = new Map<string, Inbound>()
    const capacities = new Map<string, number>()
    for (const task of plan.tasks) {
      if (task.inputs.length === 0) continue
      const producers = task.inputs.reduce((sum, input) => sum + plan.taskOf(input).parallelism, 0)
      const capacity = plan.workflow.queueCapacity
      capacities.set(task.id, capacity)
      inbound.set(task.id, { queue: yield* Queue.bounded<Batch.Batch<unknown>, Cause.Done>(capacity), producers })
    }
    const outputsOf = (task: PlannedTask): ReadonlyArray<Inbound> => task.outputs.map((id) => inbound.get(id)!)
    if (onStart !== undefined) {
      yield* onStart({
        counters,
        queueFill: () => {
          const fill = new Map<string, readonly [number, number]>()
          for (const [id, q] of inbound) fill.set(id, [Queue.sizeUnsafe(q.queue), capacities.get(id)!])
          return fill
        }
      })
    }
    const fibers: Array<Effect.Effect<void, NodeError>> = []
    for (const task of plan.tasks) {
      const outputs = outputsOf(task)
      for (let instance = 0; instance < task.parallelism; instance++) {
        let body: Effect.Effect<void, unknown, Scope.Scope>
        switch (task._tag) {
          case "Source":
            body = runSource(task.id, task.source, instance, task.parallelism, plan.workflow.batchSize, outputs, counters.get(task.id)!)
            break
          case "Stateless":
            body = runStateless(task, inbound.get(task.id)!, outputs, task.nodes.map((id) => counters.get(id)!))
            break
          case "Batch":
            body = runBatchProcessor(task.process, inbound.get(task.id)!, outputs, counters.get(task.id)!)
            break
          case "Sink":
            body = runSink(task.id, task.sink, instance, task.parallelism, plan.workflow.batchSize, inbound.get(task.id)!, counters.get(task.id)!)
            break
        }
        // A task's resources live in its own scope and are released when the task ends, on every path.
        fibers.push(
          Effect.scoped(Effect.andThen(body, finish(outputs))).pipe(
            failNode(task.id)
          )
        )
      }
    }
    yield* Effect.forEach(fibers, (f) => f, { concurrency: "unbounded", discard: true })
  }))
