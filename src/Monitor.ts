/**
 * The monitor: what metrics, health checks and the dashboard know about the workflows running in
 * this process.
 *
 * With a `Monitor` in its context, `Runtime.run` registers the run it starts; the monitor then
 * publishes the run's counts as Effect `Metric` series (read from the runtime's plain counters
 * when metrics are read: nothing is added to the per-record or per-batch path), keeps five
 * minutes of per-node history for the dashboard, and answers whether the runs are ready.
 * `Observability.layer` serves all of it over HTTP; a library user who has a metrics exporter of
 * their own (Effect's `PrometheusMetrics` or `OtlpMetrics`) can provide `Monitor.layer` alone.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { PrometheusMetrics } from "effect/observability"
 * import { Builtins, Monitor, Runtime } from "dataflare"
 *
 * const program = Effect.gen(function*() {
 *   yield* Runtime.run(graph)
 *   return yield* PrometheusMetrics.format()   // dataflare_records_in_total{...} ...
 * }).pipe(Effect.provide([Builtins.layer, Monitor.layer]))
 * ```
 * @since 0.2.0
 */
import { Clock, Context, Effect, Layer, Schedule, type Scope } from "effect"
import { type History, makeHistory, type RunSnapshot, sample, snapshotOf } from "./internal/observability/snapshot.ts"
import { makeRunMetrics, removeRun, type RunMetrics, syncRun } from "./internal/observability/metrics.ts"
import { type NotReady, readiness as readinessOf, type RunState } from "./internal/runState.ts"

export type {
  /**
   * An edge of a run's graph.
   *
   * @category models
   * @since 0.2.0
   */
  EdgeSnapshot,
  /**
   * One node of a run: its totals, queue fill, lag and latency.
   *
   * @category models
   * @since 0.2.0
   */
  NodeSnapshot,
  /**
   * Per-node totals sampled once a second (the dashboard's charts).
   *
   * @category models
   * @since 0.2.0
   */
  HistorySnapshot,
  /**
   * A run as plain data: status, checkpoints, readiness, nodes, edges and history.
   *
   * @category models
   * @since 0.2.0
   */
  RunSnapshot
} from "./internal/observability/snapshot.ts"
export type {
  /**
   * Why a run is not ready: the node (and instance) it waits for, and the reason.
   *
   * @category models
   * @since 0.2.0
   */
  NotReady,
  /**
   * Where a run is: starting, running, restarting, completed, stopped or failed.
   *
   * @category models
   * @since 0.2.0
   */
  RunStatus
} from "./internal/runState.ts"

/**
 * Whether the process is ready: at least one workflow is running and every running workflow has
 * every connector open and a first batch (or checkpoint) through.
 *
 * @category models
 * @since 0.2.0
 */
export interface Readiness {
  readonly ready: boolean
  /** What the running workflows wait for (empty when ready). */
  readonly notReady: ReadonlyArray<NotReady | { readonly reason: string }>
}

/**
 * The monitor's operations.
 *
 * @category models
 * @since 0.2.0
 */
export interface MonitorService {
  /**
   * Registers a run for as long as the current scope lasts (called by `Runtime.run`); a later run
   * of the same workflow replaces it, an ended run stays visible until then.
   */
  readonly register: (run: RunState) => Effect.Effect<void, never, Scope.Scope>
  /** Every run known, most recent first, as plain data. */
  readonly runs: Effect.Effect<ReadonlyArray<RunSnapshot>>
  /** Readiness of the running workflows (see {@link Readiness}). */
  readonly readiness: Effect.Effect<Readiness>
  /** Registers the metric series the runs have revealed since the last call (done every second too). */
  readonly sync: Effect.Effect<void>
}

/**
 * The monitor service.
 *
 * **Gotchas**: a run registers only with the `Monitor` of its own context; provide the layer
 * around `Runtime.run` (or once, around the program), not inside another `Effect.provide` that
 * builds a second one.
 *
 * @category services
 * @since 0.2.0
 */
export class Monitor extends Context.Service<Monitor, MonitorService>()("dataflare/Monitor") {}

/** How many ended runs stay visible (the oldest is dropped first). */
const MAX_ENDED_RUNS = 100

interface Entry {
  readonly state: RunState
  readonly metrics: RunMetrics
  readonly history: History
}

const ended = (state: RunState): boolean => state.endedAt !== undefined

/**
 * A monitor that publishes run metrics into the metric registry of the context it is built in,
 * and samples each run's per-node totals every second.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer: Layer.Layer<Monitor> = Layer.effect(Monitor)(Effect.gen(function*() {
  const context = yield* Effect.context<never>()
  const entries = new Map<string, Entry>()
  const sync = Effect.sync(() => {
    for (const e of entries.values()) syncRun(e.metrics, e.state, context)
  })
  const tick = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    for (const e of entries.values()) {
      syncRun(e.metrics, e.state, context)
      // an ended run keeps its last sample
      if (e.state.live !== undefined && (!ended(e.state) || e.history.at.length === 0 || e.history.at[e.history.at.length - 1] < e.state.endedAt!)) {
        sample(e.history, e.state, now)
      }
    }
  })
  yield* Effect.forkScoped(Effect.repeat(tick, Schedule.spaced(1000)))
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const e of entries.values()) removeRun(e.metrics)
      entries.clear()
    })
  )
  const register = (state: RunState): Effect.Effect<void, never, Scope.Scope> =>
    Effect.sync(() => {
      const previous = entries.get(state.workflow)
      if (previous !== undefined) removeRun(previous.metrics)
      entries.delete(state.workflow)
      entries.set(state.workflow, { state, metrics: makeRunMetrics(), history: makeHistory() })
      const done = [...entries.values()].filter((e) => ended(e.state))
      for (const e of done.slice(0, Math.max(0, done.length - MAX_ENDED_RUNS))) {
        removeRun(e.metrics)
        entries.delete(e.state.workflow)
      }
    })
  return Monitor.of({
    register,
    runs: Effect.sync(() => [...entries.values()].reverse().map((e) => snapshotOf(e.state, e.history))),
    readiness: Effect.sync(() => {
      const running = [...entries.values()].filter((e) => !ended(e.state))
      if (running.length === 0) return { ready: false, notReady: [{ reason: "no workflow is running" }] }
      const notReady = running.flatMap((e) => {
        const r = readinessOf(e.state)
        return r === undefined ? [] : [r]
      })
      return { ready: notReady.length === 0, notReady }
    }),
    sync
  })
}))
