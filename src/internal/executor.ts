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
import type { Plan, PlannedTask } from "./planner.ts"
import { type ExecuteContext, failNode, type NodeCounters, type TaskError } from "./tasks/context.ts"
import { chainStateless, type Downstream, toChannels } from "./tasks/downstream.ts"
import { openSink, runSink } from "./tasks/sink.ts"
import { runSource } from "./tasks/source.ts"
import { runStateful } from "./tasks/stateful.ts"
import { runTransform, statelessEffect, statelessProcess } from "./tasks/transform.ts"
import { instancesOf, wire } from "./tasks/wiring.ts"

export type { ExecuteContext, Live, NodeCounters } from "./tasks/context.ts"

/** One zeroed counter per node of the plan. */
const makeCounters = (plan: Plan): Map<string, NodeCounters> => {
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
  return counters
}

/**
 * Runs a plan to completion. Fails with the first task failure: a NodeError naming the node, or
 * the state backend's own error.
 */
export const execute = (plan: Plan, ctx: ExecuteContext): Effect.Effect<void, TaskError> =>
  Effect.scoped(Effect.gen(function*() {
    const counters = makeCounters(plan)
    const counter = (node: string) => counters.get(node)!
    const wiring = yield* wire(plan)
    if (ctx.onStart !== undefined) yield* ctx.onStart({ counters, queueFill: wiring.queueFill })
    const batchSize = plan.workflow.batchSize
    // producer task id → the task chained after it (a stateless task after a source, a sink after either)
    const chainedAfter = new Map<string, PlannedTask>()
    for (const t of plan.tasks) if (t.runsIn !== undefined) chainedAfter.set(t.inputs[0].task, t)

    /** What source instance `instance` hands its batches to: its consumers' channels, or its chain. */
    const sourceDownstream = (source: PlannedTask, instance: number): Effect.Effect<Downstream, unknown, Scope.Scope> => {
      const chain = chainedAfter.get(source.id)
      const stateless = chain?._tag === "Stateless" ? chain : undefined
      const last = stateless ?? source
      const sink = chainedAfter.get(last.id)
      const tail: Effect.Effect<Downstream, unknown, Scope.Scope> = sink?._tag === "Sink"
        ? openSink(sink, sink.sink, instance, batchSize, counter(sink.id), ctx)
        : Effect.succeed(toChannels(wiring.outputsOf(last)))
      if (stateless === undefined) return tail
      const nodeCounters = stateless.nodes.map(counter)
      const process = statelessProcess(stateless, nodeCounters)
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
              counter(task.id),
              task.fused.map((f) => counter(f.node)),
              ctx
            )
            break
          case "Stateless": {
            const nodeCounters = task.nodes.map(counter)
            const process = statelessEffect(statelessProcess(task, nodeCounters))
            const first = nodeCounters[0]
            const last = nodeCounters[nodeCounters.length - 1]
            body = runTransform(process, channels[instance], ports, first, last, false, ordered)
            break
          }
          case "Batch":
            body = runTransform(task.process, channels[instance], ports, counter(task.id), counter(task.id), true, ordered)
            break
          case "Stateful":
            body = runStateful(task, instance, channels[instance], ports, counter(task.id), ctx)
            break
          case "Sink":
            body = runSink(openSink(task, task.sink, instance, batchSize, counter(task.id), ctx), channels[instance], ctx)
            break
        }
        // A task's resources live in its own scope, released when the task ends, on every path.
        fibers.push(Effect.scoped(body).pipe(failNode(task.id)))
      }
    }
    yield* Effect.forEach(fibers, (f) => f, { concurrency: "unbounded", discard: true })
  }))
