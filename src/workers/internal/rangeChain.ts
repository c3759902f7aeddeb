/**
 * What a range thread runs on the records it reads (see `csvRange.ts` and `ndjsonRange.ts`, the
 * threads' programs): the fused nodes rebuilt from their configs ({@link chainOf}), lazy
 * conversion where it applies (CSV, {@link lazyOf}), and the NDJSON lines of records
 * ({@link ndjsonOf}, {@link parsedNdjsonOf}). No Effect here, and no
 * side effect on import (tests load it in the main thread).
 */
import type { Batch } from "../../Batch.ts"
import { isWellFormed, needsQuotes } from "../../connectors/csv/CsvFormat.ts"
import { LazyLines, lazyPlan } from "../../connectors/csv/internal/lazyLines.ts"
import { LineBuffer } from "../../connectors/csv/internal/lineBuffer.ts"
import { type FusedNode, RangeReadError, type RangeWorkerData } from "../../connectors/csv/internal/range.ts"
import { recordJson } from "../../connectors/kit/internal/recordJson.ts"
import { readSet } from "../../expr/internal/fields.ts"
import { fuse, type Step } from "../../Processor.ts"
import { type FusedErrors, fusedSteps } from "../../processors/internal/steps.ts"

/** The fused nodes of a range thread, as one chain. */
export interface Chain {
  readonly run: (records: Array<unknown>) => Array<unknown>
  readonly counts: () => ReadonlyArray<number>
  /** The steps, in order. */
  readonly steps: ReadonlyArray<Step>
}

/**
 * The error a fused step throws for a bad record: a plain `Error` with the fields of a
 * `RecordError` (`_tag`, `detail`, `field`, `record`), which the main thread turns back into one.
 * The thread loads no Effect, so it cannot make the real class.
 */
class StepRecordError extends Error {
  readonly _tag = "RecordError"
  readonly detail: string
  readonly record: unknown
  readonly field: string | undefined
  constructor(detail: string, record: unknown, field?: string) {
    super(detail)
    this.name = "RecordError"
    this.detail = detail
    this.record = record
    this.field = field
  }
}

const errors: FusedErrors = {
  typeError: (detail, record) => new StepRecordError(detail, record),
  withField: (e, field) => (e instanceof StepRecordError ? new StepRecordError(e.detail, e.record, field) : undefined)
}

/** Rebuilds the fused nodes from their configs (see `src/processors/internal/steps.ts`). */
export const chainOf = (nodes: ReadonlyArray<FusedNode>): Chain => {
  const steps = nodes.map((n) => fusedSteps(n.type, n.config, errors, n.node))
  const fused = fuse(steps.flat())
  // node k spans steps [bounds[k], bounds[k + 1])
  const bounds: Array<number> = [0]
  for (const s of steps) bounds.push(bounds[bounds.length - 1] + s.length)
  let failedNode = ""
  const run = (records: Array<unknown>): Array<unknown> => {
    const batch: Batch<unknown> = { _tag: "Batch", records, start: 0, end: records.length, origin: undefined, watermark: undefined, readAt: 0 }
    try {
      return fused.run(batch)
    } catch (e) {
      const k = fused.failedStep()
      let i = 0
      while (i < nodes.length - 1 && k >= bounds[i + 1]) i++
      failedNode = nodes[i].node
      throw e
    }
  }
  return {
    run: (records) => {
      try {
        return run(records)
      } catch (e) {
        const tagged = e !== null && typeof e === "object" && "_tag" in e && typeof e._tag === "string" ? e._tag : undefined
        const own = (key: string): unknown => (e !== null && typeof e === "object" && key in e ? (e as { readonly [k: string]: unknown })[key] : undefined)
        const detail = own("detail")
        const field = own("field")
        throw new RangeReadError({
          _tag: "Step",
          node: failedNode,
          name: tagged ?? (e instanceof Error ? e.name : "Error"),
          message: e instanceof Error ? e.message : String(e),
          detail: typeof detail === "string" ? detail : undefined,
          field: typeof field === "string" ? field : undefined,
          record: own("record")
        })
      }
    },
    counts: () => bounds.map((b) => fused.reached[b]),
    steps: steps.flat()
  }
}

/**
 * The records as NDJSON lines, written as the `ndjson` codec writes them (`recordJson`), in a
 * buffer of their own (it is transferred); `undefined` when one cannot be written (the records
 * go as they are, and the sink reports it as it would).
 */
export const ndjsonOf = (records: ReadonlyArray<unknown>): { readonly bytes: Uint8Array<ArrayBuffer>; readonly count: number } | undefined => {
  const lines = new LineBuffer()
  try {
    for (let i = 0; i < records.length; i++) lines.push(recordJson(records[i]))
  } catch {
    lines.take()
    return undefined
  }
  return lines.take()
}

/**
 * {@link ndjsonOf} for records exactly as `JSON.parse` made them (no step changed them, no
 * `-0` among their numbers, no `bigint`): for those, the native `JSON.stringify` writes the same
 * text as `recordJson` (which differs only for `-0`, `bigint`s, dates, bytes and non-finite
 * numbers, none of which `JSON.parse` makes), in about half the time. A record it cannot write
 * (a `bigint` read with `big_integers: bigint`) is written by `recordJson`.
 */
export const parsedNdjsonOf = (records: ReadonlyArray<unknown>): { readonly bytes: Uint8Array<ArrayBuffer>; readonly count: number } | undefined => {
  const lines = new LineBuffer()
  try {
    for (let i = 0; i < records.length; i++) {
      let text: string
      try {
        text = JSON.stringify(records[i])
      } catch {
        text = recordJson(records[i])
      }
      lines.push(text)
    }
  } catch {
    lines.take()
    return undefined
  }
  return lines.take()
}

/** A batch's records as CSV lines for the columns of its first record (`Batch.CsvRowsEncoded`). */
export interface CsvRows {
  readonly bytes: Uint8Array<ArrayBuffer>
  readonly types: Uint8Array<ArrayBuffer>
  readonly columns: ReadonlyArray<string>
  readonly count: number
}

const encoder = new TextEncoder()
const COMMA = 44

/**
 * The records as CSV lines, written as the `csv` codec writes them (`CsvFormat.formatField`,
 * delimiter `,`; tests compare the two) for the columns of the first record, with each value's
 * kind — or `undefined` when the batch is not uniform (a record whose fields are not exactly
 * those, in that order; a value that is not a string, finite number, boolean, `null` or `bigint`;
 * a lone surrogate): it then goes as records, and the sink writes them as it always does.
 */
export const csvRowsOf = (records: ReadonlyArray<unknown>): CsvRows | undefined => {
  const first = records[0]
  if (typeof first !== "object" || first === null || Object.getPrototypeOf(first) !== Object.prototype) return undefined
  const columns = Object.keys(first)
  const k = columns.length
  if (k === 0) return undefined
  // one column: an empty value is written "" (an empty line would be no record)
  const empty = k === 1 ? '""' : ""
  const types = new Uint8Array(records.length * k)
  let out = ""
  for (let r = 0, t = 0; r < records.length; r++) {
    const record = records[r]
    if (typeof record !== "object" || record === null || Object.getPrototypeOf(record) !== Object.prototype) return undefined
    let i = 0
    let line = ""
    for (const key in record) {
      if (i >= k || key !== columns[i]) return undefined
      const v: unknown = (record as { readonly [key: string]: unknown })[key]
      let field: string
      switch (typeof v) {
        case "string":
          types[t] = 0
          field = v.length === 0 ? empty : needsQuotes(v, COMMA) ? `"${v.replaceAll('"', '""')}"` : v
          break
        case "number":
          if (v - v !== 0) return undefined
          types[t] = 1
          field = v === 0 && 1 / v < 0 ? "-0" : String(v)
          break
        case "boolean":
          types[t] = 2
          field = v ? "true" : "false"
          break
        case "bigint":
          types[t] = 4
          field = String(v)
          break
        case "object":
          if (v !== null) return undefined
          types[t] = 3
          field = empty
          break
        default:
          return undefined
      }
      line += i === 0 ? field : "," + field
      t++
      i++
    }
    if (i !== k) return undefined
    out += line + "\n"
  }
  // (a lone surrogate has no UTF-8 form: the sink refuses it, naming the field)
  if (!isWellFormed(out)) return undefined
  // (a buffer of its own, to be transferred: not one of Buffer's shared pool)
  return { bytes: encoder.encode(out), types, columns, count: records.length }
}

/**
 * Lazy conversion (`lazyLines.ts`) where it applies: the records end as NDJSON lines, after at
 * most one fused node, a `filter` that does not read the record as a whole; `undefined` otherwise.
 */
export const lazyOf = (data: RangeWorkerData, chain: Chain | undefined): LazyLines | undefined => {
  if (data.encode !== "ndjson" || data.fused.length > 1) return undefined
  if (chain === undefined) {
    const plan = lazyPlan(data.layout, "no filter")
    return plan === undefined ? undefined : new LazyLines(data.layout, plan, undefined, () => undefined)
  }
  const step = chain.steps[0]
  if (data.fused[0].type !== "filter" || chain.steps.length !== 1 || step._tag !== "filter") return undefined
  const plan = lazyPlan(data.layout, readSet(String((data.fused[0].config as { readonly condition?: unknown }).condition)))
  return plan === undefined ? undefined : new LazyLines(data.layout, plan, step.f, chain.run)
}

