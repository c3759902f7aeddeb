/**
 * Lazy conversion for a range thread whose records end as NDJSON lines (`encode: "ndjson"`) after
 * at most one fused `filter`: every field is checked as `build` checks it (same errors, in the
 * same order), only the columns the filter reads are converted to values (into a small record the
 * filter sees), and the JSON line of a kept row is written from its fields' text
 * (`fieldJson.ts`). No record is made for a dropped row, no `Date` or number for a column the
 * filter does not read. The lines are the ones `recordJson` writes for the records `build` makes,
 * byte for byte, and the rows go in chunks of the size the record path uses, so batches end where
 * its batches end.
 *
 * Used only where that is sound ({@link lazyPlan}): a filter that reads the record as a whole
 * (`$`) could read any column; a layout whose records `recordJson` would write in another order
 * or form (integer-like, duplicate, `__proto__` or `toJSON` names, `json` columns) keeps the
 * record path. When the filter throws on a row, the chunk's records are built and given to the
 * record path's chain, which throws the error it throws there (with the whole record).
 *
 * No Effect here: the CSV range threads load it.
 */
import type { ReadSet } from "../../../expr/internal/fields.ts"
import { valueJson } from "../../kit/internal/recordJson.ts"
import { type BuildError, build, convert, type Factory, JSON_VALUE, type Layout, recordFactory, STRING } from "./columns.ts"
import { check, checkedJson, CONVERTED, REFUSED } from "./fieldJson.ts"
import { LineBuffer } from "./lineBuffer.ts"

/** How a layout's rows are written lazily. */
export interface LazyPlan {
  /** `"name":` of each column. */
  readonly keys: ReadonlyArray<string>
  /** The columns the filter reads (that the file has), in layout order. */
  readonly probe: ReadonlyArray<number>
  /** Makes the record the filter sees (those columns only), from their values. */
  readonly probeRecord: Factory
  /** Sets the values of the probe columns in such a record (one store per column, keys fixed). */
  readonly probeSet: (record: { [name: string]: unknown }, values: ReadonlyArray<unknown>) => void
}

/** Columns whose records `recordJson` writes in another order or by another path. */
const unsafeName = (name: string): boolean => name === "__proto__" || name === "toJSON" || /^\d+$/.test(name)

/**
 * The plan for `layout` behind a filter reading `reads` (`undefined` for no filter: every row is
 * kept), or `undefined` where lazy conversion is not sound (see the module's documentation).
 */
export const lazyPlan = (layout: Layout, reads: ReadSet | undefined | "no filter"): LazyPlan | undefined => {
  if (reads === undefined || (reads !== "no filter" && reads.wholeRecord)) return undefined
  const { names, kinds, fixed } = layout
  if (fixed < 1 || new Set(names).size !== names.length || names.some(unsafeName) || kinds.includes(JSON_VALUE)) return undefined
  const read = new Set(reads === "no filter" ? [] : reads.fields.map((f) => f.name))
  const probe = names.flatMap((n, i) => (read.has(n) ? [i] : []))
  return {
    keys: names.map((n) => valueJson(n) + ":"),
    probe,
    probeRecord: recordFactory(probe.map((i) => names[i])),
    // the names are embedded as JSON string literals — data, never code (as recordFactory does)
    probeSet: new Function("o", "v", probe.map((i, j) => `o[${JSON.stringify(names[i])}] = v[${j}];`).join("\n")) as LazyPlan["probeSet"]
  }
}

/** Records built before the filter runs on them (as many as the record path's chunks). */
export const CHUNK_ROWS = 128

/** Collects a range's rows as NDJSON lines (see the module's documentation). */
export class LazyLines {
  private readonly layout: Layout
  private readonly plan: LazyPlan
  private readonly filter: ((record: unknown) => unknown) | undefined
  private readonly rerun: (records: Array<unknown>) => unknown
  /** The fields of the pending rows, row after row. */
  private readonly texts: Array<string>
  /** How each of those fields' JSON is written ({@link check}'s verdict, kept for the kept rows' lines). */
  private readonly forms: Int8Array
  private readonly values: Array<unknown>
  /**
   * The one record the filter sees, its values set for each row: the filter keeps no reference to
   * it (an expression gives a value; a failing one is run again on the whole record, see `fail`),
   * so no object is made per row.
   */
  private readonly probe: { [name: string]: unknown }
  /** Rows added since the last flush. */
  pending = 0
  /** Rows given to the filter, and rows kept (totals): the fused filter's counts. */
  rowsIn = 0
  rowsOut = 0
  readonly lines = new LineBuffer()
  /** There is a filter (rows go in chunks, as the record path's chain gets them). */
  readonly filtered: boolean

  /**
   * `filter`: the fused filter's predicate (`undefined`: keep every row); `rerun`: the record path's
   * chain, given the chunk's records when the filter threw (it throws that error its way).
   */
  constructor(
    layout: Layout,
    plan: LazyPlan,
    filter: ((record: unknown) => unknown) | undefined,
    rerun: (records: Array<unknown>) => unknown
  ) {
    this.layout = layout
    this.plan = plan
    this.filter = filter
    this.filtered = filter !== undefined
    this.rerun = rerun
    this.texts = new Array(layout.fixed * CHUNK_ROWS)
    this.forms = new Int8Array(layout.fixed * CHUNK_ROWS)
    this.values = new Array(plan.probe.length).fill(null)
    this.probe = plan.probeRecord(this.values)
  }

  /** Adds a row of `n` fields; `false` (and `error` filled, as `build` fills it) when it is not valid. */
  add(fields: ReadonlyArray<string>, n: number, error: BuildError): boolean {
    const { kinds, required, fixed } = this.layout
    if (n !== fixed) return this.refused(fields, n, error)
    const { texts, forms } = this
    const base = this.pending * fixed
    for (let i = 0; i < n; i++) {
      const text = fields[i]
      const kind = kinds[i]
      texts[base + i] = text
      if (text.length === 0) {
        if (required[i]) return this.refused(fields, n, error)
      } else if (kind !== STRING) {
        const form = check(kind, text)
        if (form === REFUSED) return this.refused(fields, n, error)
        forms[base + i] = form
      }
    }
    this.pending++
    return true
  }

  /** A row the checks refused: `build` says why (it refuses it too; were it to accept it, the row is kept, written from its values). */
  private refused(fields: ReadonlyArray<string>, n: number, error: BuildError): boolean {
    if (build(this.layout, fields, n, error) === undefined) return false
    const { fixed } = this.layout
    const base = this.pending * fixed
    for (let i = 0; i < fixed; i++) {
      this.texts[base + i] = fields[i]
      this.forms[base + i] = CONVERTED
    }
    this.pending++
    return true
  }

  /** Filters the pending rows and writes the kept ones' lines. */
  flush(): void {
    const { fixed, kinds } = this.layout
    const { probe, probeSet } = this.plan
    const { texts, values, filter } = this
    const record = this.probe
    const rows = this.pending
    let kept = 0
    for (let r = 0; r < rows; r++) {
      const base = r * fixed
      if (filter !== undefined) {
        for (let j = 0; j < probe.length; j++) {
          const i = probe[j]
          const text = texts[base + i]
          const kind = kinds[i]
          values[j] = text.length === 0 ? (kind === STRING ? "" : null) : kind === STRING ? text : convert(kind, text)
        }
        let keep: unknown
        try {
          probeSet(record, values)
          keep = filter(record)
        } catch (e) {
          this.fail(e)
        }
        if (!keep) continue
      }
      this.lines.push(this.line(base))
      kept++
    }
    this.rowsIn += rows
    this.rowsOut += kept
    this.pending = 0
  }

  /** The JSON line of the pending row at `base`. */
  private line(base: number): string {
    const { fixed, kinds } = this.layout
    const { keys } = this.plan
    const { texts, forms } = this
    let out = "{" + keys[0] + checkedJson(kinds[0], texts[base], forms[base])
    for (let i = 1; i < fixed; i++) out += "," + keys[i] + checkedJson(kinds[i], texts[base + i], forms[base + i])
    return out + "}"
  }

  /** The filter threw: the record path's chain runs on the chunk's records and throws its error. */
  private fail(e: unknown): never {
    const { fixed } = this.layout
    const error: BuildError = { detail: "", column: 0, field: undefined }
    const records: Array<unknown> = []
    for (let r = 0; r < this.pending; r++) records.push(build(this.layout, this.texts.slice(r * fixed, (r + 1) * fixed), fixed, error))
    this.pending = 0
    this.rerun(records)
    throw e
  }
}
