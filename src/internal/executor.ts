/**
 * The executor: runs an execution plan as task fibers joined by channels, with checkpoints.
 *
 * - Every task instance is one fiber (tasks/source.ts, transform.ts, stateful.ts, sink.ts),
 *   except tasks the planner chained into their source's fiber (`runsIn`): they run as the
 *   source's downstream. The workflow's supervisor fiber runs them all concurrently; the first
 *   task to fail interrupts the others, and every connector opened in a task scope is released
 *   on every path.
 * - Every consumer instance has a bounded channel (tasks/wiring.ts, channel.ts); producers route
 *   batches by key hash or to the least busy instance; fan-out sends the same batch reference to
 *   each consumer. A full channel suspends the producer: a slow sink slows the source.
 * - Checkpoints: sources inject barriers when the coordinator asks; a task whose channel has
 *   barrier `n` from all its producers snapshots its state (stateful operators) or pre-commits
 *   (sinks), reports to the coordinator and forwards the barrier. After a restore, sources seek,
 *   operators restore their state and sinks discard what was written after the checkpoint.
 */
import { Effect, type Scope } from "effect"
import type { Batch } from "../Batch.ts"
import * as DeadLetter from "../connectors/kit/DeadLetter.ts"
import { makeLatency } from "./latency.ts"
import type { Plan, PlannedTask } from "./planner.ts"
import { deadLetterPort } from "./prepare.ts"
import { type ExecuteContext, failNode, type NodeCounters, type TaskError, zeroCounts } from "./tasks/context.ts"
import { chainStateless, type Downstream, toChannels } from "./tasks/downstream.ts"
import { destinationWriter } from "./tasks/deadLetterOutput.ts"
import { openSink, runSink, type SinkLetters } from "./tasks/sink.ts"
import { runSource } from "./tasks/source.ts"
import { runStateful } from "./tasks/stateful.ts"
import { bisectingProcess, type LetterWriter, runTransform, settingAsideProcess, statelessEffect, statelessProcess } from "./tasks/transform.ts"
import { instancesOf, wire } from "./tasks/wiring.ts"

export type { ExecuteContext, Live, NodeCounters } from "./tasks/context.ts"

const isObject = (u: unknown): u is { readonly [key: string]: unknown } => u !== null && typeof u === "object" && !Array.isArray(u)

/** Zeroed counters for every instance of every node of the plan (index = instance). */
const makeCounters = (plan: Plan): Map<string, ReadonlyArray<NodeCounters>> => {
  const instances = new Map<string, number>()
  for (const t of plan.tasks) {
    const n = instancesOf(t)
    if (t._tag === "Stateless") for (const node of t.nodes) instances.set(node, n)
    else instances.set(t.id, n)
    if (t._tag === "Source") for (const f of t.fused) instances.set(f.node, n)
  }
  const counters = new Map<string, ReadonlyArray<NodeCounters>>()
  for (const n of plan.workflow.nodes) {
    counters.set(
      n.node.id,
      Array.from({ length: instances.get(n.node.id) ?? 1 }, (_, instance) => ({
        id: n.node.id,
        kind: n.kind,
        type: n.node.type,
        instance,
        ...zeroCounts(n.kind),
        ...(n.kind === "sink" ? { latency: makeLatency() } : {})
      }))
    )
  }
  return counters
}

/**
 * Runs a plan to completion. Fails with the first task failure: a NodeError naming the node, or
 * the state backend's own error.
 */
export const execute = (plan: Plan, ctx: ExecuteContext): Effect.Effect<void, TaskError> =>
  Effect.scoped(Effect.gen(function*() {
    const counters = makeCounters(plan)
    // an instance past the node's own count (a chain run by more source instances) counts as its last
    const counter = (node: string, instance: number) => {
      const all = counters.get(node)!
      return all[Math.min(instance, all.length - 1)]
    }
    const wiring = yield* wire(plan)
    if (ctx.onStart !== undefined) yield* ctx.onStart({ counters, queueFill: wiring.queueFill, channelFill: wiring.channelFill })
    const batchSize = plan.workflow.batchSize
    // producer task id → the task chained after it (a stateless task after a source, a sink after either)
    const chainedAfter = new Map<string, PlannedTask>()
    for (const t of plan.tasks) if (t.runsIn !== undefined) chainedAfter.set(t.inputs[0].task, t)

    /**
     * The dead-letter writers of the processor nodes of `task` with `on_error: dead_letter`,
     * counted per instance: to a file, or to the destination reading the node's dead-letter port.
     */
    const letterWriters = (task: PlannedTask, nodes: ReadonlyArray<string>, instance: number): ReadonlyMap<string, LetterWriter> | undefined => {
      let writers: Map<string, LetterWriter> | undefined
      for (const id of nodes) {
        const node = plan.workflow.nodes.find((n) => n.node.id === id)?.node
        const letters = node?.on_error === "dead_letter" ? node.dead_letter : undefined
        if (node === undefined || letters === undefined) continue
        const counters = counter(id, instance)
        writers ??= new Map()
        if ("path" in letters) {
          const write = DeadLetter.writer({ connector: node.type, node: id, config: letters, report: (n) => (counters.deadLetters += n) })
          writers.set(id, (entries) => write(entries))
        } else {
          writers.set(id, destinationWriter(id, wiring.outputsOf(task).get(deadLetterPort(id)) ?? [], counters))
        }
      }
      return writers
    }

    /**
     * A sink that sets records aside (`config.on_error: dead_letter`): its writes learn the batch's
     * origin, and with `config.dead_letter: { to }` send the envelopes to the destination's channels.
     */
    const sinkLetters = (task: PlannedTask & { readonly _tag: "Sink" }): SinkLetters | undefined => {
      const config = plan.workflow.nodes.find((n) => n.node.id === task.id)?.node.config
      if (!isObject(config) || config.on_error !== "dead_letter") return undefined
      const to = plan.workflow.deadLetterTo.get(task.id)
      return { targets: wiring.outputsOf(task).get(deadLetterPort(task.id)) ?? [], late: () => (to === undefined ? undefined : ended.get(to)) }
    }
    // destination id → the write of its first instance to end: where envelopes of a sink's final pre-commit go (see SinkLetters)
    const ended = new Map<string, (batch: Batch<unknown>) => Effect.Effect<void, unknown>>()
    const destinations = new Set(plan.workflow.deadLetterTo.values())
    /** A sink instance that is a dead-letter destination registers its write when it ends. */
    const registerEnded = (task: PlannedTask, open: Effect.Effect<Downstream, unknown, Scope.Scope>) =>
      !destinations.has(task.id) ? open : Effect.map(open, (d): Downstream => ({
        ...d,
        end: Effect.andThen(Effect.sync(() => void (ended.has(task.id) || ended.set(task.id, d.push))), d.end)
      }))

    /** What source instance `instance` hands its batches to: its consumers' channels, or its chain. */
    const sourceDownstream = (source: PlannedTask, instance: number): Effect.Effect<Downstream, unknown, Scope.Scope> => {
      const chain = chainedAfter.get(source.id)
      const stateless = chain?._tag === "Stateless" ? chain : undefined
      const last = stateless ?? source
      const sink = chainedAfter.get(last.id)
      const tail: Effect.Effect<Downstream, unknown, Scope.Scope> = sink?._tag === "Sink"
        ? openSink(sink, sink.sink, instance, batchSize, counter(sink.id, instance), ctx, sinkLetters(sink))
        : Effect.succeed(toChannels(wiring.outputsOf(last)))
      if (stateless === undefined) return tail
      const nodeCounters = stateless.nodes.map((node) => counter(node, instance))
      const process = statelessProcess(stateless, nodeCounters, letterWriters(stateless, stateless.nodes, instance))
      return Effect.map(tail, (next) => chainStateless(process, nodeCounters[0], nodeCounters[nodeCounters.length - 1], next))
    }

    const fibers: Array<Effect.Effect<void, TaskError>> = []
    for (const task of plan.tasks) {
      if (task.runsIn !== undefined) continue // runs in its source's fiber
      const ports = wiring.outputsOf(task)
      const channels = wiring.channelsOf(task)
      const ordered = task.ordered && task.parallelism > 1 && channels.length === 1 ? task.parallelism : undefined
      for (let instance = 0; instance < instancesOf(task); instance++) {
        let body: Effect.Effect<void, unknown, Scope.Scope>
        switch (task._tag) {
          case "Source":
            body = runSource(
              task,
              task.source,
              instance,
              batchSize,
              sourceDownstream(task, instance),
              counter(task.id, instance),
              task.fused.map((f) => counter(f.node, instance)),
              ctx
            )
            break
          case "Stateless": {
            const nodeCounters = task.nodes.map((node) => counter(node, instance))
            const process = statelessEffect(statelessProcess(task, nodeCounters, letterWriters(task, task.nodes, instance)))
            const first = nodeCounters[0]
            const last = nodeCounters[nodeCounters.length - 1]
            body = runTransform(process, channels[instance], ports, first, last, false, ordered)
            break
          }
          case "Batch": {
            // with on_error: dead_letter: the processor's own per-record failures go to the dead
            // letters, or (a pure processor) a failed batch is bisected
            const letters = letterWriters(task, [task.id], instance)?.get(task.id)
            const process = letters === undefined
              ? task.process
              : task.setAside !== undefined
              ? settingAsideProcess(task.setAside, letters)
              : bisectingProcess(task.process, letters)
            body = runTransform(process, channels[instance], ports, counter(task.id, instance), counter(task.id, instance), true, ordered)
            break
          }
          case "Stateful":
            body = runStateful(task, instance, channels[instance], ports, counter(task.id, instance), ctx, letterWriters(task, [task.id], instance)?.get(task.id))
            break
          case "Sink":
            body = runSink(
              registerEnded(task, openSink(task, task.sink, instance, batchSize, counter(task.id, instance), ctx, sinkLetters(task))),
              channels[instance],
              ctx
            )
            break
        }
        // A task's resources live in its own scope, released when the task ends, on every path.
        // A failure is counted on the instance of the node it names (a fused step names its own).
        const i = instance
        fibers.push(Effect.scoped(body).pipe(
          failNode(task.id),
          Effect.tapError((error) =>
            Effect.sync(() => {
              const node = error._tag === "NodeError" && counters.has(error.node) ? error.node : task.id
              counter(node, i).errors += 1
            })
          )
        ))
      }
    }
    yield* Effect.forEach(fibers, (f) => f, { concurrency: "unbounded", discard: true })
  }))
