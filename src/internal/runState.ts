/**
 * What a run shows while it goes on: its status, restarts, checkpoints and, per node instance,
 * the counts of every attempt so far. The runtime keeps it up to date at a few points (attempt
 * start and end, checkpoint completion or failure) and never per batch; per-batch numbers stay in
 * the tasks' plain counters ({@link NodeCounters}) and are read from there when someone looks
 * (a metrics scrape, the dashboard, `/ready`).
 *
 * Counters of an attempt start at zero (the executor makes them); the state adds what an attempt
 * counted to its `carried` totals when the attempt ends, so totals only grow over restarts, as
 * Prometheus counters must.
 */
import type { CheckpointInfo } from "../Checkpoint.ts"
import type { SourceLag } from "../Connector.ts"
import { addLatency, type Latency, makeLatency, recordLatency } from "./latency.ts"
import type { Plan } from "./planner.ts"
import { type Live, type NodeCounters, zeroCounts } from "./tasks/context.ts"

/** Where a run is. */
export type RunStatus = "starting" | "running" | "restarting" | "completed" | "stopped" | "failed"

/** Totals of one node instance over every attempt so far. */
export interface InstanceTotals {
  readonly node: string
  readonly kind: "source" | "processor" | "sink"
  readonly type: string
  readonly instance: number
  readonly recordsIn: number
  readonly recordsOut: number
  readonly batchesIn: number
  readonly batchesOut: number
  readonly errors: number
  readonly deadLetters: number
  /** The connector is open in the current attempt (always true for a processor). */
  readonly open: boolean
  readonly lag: SourceLag | undefined
  /** Sinks: read-to-written latency of batches. */
  readonly latency: Latency | undefined
}

/** Checkpoints of a run. */
export interface CheckpointStats {
  completed: number
  failed: number
  last: CheckpointInfo | undefined
  /** When the last one completed (ms since the epoch), 0 when none has. */
  lastSuccessAt: number
  /** Durations of completed checkpoints. */
  readonly durations: Latency
}

/** The observable state of one run (mutable; owned by `Runtime.run`). */
export interface RunState {
  readonly workflow: string
  readonly plan: Plan
  readonly startedAt: number
  status: RunStatus
  endedAt: number | undefined
  restarts: number
  /** The current attempt's live view (undefined before the first attempt starts). */
  live: Live | undefined
  readonly checkpoints: CheckpointStats
  /** Counts of ended attempts, by `node/instance`. */
  readonly carried: Map<string, Carried>
}

interface Carried {
  recordsIn: number
  recordsOut: number
  batchesIn: number
  batchesOut: number
  errors: number
  deadLetters: number
  readonly latency: Latency
}

/** A new run state, before its first attempt. */
export const makeRunState = (workflow: string, plan: Plan, startedAt: number): RunState => ({
  workflow,
  plan,
  startedAt,
  status: "starting",
  endedAt: undefined,
  restarts: 0,
  live: undefined,
  checkpoints: { completed: 0, failed: 0, last: undefined, lastSuccessAt: 0, durations: makeLatency() },
  carried: new Map()
})

const keyOf = (c: NodeCounters) => `${c.id}/${c.instance}`

/** An attempt started with these counters. */
export const attemptStarted = (state: RunState, live: Live): void => {
  state.live = live
  state.status = "running"
}

/** The current attempt ended: its counts join the carried totals (call once per attempt). */
export const attemptEnded = (state: RunState): void => {
  const live = state.live
  if (live === undefined) return
  for (const instances of live.counters.values()) {
    for (const c of instances) {
      const k = keyOf(c)
      const carried = state.carried.get(k) ??
        { recordsIn: 0, recordsOut: 0, batchesIn: 0, batchesOut: 0, errors: 0, deadLetters: 0, latency: makeLatency() }
      carried.recordsIn += c.recordsIn
      carried.recordsOut += c.recordsOut
      carried.batchesIn += c.batchesIn
      carried.batchesOut += c.batchesOut
      carried.errors += c.errors
      carried.deadLetters += c.deadLetters
      if (c.latency !== undefined) addLatency(carried.latency, c.latency)
      state.carried.set(k, carried)
    }
  }
  // the next attempt starts from zero; until it does, its counters read as closed
  state.live = { ...live, counters: closed(live.counters) }
}

const closed = (counters: Live["counters"]): Live["counters"] =>
  new Map([...counters].map(([node, instances]) =>
    [node, instances.map((c) => ({
      ...c,
      ...zeroCounts(c.kind),
      latency: c.latency === undefined ? undefined : makeLatency()
    }))]
  ))

/** A checkpoint completed. */
export const checkpointCompleted = (state: RunState, info: CheckpointInfo): void => {
  const cp = state.checkpoints
  cp.completed += 1
  cp.last = info
  cp.lastSuccessAt = info.completedAt
  recordLatency(cp.durations, info.durationMs)
}

/** A checkpoint failed (its record could not be written, or a commit failed). */
export const checkpointFailed = (state: RunState): void => {
  state.checkpoints.failed += 1
}

/** Totals of every node instance: carried over ended attempts plus the current attempt's counters. */
export const totals = (state: RunState): ReadonlyArray<InstanceTotals> => {
  const live = state.live
  if (live === undefined) return []
  const out: Array<InstanceTotals> = []
  for (const instances of live.counters.values()) for (const c of instances) out.push(totalOf(state, c))
  return out
}

/** Totals of one node instance, `undefined` before the first attempt or for an unknown instance. */
export const instanceTotals = (state: RunState, node: string, instance: number): InstanceTotals | undefined => {
  const c = state.live?.counters.get(node)?.[instance]
  return c === undefined ? undefined : totalOf(state, c)
}

const totalOf = (state: RunState, c: NodeCounters): InstanceTotals => {
  const carried = state.carried.get(keyOf(c))
  let latency = c.latency
  if (latency !== undefined && carried !== undefined && carried.latency.count > 0) {
    const sum = makeLatency()
    addLatency(sum, carried.latency)
    addLatency(sum, latency)
    latency = sum
  }
  return {
    node: c.id,
    kind: c.kind,
    type: c.type,
    instance: c.instance,
    recordsIn: c.recordsIn + (carried?.recordsIn ?? 0),
    recordsOut: c.recordsOut + (carried?.recordsOut ?? 0),
    batchesIn: c.batchesIn + (carried?.batchesIn ?? 0),
    batchesOut: c.batchesOut + (carried?.batchesOut ?? 0),
    errors: c.errors + (carried?.errors ?? 0),
    deadLetters: c.deadLetters + (carried?.deadLetters ?? 0),
    open: c.open,
    lag: c.lag?.(),
    latency
  }
}

/** Why a run is not ready, or `undefined` when it is (see {@link readiness}). */
export interface NotReady {
  readonly workflow: string
  readonly status: RunStatus
  readonly node?: string | undefined
  readonly instance?: number | undefined
  readonly reason: string
}

/**
 * A run is ready once every connector of the current attempt is open and either a checkpoint
 * has completed or a sink has written a batch. Otherwise: which node (instance) it waits for.
 */
export const readiness = (state: RunState): NotReady | undefined => {
  const base = { workflow: state.workflow, status: state.status }
  if (state.status === "completed" || state.status === "stopped" || state.status === "failed") {
    return { ...base, reason: `the run has ${state.status === "failed" ? "failed" : "ended"}` }
  }
  const live = state.live
  if (live === undefined || state.status !== "running") {
    return { ...base, reason: state.status === "restarting" ? "restarting after a failure" : "starting (checks before any connector opens)" }
  }
  for (const instances of live.counters.values()) {
    for (const c of instances) {
      if (!c.open) return { ...base, node: c.id, instance: c.instance, reason: `the ${c.kind}'s connector (${c.type}) is not open yet` }
    }
  }
  if (state.checkpoints.completed > 0) return undefined
  let sinks: Array<NodeCounters> = []
  for (const instances of live.counters.values()) sinks = sinks.concat(instances.filter((c) => c.kind === "sink"))
  if (sinks.some((c) => c.recordsOut > 0 || (c.latency?.count ?? 0) > 0)) return undefined
  const waiting = sinks[0]
  return {
    ...base,
    ...(waiting !== undefined ? { node: waiting.id } : {}),
    reason: "no batch has reached a sink and no checkpoint has completed yet"
  }
}
