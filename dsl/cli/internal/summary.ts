/**
 * Rendering of a run's summary: a small aligned table of records in and out per node, then the
 * duration and the rate (records read by the sources per second), and the lag of sources that
 * measure it (a CDC slot's WAL bytes not yet confirmed).
 */
import type { SourceLag } from "../../../src/Connector.ts"
import type { RunSummary } from "../../../src/Runtime.ts"
import { escapeControl } from "./text.ts"

const pad = (text: string, width: number, right: boolean): string =>
  right ? text.padStart(width, " ") : text.padEnd(width, " ")

/** Formats a number with thousands separators (`12,345`), independent of the locale. */
export const formatCount = (n: number): string => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",")

/** Formats a duration in milliseconds: `850 ms`, `2.35 s`, `3 m 05 s`. */
export const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`
}

/** A source's lag: `512 B`, `1.5 kB`, `3.2 MB` for bytes; a count or a duration otherwise. */
export const formatLag = (lag: SourceLag): string => {
  if (lag.unit === "ms") return formatDuration(lag.value)
  if (lag.unit === "records") return `${formatCount(lag.value)} records`
  const v = lag.value
  return v < 1000 ? `${Math.round(v)} B` : v < 1e6 ? `${(v / 1e3).toFixed(1)} kB` : v < 1e9 ? `${(v / 1e6).toFixed(1)} MB` : `${(v / 1e9).toFixed(2)} GB`
}

/** Records read by the sources of a run. */
export const recordsRead = (summary: RunSummary): number =>
  summary.nodes.filter((n) => n.kind === "source").reduce((sum, n) => sum + n.recordsOut, 0)

/** Records per second, for a count over a duration. */
export const rate = (records: number, ms: number): number => (ms > 0 ? (records * 1000) / ms : records > 0 ? Infinity : 0)

const formatRate = (r: number): string => (Number.isFinite(r) ? formatCount(r) : "∞")

const restarts = (summary: RunSummary): string =>
  summary.restarts > 0
    ? `, after ${summary.restarts} ${summary.restarts === 1 ? "restart" : "restarts"} (counts of the last attempt)`
    : ""

/** With dead letters of several nodes: their total. */
const deadLetterTotal = (summary: RunSummary): ReadonlyArray<string> => {
  const counts = summary.nodes.flatMap((n) => (n.deadLetters !== undefined && n.deadLetters > 0 ? [n.deadLetters] : []))
  return counts.length > 1 ? [`dead letters: ${formatCount(counts.reduce((a, b) => a + b, 0))} records set aside in all`] : []
}

/** The table and the closing line printed by `dataflare run`. */
export const renderSummary = (summary: RunSummary): string => {
  const header = ["node", "kind", "type", "records in", "records out"]
  const rows = summary.nodes.map((n) => [escapeControl(n.id), n.kind, escapeControl(n.type), formatCount(n.recordsIn), formatCount(n.recordsOut)])
  const right = [false, false, false, true, true]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => pad(c, widths[i], right[i])).join("  ").trimEnd()
  const read = recordsRead(summary)
  return [
    line(header),
    ...rows.map(line),
    "",
    `${escapeControl(summary.workflow)}: ${formatCount(read)} records in ${formatDuration(summary.durationMs)} (${
      formatRate(rate(read, summary.durationMs))
    } records/s)${restarts(summary)}`,
    ...summary.nodes.flatMap((n) => (n.lag !== undefined ? [`lag of ${n.id}: ${formatLag(n.lag)} behind its input`] : [])),
    ...summary.nodes.flatMap((n) =>
      n.deadLetters !== undefined && n.deadLetters > 0 ? [`dead letters of ${escapeControl(n.id)}: ${formatCount(n.deadLetters)} records set aside`] : []
    ),
    ...deadLetterTotal(summary),
    ...Object.entries(summary.batching).map(([source, m]) =>
      `adaptive batching of ${source}: batch size ${formatCount(m.size)}, ${formatCount(m.rate)} records/s, latency ${
        formatDuration(m.latencyMs)
      }`
    )
  ].join("\n")
}
