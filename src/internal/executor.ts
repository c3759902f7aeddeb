/**
 * The executor: turns an execution plan into task fibers joined by bounded queues.
 *
 * - Every task instance is one fiber. The workflow's supervisor fiber runs them all
 *   concurrently; the first task to fail interrupts the others, and every connector opened in a
 *   task scope is released on every path.
 * - A task that reads from other tasks has one bounded inbound queue per instance when it
 *   partitions by key (producers route each record by key hash), or one queue shared by its
 *   instances otherwise. Every producer instance offers to it: fan-in merges, fan-out offers the
 *   same batch reference to each consumer. A full queue suspends the producer: a slow sink slows
 *   the source, and the records in flight are bounded by queue capacities × batch size.
 */
import { Cause, Clock, Effect, Queue, type Scope, Stream } from "effect"
import * as Batch from "../Batch.ts"
import { NodeError } from "../Errors.ts"
import { type OperatorOutput, runSteps, type Step } from "../Processor.ts"
import type { PreparedSink, PreparedSource } from "../Registry.ts"
import { partitionOf } from "./hash.ts"
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
}

type BatchQueue = Queue.Queue<Batch.Batch<unknown>, Cause.Done>

/** The inbound queues of a task (one per instance when partitioned by key, else one). */
interface Inbound {
  readonly queues: ReadonlyArray<BatchQueue>
  readonly key: ((record: unknown) => unknown) | undefined
  /** Producer instances that have not finished yet. */
  producers: number
}

/** Live view of a running workflow, for progress reporting. */
export interface Live {
  readonly counters: ReadonlyMap<string, NodeCounters>
  /** Fill of each task's inbound queues: task id → [batches queued, capacity]. */
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

/** Sends a batch to one consumer: whole, or split by key hash across its instance queues. */
const offerTo = (target: Inbound, batch: Batch.Batch<unknown>): Effect.Effect<void> => {
  const n = target.queues.length
  if (n === 1 || target.key === undefined) return Effect.asVoid(Queue.offer(target.queues[0], batch))
  const parts: Array<Array<unknown>> = Array.from({ length: n }, () => [])
  const key = target.key
  const { records, start, end } = batch
  for (let i = start; i < end; i++) parts[partitionOf(key(records[i]), n)].push(records[i])
  return Effect.forEach(
    parts,
    (part, i) => (part.length === 0 ? Effect.void : Queue.offer(target.queues[i], Batch.withRecords(batch, part))),
    { discard: true }
  )
}

/** Offers a batch to every consumer of a port. */
const offerAll = (outputs: ReadonlyArray<Inbound>, batch: Batch.Batch<unknown>): Effect.Effect<void> =>
  outputs.length === 1 ? offerTo(outputs[0], batch) : Effect.forEach(outputs, (o) => offerTo(o, batch), { discard: true })

/** Signals that one producer instance finished; ends a consumer's queues after its last producer. */
const finish = (outputs: ReadonlyArray<Inbound>): Effect.Effect<void> =>
  Effect.forEach(outputs, (o) => {
    o.producers -= 1
    return o.producers === 0 ? Effect.forEach(o.queues, (q) => Queue.end(q), { discard: true }) : Effect.void
  }, { discard: true })

/** Takes the next batch, or `undefined` when the queue has ended. */
const takeNext = (queue: BatchQueue): Effect.Effect<Batch.Batch<unknown> | undefined> =>
  Queue.take(queue).pipe(Effect.catchIf(Cause.isDone, () => Effect.succeed(undefined)))

/** The output ports of a task: port name → consumers. */
type Outputs = ReadonlyMap<string, ReadonlyArray<Inbound>>
const main = (outputs: Outputs): ReadonlyArray<Inbound> => outputs.get("main") ?? []

const runSource = (
  task: PlannedTask & { readonly _tag: "Source" },
  source: PreparedSource,
  instance: number,
  batchSize: number,
  outputs: ReadonlyArray<Inbound>,
  counters: NodeCounters
): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const reader = yield* source.open({ node: task.id, batchSize, instance, parallelism: task.parallelism })
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

/** Wraps the steps of one node so that its records in/out are counted inside a fused loop. */
const countedSteps = (steps: ReadonlyArray<Step>, counters: NodeCounters, enter: () => void): ReadonlyArray<Step> => {
  const first: Step = {
    _tag: "map",
    f: (r) => {
      enter()
      counters.recordsIn++
      return r
    }
  }
  const last: Step = {
    _tag: "map",
    f: (r) => {
      counters.recordsOut++
      return r
    }
  }
  return [first, ...steps, last]
}

/** The per-batch function of a (possibly fused) stateless task, blaming the right node on a throw. */
const statelessProcess = (
  task: PlannedTask & { readonly _tag: "Stateless" },
  counters: ReadonlyArray<NodeCounters>
): (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, NodeError> => {
  const single = counters.length === 1
  let current = task.nodes[0]
  const steps = single
    ? task.steps[0]
    : task.steps.flatMap((s, i) => {
      const node = task.nodes[i]
      return countedSteps(s, counters[i], () => {
        current = node
      })
    })
  const process = runSteps(steps)
  return (batch) =>
    Effect.suspend(() => {
      if (single) counters[0].recordsIn += Batch.size(batch)
      try {
        const records = process(batch)
        if (single) counters[0].recordsOut += records.length
        return Effect.succeed(records)
      } catch (cause) {
        return Effect.fail(new NodeError({ node: current, cause }))
      }
    })
}

/**
 * Runs a per-batch transformation over an inbound queue. With `ordered` and several instances,
 * one fiber runs up to `parallelism` batches at once and emits them in input order.
 */
const runTransform = (
  process: (batch: Batch.Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, unknown>,
  queue: BatchQueue,
  outputs: ReadonlyArray<Inbound>,
  first: NodeCounters,
  last: NodeCounters,
  countRecords: boolean,
  orderedConcurrency: number | undefined
): Effect.Effect<void, unknown> => {
  const emit = (batch: Batch.Batch<unknown>, records: ReadonlyArray<unknown>) => {
    if (countRecords) last.recordsOut += records.length
    if (records.length === 0) return Effect.void
    last.batchesOut += 1
    return offerAll(outputs, Batch.withRecords(batch, records))
  }
  const before = (batch: Batch.Batch<unknown>) => {
    first.batchesIn += 1
    if (countRecords) first.recordsIn += Batch.size(batch)
  }
  if (orderedConcurrency !== undefined) {
    return Stream.fromQueue(queue).pipe(
      Stream.mapEffect((batch) => {
        before(batch)
        return Effect.map(process(batch), (records) => [batch, records] as const)
      }, { concurrency: orderedConcurrency }),
      Stream.runForEach(([batch, records]) => emit(batch, records))
    )
  }
  return Effect.gen(function*() {
    while (true) {
      const batch = yield* takeNext(queue)
      if (batch === undefined) break
      before(batch)
      const records = yield* process(batch)
      yield* emit(batch, records)
    }
  })
}

const runStateful = (
  task: PlannedTask & { readonly _tag: "Stateful" },
  instance: number,
  queue: BatchQueue,
  outputs: Outputs,
  counters: NodeCounters
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const operator = task.processor.make({ node: task.id, instance })
    let last: Batch.Batch<unknown> = Batch.empty()
    const emit = (output: OperatorOutput) =>
      Effect.gen(function*() {
        counters.recordsOut += output.records.length
        if (output.records.length > 0) {
          counters.batchesOut += 1
          yield* offerAll(main(outputs), Batch.withRecords(last, output.records))
        }
        if (output.side !== undefined) {
          for (const port of Object.keys(output.side)) {
            const records = output.side[port]
            const consumers = outputs.get(port)
            if (records.length > 0 && consumers !== undefined) {
              yield* offerAll(consumers, Batch.withRecords(last, records))
            }
          }
        }
      })
    while (true) {
      const batch = yield* takeNext(queue)
      if (batch === undefined) break
      last = batch
      counters.batchesIn += 1
      counters.recordsIn += Batch.size(batch)
      yield* emit(operator.onBatch(batch))
    }
    yield* emit(operator.onEnd())
  })

const runSink = (
  task: PlannedTask & { readonly _tag: "Sink" },
  sink: PreparedSink,
  instance: number,
  batchSize: number,
  queue: BatchQueue,
  counters: NodeCounters
): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const writer = yield* sink.open({ node: task.id, batchSize, instance, parallelism: task.parallelism })
    const max = sink.capabilities.maxBatchSize
    while (true) {
      const batch = yield* takeNext(queue)
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
    const capacity = plan.workflow.queueCapacity
    const byId = new Map(plan.tasks.map((t) => [t.id, t]))
    const inbound = new Map<string, Inbound>()
    // task id → port → consumers
    const outputs = new Map<string, Map<string, Array<Inbound>>>()
    for (const task of plan.tasks) {
      if (task.inputs.length === 0) continue
      const partitioned = task.key !== undefined && task.parallelism > 1
      const queues: Array<BatchQueue> = []
      for (let i = 0; i < (partitioned ? task.parallelism : 1); i++) {
        queues.push(yield* Queue.bounded<Batch.Batch<unknown>, Cause.Done>(capacity))
      }
      const producers = task.inputs.reduce((sum, input) => sum + byId.get(input.task)!.parallelism, 0)
      const target: Inbound = { queues, key: partitioned ? task.key : undefined, producers }
      inbound.set(task.id, target)
      for (const input of task.inputs) {
        const ports = outputs.get(input.task) ?? new Map<string, Array<Inbound>>()
        outputs.set(input.task, ports)
        ports.set(input.port, [...(ports.get(input.port) ?? []), target])
      }
    }
    const outputsOf = (task: PlannedTask): Outputs => outputs.get(task.id) ?? new Map()
    const allOutputs = (task: PlannedTask): ReadonlyArray<Inbound> => [...outputsOf(task).values()].flat()
    if (onStart !== undefined) {
      yield* onStart({
        counters,
        queueFill: () => {
          const fill = new Map<string, readonly [number, number]>()
          for (const [id, q] of inbound) {
            let size = 0
            for (const queue of q.queues) size += Queue.sizeUnsafe(queue)
            fill.set(id, [size, capacity * q.queues.length])
          }
          return fill
        }
      })
    }
    const fibers: Array<Effect.Effect<void, NodeError>> = []
    for (const task of plan.tasks) {
      const ports = outputsOf(task)
      const target = inbound.get(task.id)
      const queueOf = (instance: number): BatchQueue => target!.queues[target!.queues.length === 1 ? 0 : instance]
      const ordered = task.ordered && task.parallelism > 1 && target !== undefined && target.queues.length === 1
      const instances = ordered ? 1 : task.parallelism
      for (let instance = 0; instance < instances; instance++) {
        let body: Effect.Effect<void, unknown, Scope.Scope>
        switch (task._tag) {
          case "Source":
            body = runSource(task, task.source, instance, plan.workflow.batchSize, main(ports), counters.get(task.id)!)
            break
          case "Stateless": {
            const nodeCounters = task.nodes.map((id) => counters.get(id)!)
            body = runTransform(
              statelessProcess(task, nodeCounters),
              queueOf(instance),
              main(ports),
              nodeCounters[0],
              nodeCounters[nodeCounters.length - 1],
              false,
              ordered ? task.parallelism : undefined
            )
            break
          }
          case "Batch": {
            const c = counters.get(task.id)!
            body = runTransform(task.process, queueOf(instance), main(ports), c, c, true, ordered ? task.parallelism : undefined)
            break
          }
          case "Stateful":
            body = runStateful(task, instance, queueOf(instance), ports, counters.get(task.id)!)
            break
          case "Sink":
            body = runSink(task, task.sink, instance, plan.workflow.batchSize, queueOf(instance), counters.get(task.id)!)
            break
        }
        const done = ordered
          ? Effect.forEach(Array.from({ length: task.parallelism }), () => finish(allOutputs(task)), { discard: true })
          : finish(allOutputs(task))
        // A task's resources live in its own scope, released when the task ends, on every path.
        fibers.push(Effect.scoped(Effect.andThen(body, done)).pipe(failNode(task.id)))
      }
    }
    yield* Effect.forEach(fibers, (f) => f, { concurrency: "unbounded", discard: true })
  }))
