/**
 * The runtime: validates a workflow graph, plans it and runs it as Effect fibers.
 *
 * `run` prepares the graph (every node's type found in the {@link Registry}, every config
 * decoded by its Schema, the graph checked for unknown inputs, cycles and unread nodes), plans it
 * (stateless processor chains fused into one task), then runs one fiber per node instance under
 * the workflow's supervisor fiber, joined by bounded queues of batches. The first task to fail
 * fails the run with a {@link NodeError} naming the node; all connectors are released.
 *
 * @example
 * ```ts
 * import { Builtins, Runtime } from "dataflare"
 * const summary = yield* Runtime.run(graph).pipe(Effect.provide(Builtins.layer))
 * ```
 * @since 0.1.0
 */
import { Clock, Effect, Schedule } from "effect"
import type { DefinitionError, NodeError } from "./Errors.ts"
import { execute, type Live, type NodeCounters } from "./internal/executor.ts"
import { plan as makePlan, type Plan } from "./internal/planner.ts"
import { type PreparedWorkflow, prepare as prepareGraph } from "./internal/prepare.ts"
import type { Registry } from "./Registry.ts"
import type { WorkflowGraph } from "./WorkflowGraph.ts"

export type {
  /**
   * A validated workflow: nodes in topological order with decoded configs.
   *
   * @category models
   * @since 0.1.0
   */
  PreparedWorkflow
} from "./internal/prepare.ts"

/**
 * Records and batches that went through one node during a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface NodeSummary {
  readonly id: string
  readonly kind: "source" | "processor" | "sink"
  readonly type: string
  readonly recordsIn: number
  readonly recordsOut: number
  readonly batchesIn: number
  readonly batchesOut: number
}

/**
 * The result of a successful run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunSummary {
  readonly workflow: string
  readonly durationMs: number
  readonly nodes: ReadonlyArray<NodeSummary>
}

/**
 * A progress snapshot, taken every `progressInterval` while a workflow runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Progress {
  readonly workflow: string
  readonly elapsedMs: number
  readonly nodes: ReadonlyArray<NodeSummary>
  /** node id → [batches queued before it, queue capacity]: a full queue means backpressure. */
  readonly queues: ReadonlyMap<string, readonly [number, number]>
}

/**
 * Options of {@link run}.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Called every `progressInterval` (default 1 s) with a snapshot; and once at the end. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  readonly progressInterval?: number | undefined
}

/**
 * Validates a graph against the registry: unknown types, config errors, unknown inputs, cycles,
 * unread nodes. Fails with one {@link DefinitionError} listing every problem found.
 *
 * @category validation
 * @since 0.1.0
 */
export const prepare: (graph: WorkflowGraph) => Effect.Effect<PreparedWorkflow, DefinitionError, Registry> = prepareGraph

/**
 * The execution plan of a prepared workflow: tasks, fused chains and parallelism.
 *
 * @category planning
 * @since 0.1.0
 */
export const plan = (workflow: PreparedWorkflow): Plan => makePlan(workflow)

export type {
  /**
   * An execution plan.
   *
   * @category planning
   * @since 0.1.0
   */
  Plan,
  /**
   * A task of an execution plan.
   *
   * @category planning
   * @since 0.1.0
   */
  PlannedTask
} from "./internal/planner.ts"

const snapshot = (counters: ReadonlyMap<string, NodeCounters>): ReadonlyArray<NodeSummary> =>
  [...counters.values()].map((c) => ({
    id: c.id,
    kind: c.kind,
    type: c.type,
    recordsIn: c.recordsIn,
    recordsOut: c.recordsOut,
    batchesIn: c.batchesIn,
    batchesOut: c.batchesOut
  }))

/**
 * Runs a workflow to completion (bounded inputs) and returns what went through every node.
 *
 * **Gotchas**: a workflow with an unbounded source (CDC, brokers) runs until interrupted.
 *
 * @category running
 * @since 0.1.0
 */
export const run = (
  graph: WorkflowGraph,
  options?: RunOptions
): Effect.Effect<RunSummary, DefinitionError | NodeError, Registry> =>
  Effect.gen(function*() {
    const prepared = yield* prepare(graph)
    const startedAt = yield* Clock.currentTimeMillis
    let live: Live | undefined
    const report = Effect.gen(function*() {
      if (live === undefined || options?.onProgress === undefined) return
      const now = yield* Clock.currentTimeMillis
      yield* options.onProgress({
        workflow: graph.name,
        elapsedMs: now - startedAt,
        nodes: snapshot(live.counters),
        queues: live.queueFill()
      })
    })
    const onStart = (l: Live) =>
      Effect.sync(() => {
        live = l
      }).pipe(
        Effect.andThen(
          options?.onProgress === undefined
            ? Effect.void
            : Effect.forkScoped(
              Effect.repeat(Effect.andThen(Effect.sleep(options.progressInterval ?? 1000), report), Schedule.forever)
            )
        ),
        Effect.asVoid
      )
    yield* execute(makePlan(prepared), onStart)
    yield* report
    const endedAt = yield* Clock.currentTimeMillis
    return {
      workflow: graph.name,
      durationMs: endedAt - startedAt,
      nodes: live === undefined ? [] : snapshot(live.counters)
    }
  })
