/**
 * A run as plain JSON data: the graph as the plan knows it (nodes, their tasks and fused chains,
 * edges), the totals per node, queue fill, lag, checkpoints, readiness, and a short history of
 * per-node counts for the dashboard's charts. Served at `/api/runs`; also what
 * `Monitor.snapshot` returns to a library user.
 */
import type { SourceLag } from "../../Connector.ts"
import { instancesOf } from "../tasks/wiring.ts"
import { type NotReady, readiness, type RunState, type RunStatus, totals } from "../runState.ts"

/** One node of a run. */
export interface NodeSnapshot {
  readonly id: string
  readonly kind: "source" | "processor" | "sink"
  readonly type: string
  readonly parallelism: number
  /** The task that runs the node (the first node of its fused chain). */
  readonly task: string
  /** The source whose fiber runs the node's task (operator chaining), if any. */
  readonly runsIn?: string | undefined
  readonly recordsIn: number
  readonly recordsOut: number
  readonly errors: number
  readonly deadLetters: number
  /** Every connector instance is open (processors: always). */
  readonly open: boolean
  /** The largest lag an instance measured. */
  readonly lag?: SourceLag | undefined
  /** Batches queued before the node's task, and the capacity (summed over its instances). */
  readonly queue?: { readonly batches: number; readonly capacity: number } | undefined
  /** Sinks: batches written, and their mean read-to-written latency. */
  readonly latency?: { readonly batches: number; readonly meanMs: number } | undefined
}

/** An edge of the graph: `from` feeds `to` (through its `port`, "main" unless a side output). */
export interface EdgeSnapshot {
  readonly from: string
  readonly to: string
  readonly port: string
}

/** Per-node totals sampled once a second, oldest first (at most {@link HISTORY_SAMPLES}). */
export interface HistorySnapshot {
  readonly at: ReadonlyArray<number>
  readonly nodes: { readonly [node: string]: { readonly in: ReadonlyArray<number>; readonly out: ReadonlyArray<number>; readonly queue: ReadonlyArray<number> } }
}

/** One run. */
export interface RunSnapshot {
  readonly workflow: string
  readonly status: RunStatus
  readonly startedAt: number
  readonly endedAt?: number | undefined
  readonly restarts: number
  readonly ready: boolean
  readonly notReady?: NotReady | undefined
  readonly checkpoints: {
    readonly completed: number
    readonly failed: number
    readonly last?: {
      readonly id: number
      readonly durationMs: number
      readonly completedAt: number
      readonly stateBytes: number
    } | undefined
  }
  readonly nodes: ReadonlyArray<NodeSnapshot>
  readonly edges: ReadonlyArray<EdgeSnapshot>
  readonly history: HistorySnapshot
}

/** How many one-second samples the history keeps: 5 minutes. */
export const HISTORY_SAMPLES = 300

/** A run's history ring (columnar, plain arrays). */
export interface History {
  readonly at: Array<number>
  readonly nodes: Map<string, { in: Array<number>; out: Array<number>; queue: Array<number> }>
}

/** An empty history. */
export const makeHistory = (): History => ({ at: [], nodes: new Map() })

/** Adds a sample of the run's per-node totals, dropping the oldest beyond {@link HISTORY_SAMPLES}. */
export const sample = (history: History, state: RunState, now: number): void => {
  const nodes = nodesOf(state)
  history.at.push(now)
  for (const n of nodes) {
    const h = history.nodes.get(n.id) ?? { in: [], out: [], queue: [] }
    // a node first seen now gets zeros for the samples before it, so every column is as long
    while (h.in.length < history.at.length - 1) {
      h.in.push(0)
      h.out.push(0)
      h.queue.push(0)
    }
    h.in.push(n.recordsIn)
    h.out.push(n.recordsOut)
    h.queue.push(n.queue !== undefined && n.queue.capacity > 0 ? n.queue.batches / n.queue.capacity : 0)
    history.nodes.set(n.id, h)
  }
  if (history.at.length > HISTORY_SAMPLES) {
    history.at.shift()
    for (const h of history.nodes.values()) {
      h.in.shift()
      h.out.shift()
      h.queue.shift()
    }
  }
}

/** The nodes of a run with their totals (summed over instances), in topological order. */
export const nodesOf = (state: RunState): ReadonlyArray<NodeSnapshot> => {
  const byNode = new Map<string, Array<ReturnType<typeof totals>[number]>>()
  for (const t of totals(state)) byNode.set(t.node, [...(byNode.get(t.node) ?? []), t])
  const fill = state.live?.channelFill()
  return state.plan.workflow.nodes.map((n) => {
    const id = n.node.id
    const task = state.plan.taskOf(id)
    const instances = byNode.get(id) ?? []
    let lag: SourceLag | undefined
    let recordsIn = 0
    let recordsOut = 0
    let errors = 0
    let deadLetters = 0
    let batches = 0
    let latencySum = 0
    for (const i of instances) {
      recordsIn += i.recordsIn
      recordsOut += i.recordsOut
      errors += i.errors
      deadLetters += i.deadLetters
      if (i.lag !== undefined && (lag === undefined || i.lag.value > lag.value)) lag = i.lag
      if (i.latency !== undefined) {
        batches += i.latency.count
        latencySum += i.latency.sumMs
      }
    }
    const channels = task.id === id ? fill?.get(id) : undefined
    const queue = channels === undefined
      ? undefined
      : { batches: channels.reduce((s, [b]) => s + b, 0), capacity: channels.reduce((s, [, c]) => s + c, 0) }
    return {
      id,
      kind: n.kind,
      type: n.node.type,
      parallelism: instancesOf(task),
      task: task.id,
      ...(task.runsIn !== undefined ? { runsIn: task.runsIn } : {}),
      recordsIn,
      recordsOut,
      errors,
      deadLetters,
      open: instances.length > 0 && instances.every((i) => i.open),
      ...(lag !== undefined ? { lag } : {}),
      ...(queue !== undefined ? { queue } : {}),
      ...(n.kind === "sink" ? { latency: { batches, meanMs: batches > 0 ? latencySum / batches : 0 } } : {})
    }
  })
}

/** The edges of a run's graph, from every node's `inputs` (`node.port` names a side output). */
export const edgesOf = (state: RunState): ReadonlyArray<EdgeSnapshot> => {
  const ids = new Set(state.plan.workflow.nodes.map((n) => n.node.id))
  return state.plan.workflow.nodes.flatMap((n) =>
    n.node.inputs.map((input) => {
      if (ids.has(input)) return { from: input, to: n.node.id, port: "main" }
      const dot = input.lastIndexOf(".")
      return { from: input.slice(0, dot), to: n.node.id, port: input.slice(dot + 1) }
    })
  )
}

/** The JSON form of a run. */
export const snapshotOf = (state: RunState, history: History): RunSnapshot => {
  const notReady = readiness(state)
  const last = state.checkpoints.last
  return {
    workflow: state.workflow,
    status: state.status,
    startedAt: state.startedAt,
    ...(state.endedAt !== undefined ? { endedAt: state.endedAt } : {}),
    restarts: state.restarts,
    ready: notReady === undefined,
    ...(notReady !== undefined ? { notReady } : {}),
    checkpoints: {
      completed: state.checkpoints.completed,
      failed: state.checkpoints.failed,
      ...(last !== undefined
        ? {
          last: {
            id: last.id,
            durationMs: last.durationMs,
            completedAt: last.completedAt,
            stateBytes: Object.values(last.stateBytes).reduce((a, b) => a + b, 0)
          }
        }
        : {})
    },
    nodes: nodesOf(state),
    edges: edgesOf(state),
    history: {
      at: history.at,
      nodes: Object.fromEntries([...history.nodes].map(([id, h]) => [id, { in: h.in, out: h.out, queue: h.queue }]))
    }
  }
}
