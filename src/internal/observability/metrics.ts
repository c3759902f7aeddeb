/**
 * A run's metrics as Effect `Metric` series whose values are read when metrics are read.
 *
 * Each series is registered with `Metric.registerUnsafe` and a `get` hook that reads the run's
 * plain counters (see runState.ts): the tasks never touch a metric, so the hot path stays a
 * loop, and a scrape costs one read per series. Any exporter reading Effect's metric registry
 * sees them: `PrometheusMetrics` (what `/metrics` serves), `OtlpMetrics`, `Metric.snapshot`.
 *
 * Series appear as the run reveals them (a source's lag once it has measured one), so
 * {@link syncRun} is called before every exposition and once a second; it registers what is new
 * and keeps what is there. Every name, label and unit is listed in docs/observability.md.
 */
import { type Context, Metric } from "effect"
import type { Latency } from "../latency.ts"
import { LATENCY_BOUNDS_MS } from "../latency.ts"
import { instanceTotals, type InstanceTotals, readiness, type RunState } from "../runState.ts"

/** The series registered for one run. */
export interface RunMetrics {
  readonly registered: Map<string, Metric.Registration>
}

/** No series yet. */
export const makeRunMetrics = (): RunMetrics => ({ registered: new Map() })

/** Removes every series of a run (a newer run of the same workflow replaces it). */
export const removeRun = (metrics: RunMetrics): void => {
  for (const r of metrics.registered.values()) r.remove()
  metrics.registered.clear()
}

type Attributes = { readonly [key: string]: string }

const counterHooks = (get: () => number): Metric.Metric.Hooks<number, Metric.CounterState<number>> => ({
  get: () => ({ count: get(), incremental: true }),
  update: () => {},
  modify: () => {}
})

const gaugeHooks = (get: () => number): Metric.Metric.Hooks<number, Metric.GaugeState<number>> => ({
  get: () => ({ value: get() }),
  update: () => {},
  modify: () => {}
})

/** Effect's histogram state (cumulative buckets, in seconds) of a latency in milliseconds. */
export const histogramState = (h: Latency | undefined): Metric.HistogramState => {
  const buckets: Array<[number, number]> = []
  let cumulative = 0
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
    cumulative += h?.buckets[i] ?? 0
    buckets.push([LATENCY_BOUNDS_MS[i] / 1000, cumulative])
  }
  const count = h?.count ?? 0
  return {
    buckets,
    count,
    min: count > 0 ? h!.minMs / 1000 : 0,
    max: count > 0 ? h!.maxMs / 1000 : 0,
    sum: (h?.sumMs ?? 0) / 1000
  }
}

const SECONDS_BOUNDS = LATENCY_BOUNDS_MS.map((ms) => ms / 1000)

/** Descriptions, one per metric name (the `# HELP` line). */
const help = {
  dataflare_records_in_total: "Records that entered the node",
  dataflare_records_out_total: "Records that came out of the node (sinks: records written)",
  dataflare_batches_in_total: "Batches that entered the node",
  dataflare_batches_out_total: "Batches that came out of the node",
  dataflare_errors_total: "Failures of the node's task (each one fails the attempt; the restart strategy decides what follows)",
  dataflare_dead_letters_total: "Records the node set aside: appended to its dead-letter file or sent to its dead-letter destination",
  dataflare_connector_open: "1 while the node's connector is open in the current attempt",
  dataflare_batch_latency_seconds: "Sinks: time from the source reading a batch to the sink having written it",
  dataflare_queue_batches: "Batches waiting in the channel before the node's task (one channel per instance)",
  dataflare_queue_capacity_batches: "Capacity of the channel before the node's task, in batches",
  dataflare_queue_fill_ratio: "Batches waiting divided by capacity: near 1 means the node is the bottleneck (backpressure)",
  dataflare_source_lag_bytes: "How far the source is behind its input, in bytes (CDC: WAL bytes not yet confirmed)",
  dataflare_source_lag_records: "How far the source is behind its input, in records (brokers: messages pending)",
  dataflare_source_lag_seconds: "How far the source is behind its input, in seconds",
  dataflare_checkpoints_total: "Checkpoints completed",
  dataflare_checkpoint_failures_total: "Checkpoints that failed (record not written, or a commit failed)",
  dataflare_checkpoint_duration_seconds: "Time from requesting a checkpoint to its completion (record written, sources and sinks committed)",
  dataflare_checkpoint_size_bytes: "Bytes of operator state written by the last completed checkpoint",
  dataflare_checkpoint_last_id: "Id of the last completed checkpoint",
  dataflare_checkpoint_last_success_timestamp_seconds: "When the last checkpoint completed (Unix time)",
  dataflare_restarts_total: "Restarts of the workflow from its last checkpoint after a failure",
  dataflare_workflow_ready: "1 while the workflow is ready (see GET /ready)",
  dataflare_workflow_start_timestamp_seconds: "When the run started (Unix time)"
} as const

/** Every metric name this module registers. */
export const METRIC_NAMES: ReadonlyArray<keyof typeof help> = Object.keys(help) as Array<keyof typeof help>

/**
 * Registers the series of a run that are not registered yet, in the metric registry of
 * `context`. Cheap when nothing is new (one map lookup per series).
 */
export const syncRun = (metrics: RunMetrics, state: RunState, context: Context.Context<never>): void => {
  const workflow = state.workflow
  const add = (
    key: string,
    make: (attributes: Attributes) => Metric.Metric<number, unknown>,
    attributes: Attributes,
    hooks: Metric.Metric.Hooks<number, unknown>
  ) => {
    if (metrics.registered.has(key)) return
    metrics.registered.set(key, Metric.registerUnsafe(make(attributes), context, hooks))
  }
  const counter = (name: keyof typeof help, attributes: Attributes, get: () => number) =>
    add(`${name}${JSON.stringify(attributes)}`, (a) => Metric.counter(name, { description: help[name], attributes: a }), attributes, counterHooks(get))
  const gauge = (name: keyof typeof help, attributes: Attributes, get: () => number) =>
    add(`${name}${JSON.stringify(attributes)}`, (a) => Metric.gauge(name, { description: help[name], attributes: a }), attributes, gaugeHooks(get))
  const histogram = (name: keyof typeof help, attributes: Attributes, get: () => Latency | undefined) =>
    add(
      `${name}${JSON.stringify(attributes)}`,
      (a) => Metric.histogram(name, { description: help[name], attributes: a, boundaries: SECONDS_BOUNDS }),
      attributes,
      { get: () => histogramState(get()), update: () => {}, modify: () => {} }
    )

  // per workflow
  const w = { workflow }
  const cp = state.checkpoints
  counter("dataflare_checkpoints_total", w, () => cp.completed)
  counter("dataflare_checkpoint_failures_total", w, () => cp.failed)
  histogram("dataflare_checkpoint_duration_seconds", w, () => cp.durations)
  gauge("dataflare_checkpoint_size_bytes", w, () => (cp.last === undefined ? 0 : Object.values(cp.last.stateBytes).reduce((a, b) => a + b, 0)))
  gauge("dataflare_checkpoint_last_id", w, () => cp.last?.id ?? 0)
  gauge("dataflare_checkpoint_last_success_timestamp_seconds", w, () => cp.lastSuccessAt / 1000)
  counter("dataflare_restarts_total", w, () => state.restarts)
  gauge("dataflare_workflow_ready", w, () => (readiness(state) === undefined ? 1 : 0))
  gauge("dataflare_workflow_start_timestamp_seconds", w, () => state.startedAt / 1000)

  // per node instance, once the first attempt has made its counters
  if (state.live === undefined) return
  const fill = state.live.channelFill()
  for (const n of state.plan.workflow.nodes) {
    const node = n.node.id
    const task = state.plan.taskOf(node)
    const count = state.live.counters.get(node)?.length ?? 0
    for (let instance = 0; instance < count; instance++) {
      const labels: Attributes = { workflow, node, type: n.node.type, instance: String(instance) }
      const read = (f: (t: InstanceTotals) => number) => () => {
        const t = instanceTotals(state, node, instance)
        return t === undefined ? 0 : f(t)
      }
      counter("dataflare_records_in_total", labels, read((t) => t.recordsIn))
      counter("dataflare_records_out_total", labels, read((t) => t.recordsOut))
      counter("dataflare_batches_in_total", labels, read((t) => t.batchesIn))
      counter("dataflare_batches_out_total", labels, read((t) => t.batchesOut))
      counter("dataflare_errors_total", labels, read((t) => t.errors))
      // a transformation sets records aside too (on_error: dead_letter)
      counter("dataflare_dead_letters_total", labels, read((t) => t.deadLetters))
      if (n.kind !== "processor") {
        gauge("dataflare_connector_open", labels, read((t) => (t.open ? 1 : 0)))
      }
      if (n.kind === "sink") histogram("dataflare_batch_latency_seconds", labels, () => instanceTotals(state, node, instance)?.latency)
      if (n.kind === "source") {
        const lag = instanceTotals(state, node, instance)?.lag
        if (lag !== undefined) {
          const name = lag.unit === "bytes"
            ? "dataflare_source_lag_bytes"
            : lag.unit === "records"
            ? "dataflare_source_lag_records"
            : "dataflare_source_lag_seconds"
          const scale = lag.unit === "ms" ? 1 / 1000 : 1
          gauge(name, labels, read((t) => (t.lag === undefined || t.lag.unit !== lag.unit ? Number.NaN : t.lag.value * scale)))
        }
      }
      // the channel in front of the node's task: one per consumer instance
      const channels = task.id === node ? fill.get(node) : undefined
      if (channels !== undefined && instance < channels.length) {
        const channel = () => state.live?.channelFill().get(node)?.[instance]
        gauge("dataflare_queue_batches", labels, () => channel()?.[0] ?? 0)
        gauge("dataflare_queue_capacity_batches", labels, () => channel()?.[1] ?? 0)
        gauge("dataflare_queue_fill_ratio", labels, () => {
          const c = channel()
          return c === undefined || c[1] === 0 ? 0 : c[0] / c[1]
        })
      }
    }
  }
}
