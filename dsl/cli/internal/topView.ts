/**
 * What `dataflare top` shows, computed from two scrapes of `/metrics` a known time apart: per
 * workflow a header (status, checkpoints, restarts) and per node one row — records per second in
 * and out (over the last interval, summed over the node's instances), totals, errors, dead
 * letters, queue fill and lag. Pure: the command fetches, this module computes and renders.
 */
import type { Sample } from "./prometheus.ts"
import { formatCount, formatDuration } from "./summary.ts"
import { escapeControl } from "./text.ts"

/** One node's row. */
export interface NodeRow {
  readonly workflow: string
  readonly node: string
  readonly type: string
  readonly instances: number
  readonly recordsIn: number
  readonly recordsOut: number
  /** Records per second over the last interval (`undefined` on the first scrape). */
  readonly rateIn: number | undefined
  readonly rateOut: number | undefined
  readonly errors: number
  readonly deadLetters: number
  /** Batches queued / capacity over the node's channels (`undefined`: it has none). */
  readonly queue: { readonly batches: number; readonly capacity: number } | undefined
  readonly lag: string | undefined
}

/** One workflow's header. */
export interface WorkflowRow {
  readonly workflow: string
  readonly ready: boolean
  readonly checkpoints: number
  readonly checkpointFailures: number
  /** Seconds since the last checkpoint completed (`undefined`: none yet). */
  readonly lastCheckpointAgo: number | undefined
  readonly restarts: number
}

/** A frame of the view. */
export interface Frame {
  readonly workflows: ReadonlyArray<WorkflowRow>
  readonly nodes: ReadonlyArray<NodeRow>
}

const key = (s: Sample) => `${s.labels.workflow ?? ""}\u0000${s.labels.node ?? ""}`

/** Sums of a metric per workflow+node, in order of first appearance. */
const perNode = (samples: ReadonlyArray<Sample>, name: string): Map<string, number> => {
  const sums = new Map<string, number>()
  for (const s of samples) if (s.name === name) sums.set(key(s), (sums.get(key(s)) ?? 0) + s.value)
  return sums
}

const perWorkflow = (samples: ReadonlyArray<Sample>, name: string): Map<string, number> => {
  const values = new Map<string, number>()
  for (const s of samples) if (s.name === name && s.labels.workflow !== undefined) values.set(s.labels.workflow, s.value)
  return values
}

const formatBytes = (v: number): string =>
  v < 1000 ? `${Math.round(v)} B` : v < 1e6 ? `${(v / 1e3).toFixed(1)} kB` : v < 1e9 ? `${(v / 1e6).toFixed(1)} MB` : `${(v / 1e9).toFixed(2)} GB`

/**
 * The frame of `current`, with rates from `previous` taken `seconds` earlier (none when there
 * is no previous scrape).
 */
export const frameOf = (
  current: ReadonlyArray<Sample>,
  previous: ReadonlyArray<Sample> | undefined,
  seconds: number,
  nowSeconds: number
): Frame => {
  const recordsIn = perNode(current, "dataflare_records_in_total")
  const recordsOut = perNode(current, "dataflare_records_out_total")
  const prevIn = previous === undefined ? undefined : perNode(previous, "dataflare_records_in_total")
  const prevOut = previous === undefined ? undefined : perNode(previous, "dataflare_records_out_total")
  const errors = perNode(current, "dataflare_errors_total")
  const deadLetters = perNode(current, "dataflare_dead_letters_total")
  const batches = perNode(current, "dataflare_queue_batches")
  const capacity = perNode(current, "dataflare_queue_capacity_batches")
  const lagBytes = perNode(current, "dataflare_source_lag_bytes")
  const lagRecords = perNode(current, "dataflare_source_lag_records")
  const lagSeconds = perNode(current, "dataflare_source_lag_seconds")
  const instances = new Map<string, number>()
  const types = new Map<string, string>()
  for (const s of current) {
    if (s.name !== "dataflare_records_in_total") continue
    instances.set(key(s), (instances.get(key(s)) ?? 0) + 1)
    types.set(key(s), s.labels.type ?? "")
  }
  const rate = (now: number | undefined, before: number | undefined) =>
    now === undefined || before === undefined || seconds <= 0 ? undefined : Math.max(0, now - before) / seconds
  const nodes = [...recordsIn.keys()].map((k): NodeRow => {
    const [workflow, node] = k.split("\u0000")
    const cap = capacity.get(k)
    const lag = lagBytes.has(k)
      ? formatBytes(lagBytes.get(k)!)
      : lagRecords.has(k)
      ? `${formatCount(lagRecords.get(k)!)} rec`
      : lagSeconds.has(k)
      ? formatDuration(lagSeconds.get(k)! * 1000)
      : undefined
    return {
      workflow,
      node,
      type: types.get(k) ?? "",
      instances: instances.get(k) ?? 1,
      recordsIn: recordsIn.get(k) ?? 0,
      recordsOut: recordsOut.get(k) ?? 0,
      rateIn: rate(recordsIn.get(k), prevIn?.get(k)),
      rateOut: rate(recordsOut.get(k), prevOut?.get(k)),
      errors: errors.get(k) ?? 0,
      deadLetters: deadLetters.get(k) ?? 0,
      queue: cap !== undefined && cap > 0 ? { batches: batches.get(k) ?? 0, capacity: cap } : undefined,
      lag
    }
  })
  const ready = perWorkflow(current, "dataflare_workflow_ready")
  const checkpoints = perWorkflow(current, "dataflare_checkpoints_total")
  const failures = perWorkflow(current, "dataflare_checkpoint_failures_total")
  const last = perWorkflow(current, "dataflare_checkpoint_last_success_timestamp_seconds")
  const restarts = perWorkflow(current, "dataflare_restarts_total")
  const workflows = [...ready.keys()].map((workflow): WorkflowRow => {
    const at = last.get(workflow) ?? 0
    return {
      workflow,
      ready: ready.get(workflow) === 1,
      checkpoints: checkpoints.get(workflow) ?? 0,
      checkpointFailures: failures.get(workflow) ?? 0,
      lastCheckpointAgo: at > 0 ? Math.max(0, nowSeconds - at) : undefined,
      restarts: restarts.get(workflow) ?? 0
    }
  })
  return { workflows, nodes }
}

const pad = (text: string, width: number, right: boolean): string =>
  right ? text.padStart(width, " ") : text.padEnd(width, " ")

/** A fill bar of `width` cells: `[####    ]`. */
const bar = (ratio: number, width: number): string => {
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width)
  return `[${"#".repeat(filled)}${" ".repeat(width - filled)}]`
}

/** The frame as lines of at most `columns` characters (plain text: no colour, no box drawing). */
export const render = (frame: Frame, url: string, columns: number): ReadonlyArray<string> => {
  const lines: Array<string> = [`dataflare top — ${url}  (refreshed every second; Ctrl-C quits)`, ""]
  if (frame.nodes.length === 0) {
    lines.push("no workflow metrics yet (is a workflow running with --http here?)")
    return lines.map((l) => l.slice(0, columns))
  }
  for (const w of frame.workflows) {
    const last = w.lastCheckpointAgo === undefined ? "none yet" : `${formatDuration(w.lastCheckpointAgo * 1000)} ago`
    lines.push(
      `workflow ${escapeControl(w.workflow)}: ${w.ready ? "ready" : "NOT READY"}  checkpoints ${formatCount(w.checkpoints)} (last ${last}${
        w.checkpointFailures > 0 ? `, ${formatCount(w.checkpointFailures)} failed` : ""
      })  restarts ${formatCount(w.restarts)}`
    )
  }
  lines.push("")
  const header = ["NODE", "TYPE", "INST", "IN/s", "OUT/s", "IN", "OUT", "ERRORS", "DEAD", "QUEUE", "LAG"]
  const right = [false, false, true, true, true, true, true, true, true, false, true]
  const several = new Set(frame.nodes.map((n) => n.workflow)).size > 1
  const rows = frame.nodes.map((n) => [
    escapeControl(several ? `${n.workflow}/${n.node}` : n.node),
    escapeControl(n.type),
    String(n.instances),
    n.rateIn === undefined ? "-" : formatCount(n.rateIn),
    n.rateOut === undefined ? "-" : formatCount(n.rateOut),
    formatCount(n.recordsIn),
    formatCount(n.recordsOut),
    formatCount(n.errors),
    formatCount(n.deadLetters),
    n.queue === undefined ? "" : `${bar(n.queue.batches / n.queue.capacity, 8)} ${n.queue.batches}/${n.queue.capacity}`,
    n.lag ?? ""
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => pad(c, widths[i], right[i])).join("  ").trimEnd()
  lines.push(line(header), ...rows.map(line))
  return lines.map((l) => l.slice(0, columns))
}
