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
import { Cause, Clock, Deferred, Effect, Exit, Option, Random } from "effect"
import * as AdaptiveBatcher from "./AdaptiveBatcher.ts"
import type { CheckpointInfo, DefinitionChange, RestoreError } from "./Checkpoint.ts"
import type { SourceLag } from "./Connector.ts"
import { type DefinitionError, NodeError } from "./Errors.ts"
import { type Coordinator, makeCoordinator, type StopMode } from "./internal/coordinator.ts"
import { execute, type Live, type NodeCounters } from "./internal/executor.ts"
import { failureOf, isPermanent, nextDelay } from "./internal/restart.ts"
import { plan as makePlan, type Plan } from "./internal/planner.ts"
import { definitionChanges, definitionNotice, nodeDefinitions, nodeStates } from "./internal/fingerprint.ts"
import { preflight } from "./internal/preflight.ts"
import { keepRestoredInstances } from "./internal/autoParallelism.ts"
import {
  attemptEnded,
  attemptStarted,
  checkpointCompleted,
  checkpointFailed,
  makeRunState
} from "./internal/runState.ts"
import { checkpointSpan } from "./internal/spans.ts"
import { Monitor } from "./Monitor.ts"
import { checkServices } from "./internal/services.ts"
import { type PreparedWorkflow, prepare as prepareGraph } from "./internal/prepare.ts"
import type { Registry } from "./Registry.ts"
import type { TypedGraph } from "./Spec.ts"
import { makeMemory, StateBackend, type StateBackendError } from "./StateBackend.ts"
import { durationMillis, type WorkflowGraph } from "./WorkflowGraph.ts"

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
  /** Sources whose reader measures it: how far the source is behind its input (last measurement). */
  readonly lag?: SourceLag | undefined
  /** Records the node set aside in its dead letters during the run (absent: none). */
  readonly deadLetters?: number | undefined
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
  /** How many times the workflow was restarted from a checkpoint after a failure. */
  readonly restarts: number
  /** Counts of the last attempt (after the last restart). */
  readonly nodes: ReadonlyArray<NodeSummary>
  /** Adaptive batching metrics per source node (empty when adaptive batching is off). */
  readonly batching: { readonly [source: string]: AdaptiveBatcher.Metrics }
  /** The checkpoint the run resumed from, and whether it was the final one of a completed run. */
  readonly resumedFrom?: { readonly checkpoint: number; readonly complete: boolean } | undefined
  /** Set when a graceful stop halted the run: the checkpoint a rerun resumes from. */
  readonly stopped?: { readonly checkpoint: number } | undefined
  /**
   * Set when the run resumed with stateless processor nodes (`filter`, `map`, ...) defined
   * otherwise than when the checkpoint was taken: the records written before it used the old
   * definitions (the run also logs it as a warning).
   */
  readonly definitionsChanged?: { readonly checkpoint: number; readonly nodes: ReadonlyArray<DefinitionChange> } | undefined
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
  /** Adaptive batching metrics per source node (empty when adaptive batching is off). */
  readonly batching: { readonly [source: string]: AdaptiveBatcher.Metrics }
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
  /** Ignore (and clear) any checkpoint of this workflow in the state backend. */
  readonly fromScratch?: boolean | undefined
  /**
   * Graceful stop: when this Effect completes, the run takes a checkpoint of everything *as it
   * is* — source positions, every operator's state (open windows stay open, whole-input
   * aggregates keep their partial totals), sinks pre-committed and committed — and ends
   * successfully with `stopped` set in the summary. Nothing is read after that checkpoint and no
   * operator finishes (no window fires because of the stop), so a run resumed from it gives
   * exactly the output of a run that was never stopped. With `drain`, a stop ends the inputs
   * instead (see {@link RunOptions.drain}).
   */
  readonly stop?: Effect.Effect<void> | undefined
  /**
   * Make a stop (through `stop` or {@link RunHandle.stop}) a drain: sources stop reading and end
   * as if their input were exhausted, operators emit everything they hold (windows fire,
   * aggregates emit their totals), and the final checkpoint marks the run complete. Use it to end
   * an unbounded run for good; a resume after a drain does not continue the windows it fired.
   * Default `false`.
   */
  readonly drain?: boolean | undefined
  /**
   * Stateful nodes whose saved state is discarded: they start empty while everything else
   * resumes from the checkpoint (`--drop-state`). The way to resume after changing a stateful
   * node in a way its state cannot follow, or to forget a removed node's state — records read
   * before the checkpoint never reach those nodes.
   */
  readonly dropState?: ReadonlyArray<string> | undefined
  /** Called after every completed checkpoint. */
  readonly onCheckpoint?: ((info: CheckpointInfo) => Effect.Effect<void>) | undefined
  /** Called before every restart. */
  readonly onRestart?: ((restart: { readonly attempt: number; readonly delayMs: number; readonly error: NodeError }) => Effect.Effect<void>) | undefined
  /** Receives a handle to the run: take a checkpoint on demand, or stop gracefully. */
  readonly onStart?: ((handle: RunHandle) => Effect.Effect<void>) | undefined
}

/**
 * A handle to a running workflow.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunHandle {
  /** Takes a checkpoint now and waits until it completes (false when every source has ended). */
  readonly checkpoint: Effect.Effect<boolean>
  /** Graceful stop (as `RunOptions.stop`: a checkpoint as it is, or a drain with `RunOptions.drain`). */
  readonly stop: Effect.Effect<void>
  /** Drain whatever `RunOptions.drain` says: sources end, operators emit everything, the run completes. */
  readonly drain: Effect.Effect<void>
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
 * The result of checking one connector's connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckResult {
  readonly node: string
  readonly kind: "source" | "sink"
  readonly type: string
  readonly ok: boolean
  /** Why the check failed (absent when ok). */
  readonly error?: string
  readonly durationMs: number
}

/**
 * Validates a workflow, then runs every source's and sink's connection test (`check`),
 * concurrently, each bounded by `timeoutMs` (default 10 s). Never fails because a connector is
 * down: each result says ok or why not.
 *
 * @category validation
 * @since 0.1.0
 */
export const check = (
  graph: WorkflowGraph,
  options?: { readonly timeoutMs?: number }
): Effect.Effect<ReadonlyArray<CheckResult>, DefinitionError, Registry> =>
  Effect.gen(function*() {
    const prepared = yield* prepare(graph)
    const timeout = options?.timeoutMs ?? 10_000
    const connectors: Array<{
      readonly node: string
      readonly kind: "source" | "sink"
      readonly type: string
      readonly check: Effect.Effect<void, unknown>
    }> = []
    for (const n of prepared.nodes) {
      if (n.kind === "source") connectors.push({ node: n.node.id, kind: "source", type: n.node.type, check: n.source.check })
      if (n.kind === "sink") connectors.push({ node: n.node.id, kind: "sink", type: n.node.type, check: n.sink.check })
    }
    return yield* Effect.forEach(connectors, (c) =>
      Effect.gen(function*(): Effect.fn.Return<CheckResult> {
        const start = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(
          c.check.pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(new Error(`no answer within ${timeout} ms`)) }))
        )
        const durationMs = (yield* Clock.currentTimeMillis) - start
        if (Exit.isSuccess(exit)) return { node: c.node, kind: c.kind, type: c.type, ok: true, durationMs }
        const error = Cause.squash(exit.cause)
        return {
          node: c.node,
          kind: c.kind,
          type: c.type,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
          durationMs
        }
      }), { concurrency: "unbounded" })
  })

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

/** Counts per node, summed over its instances (the lag: the largest an instance measured). */
const snapshot = (counters: ReadonlyMap<string, ReadonlyArray<NodeCounters>>): ReadonlyArray<NodeSummary> =>
  [...counters.values()].map((instances) => {
    const c = instances[0]
    let recordsIn = 0
    let recordsOut = 0
    let batchesIn = 0
    let batchesOut = 0
    let lag: SourceLag | undefined
    let deadLetters = 0
    for (const i of instances) {
      deadLetters += i.deadLetters
      recordsIn += i.recordsIn
      recordsOut += i.recordsOut
      batchesIn += i.batchesIn
      batchesOut += i.batchesOut
      const l = i.lag?.()
      if (l !== undefined && (lag === undefined || l.value > lag.value)) lag = l
    }
    return {
      id: c.id,
      kind: c.kind,
      type: c.type,
      recordsIn,
      recordsOut,
      batchesIn,
      batchesOut,
      ...(lag !== undefined ? { lag } : {}),
      ...(deadLetters > 0 ? { deadLetters } : {})
    }
  })

/**
 * Runs a workflow to completion (bounded inputs) and returns what went through every node.
 *
 * With a {@link StateBackend} in the context the run resumes from the latest completed checkpoint
 * (unless `fromScratch`), takes a checkpoint every `execution.checkpoint_interval`, and on a task
 * failure applies `execution.restart_strategy`: it stops every task, restores the last completed
 * checkpoint, seeks the sources and goes on. Without a backend, checkpoints still align and
 * commit in memory, so restarts within the run still resume from the last one.
 *
 * The user code of a graph built with the typed DSL (processors, Effect streams and sinks,
 * connectors that need a service) runs with the services of the fiber that runs the workflow:
 * the DSL's graphs carry them in their type (`TypedGraph<Ids, E, R>`), so `run` requires `R`.
 *
 * Before any connector opens (the pre-flight phase) the run takes the backend's single-writer
 * lock of the workflow (a second instance fails with a `LockHeld` {@link StateBackendError}
 * naming the holder) and checks that the state it would restore still applies: every refusal is
 * a {@link RestoreError} saying what changed and the way out (see docs/checkpoints.md, "What is
 * protected").
 *
 * **Gotchas**: a workflow with an unbounded source (CDC, brokers) runs until stopped through
 * `options.stop` or interrupted.
 *
 * @category running
 * @since 0.1.0
 */
export const run = <R = never>(
  graph: TypedGraph<string, unknown, R>,
  options?: RunOptions
): Effect.Effect<RunSummary, DefinitionError | NodeError | StateBackendError | RestoreError, Registry | R> =>
  Effect.scoped(Effect.gen(function*() {
    const prepared = yield* prepare(graph)
    yield* checkServices(prepared)
    const configured = Option.getOrUndefined(yield* Effect.serviceOption(StateBackend))
    // Without a configured backend, a run-local memory backend still lets restarts resume.
    const backend = configured ?? makeMemory()
    // pre-flight: the lock first, then what decides whether the restored state applies
    if (backend.lock !== undefined) yield* backend.lock(graph.name)
    if (options?.fromScratch === true) yield* backend.clear(graph.name)
    // The run starts over by request, or by design: without a configured backend every run starts
    // from scratch (sinks that record their checkpoints are told, so they do not take it for lost state).
    const startsOver = options?.fromScratch === true || configured === undefined
    const found = yield* backend.latest(graph.name)
    // sources whose instances `auto` chose keep those of the checkpoint being restored
    const plan = makePlan(keepRestoredInstances(prepared, found))
    const first = yield* preflight(plan, found, new Set(options?.dropState ?? []), startsOver)
    const nodes = nodeStates(plan)
    const definitions = nodeDefinitions(plan)
    // a stateless node changed since the checkpoint: legitimate, so not refused, but told
    const changed = first === undefined ? [] : definitionChanges(plan, first)
    if (first !== undefined && changed.length > 0) {
      yield* Effect.logWarning(`workflow '${graph.name}': ${definitionNotice(first.id, changed)}`)
    }
    const startedAt = yield* Clock.currentTimeMillis
    // what a Monitor (metrics, health, dashboard) shows of this run, when one is provided
    const observed = makeRunState(graph.name, plan, startedAt)
    const monitor = Option.getOrUndefined(yield* Effect.serviceOption(Monitor))
    if (monitor !== undefined) yield* monitor.register(observed)
    yield* Effect.addFinalizer((exit) =>
      Exit.isSuccess(exit) ? Effect.void : Effect.map(Clock.currentTimeMillis, (now) => {
        observed.status = Cause.hasInterruptsOnly(exit.cause) ? "stopped" : "failed"
        observed.endedAt = now
      })
    )
    const interval = graph.execution.checkpoint_interval !== undefined
      ? durationMillis(graph.execution.checkpoint_interval)
      : undefined
    const participants = {
      sources: plan.tasks.flatMap((t) => (t._tag === "Source" ? range(t.parallelism).map((i) => `${t.id}/${i}`) : [])),
      operators: plan.tasks.flatMap((t) => (t._tag === "Stateful" ? range(t.parallelism).map((i) => `${t.id}/${i}`) : [])),
      sinks: plan.tasks.flatMap((t) => (t._tag === "Sink" ? range(t.parallelism).map((i) => `${t.id}/${i}`) : []))
    }
    const batchers = makeBatchers(graph, plan)
    const batchingMetrics = () =>
      Object.fromEntries([...batchers].map(([id, b]) => [id, b.metrics()])) as { readonly [source: string]: AdaptiveBatcher.Metrics }
    let live: Live | undefined
    let stopped: StopMode | undefined
    let current: Coordinator | undefined
    const requestStop = (mode: StopMode) =>
      Effect.sync(() => {
        stopped ??= mode
        current?.requestStop(stopped)
      })
    const stopMode: StopMode = options?.drain === true ? "drain" : "checkpoint"
    const report = Effect.gen(function*() {
      if (live === undefined || options?.onProgress === undefined) return
      const now = yield* Clock.currentTimeMillis
      yield* options.onProgress({
        workflow: graph.name,
        elapsedMs: now - startedAt,
        nodes: snapshot(live.counters),
        queues: live.queueFill(),
        batching: batchingMetrics()
      })
    })
    if (options?.onStart !== undefined) {
      yield* options.onStart({
        checkpoint: Effect.gen(function*() {
          if (current === undefined) return undefined
          const done = yield* current.trigger
          if (done === undefined) return undefined
          yield* Deferred.await(done)
          return true
        }).pipe(Effect.orDie, Effect.map((v) => v !== undefined)),
        stop: requestStop(stopMode),
        drain: requestStop("drain")
      })
    }
    const failureTimes: Array<number> = []
    let restarts = 0
    let halted: number | undefined
    while (true) {
      // after a restart: the latest checkpoint (the pre-flight's, nodes dropped, if no later one completed)
      const latest = restarts === 0 ? first : yield* backend.latest(graph.name)
      const restored = latest !== undefined && latest.id === first?.id ? first : latest
      const coordinator = makeCoordinator({
        workflow: graph.name,
        participants,
        backend,
        restoredId: restored?.id ?? 0,
        fullEvery: FULL_SNAPSHOT_EVERY,
        nodes,
        definitions,
        onCheckpoint: (info) =>
          Effect.andThen(
            Effect.sync(() => checkpointCompleted(observed, info)),
            Effect.andThen(checkpointSpan(info), options?.onCheckpoint?.(info) ?? Effect.void)
          ),
        onCheckpointFailed: () => Effect.sync(() => checkpointFailed(observed))
      })
      current = coordinator
      if (stopped !== undefined) coordinator.requestStop(stopped)
      const attempt = Effect.scoped(Effect.gen(function*() {
        if (interval !== undefined) {
          yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
            yield* Effect.sleep(interval)
            const done = yield* coordinator.trigger
            if (done !== undefined) yield* Deferred.await(done)
          })))
        }
        if (options?.stop !== undefined) yield* Effect.forkScoped(Effect.andThen(options.stop, requestStop(stopMode)))
        const onStart = (l: Live) =>
          Effect.gen(function*() {
            live = l
            attemptStarted(observed, l)
            if (options?.onProgress !== undefined) {
              yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(options.progressInterval ?? 1000), report)))
            }
          })
        yield* execute(plan, {
          workflow: graph.name,
          coordinator,
          restored,
          fromScratch: startsOver,
          fullEvery: FULL_SNAPSHOT_EVERY,
          keyGroups: plan.keyGroups,
          onStart,
          batchers
        })
      }))
      const exit = yield* Effect.exit(attempt)
      attemptEnded(observed)
      if (Exit.isSuccess(exit)) {
        if (coordinator.halted()) halted = coordinator.lastCompleted()
        break
      }
      const error = failureOf(exit.cause)
      if (error === undefined) return yield* Effect.failCause(exit.cause)
      if (isPermanent(error)) {
        // the whole cause when the error is a failure in it (other tasks' failures stay visible)
        return yield* (Cause.findErrorOption(exit.cause)._tag === "Some" ? Effect.failCause(exit.cause) : Effect.fail(error))
      }
      failureTimes.push(yield* Clock.currentTimeMillis)
      restarts += 1
      observed.restarts = restarts
      observed.status = "restarting"
      const delay = nextDelay(graph.execution.restart_strategy, restarts, failureTimes, yield* Random.next)
      if (delay === undefined) return yield* Effect.fail(error)
      yield* Effect.logWarning(
        `workflow '${graph.name}': restart ${restarts} in ${delay} ms from checkpoint ${coordinator.lastCompleted()} after: ${error.message}`
      )
      if (options?.onRestart !== undefined && error instanceof NodeError) {
        yield* options.onRestart({ attempt: restarts, delayMs: delay, error })
      }
      yield* Effect.sleep(delay)
    }
    yield* report
    const endedAt = yield* Clock.currentTimeMillis
    observed.status = halted !== undefined ? "stopped" : "completed"
    observed.endedAt = endedAt
    return {
      workflow: graph.name,
      durationMs: endedAt - startedAt,
      restarts,
      nodes: live === undefined ? [] : snapshot(live.counters),
      batching: batchingMetrics(),
      ...(first !== undefined ? { resumedFrom: { checkpoint: first.id, complete: first.final } } : {}),
      ...(halted !== undefined ? { stopped: { checkpoint: halted } } : {}),
      ...(first !== undefined && changed.length > 0 ? { definitionsChanged: { checkpoint: first.id, nodes: changed } } : {})
    }
  }))

/** One adaptive batcher per source node when `execution.batching.adaptive` is on. */
const makeBatchers = (graph: WorkflowGraph, plan: Plan): ReadonlyMap<string, AdaptiveBatcher.AdaptiveBatcher> => {
  const settings = graph.execution.batching
  if (settings?.adaptive !== true) return new Map()
  const batchSize = graph.execution.batch_size ?? 1000
  // batches that can be in flight: every channel full, plus one held by every task
  const tasks = plan.tasks.filter((t) => t.runsIn === undefined)
  const channels = tasks.filter((t) => t.inputs.length > 0).length
  const inFlightBatches = channels * plan.workflow.queueCapacity + tasks.length
  const min = settings.min ?? Math.min(16, batchSize)
  const max = settings.max ?? Math.max(batchSize, 10_000)
  return new Map(
    plan.tasks.filter((t) => t._tag === "Source").map((t) => [
      t.id,
      AdaptiveBatcher.make({
        min,
        max,
        latencyTargetMs: settings.latency_target !== undefined ? durationMillis(settings.latency_target) : 20,
        lingerMs: settings.linger !== undefined ? durationMillis(settings.linger) : 5,
        initial: Math.min(max, Math.max(min, batchSize)),
        inFlightBatches
      })
    ])
  )
}

/** Every how many checkpoints an operator writes a full snapshot instead of its changes. */
const FULL_SNAPSHOT_EVERY = 10

const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)
