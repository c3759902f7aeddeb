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
 * A row of ASCII text whose fields the tokenizer gives as places (`CsvParser.nextSpans`: records
 * on one line, `""` inside quotes marked per field) is added with
 * {@link LazyLines.addSpans}: its typed fields are checked on the text's bytes (`fieldBytes.ts`),
 * and a kept row's line is copied from those bytes; no string is made per field (only for the
 * columns the filter reads, and for a field whose JSON is not its text).
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
import { type BuildError, build, convert, type Factory, JSON_VALUE, type Layout, recordFactory, STRING, TIMESTAMP } from "./columns.ts"
import { Buffer } from "node:buffer"
import { checkAt, plainAt, quotesOnlyAt, UNSURE, valueAt } from "./fieldBytes.ts"
import { AS_TEXT, check, checkedJson, CONVERTED, REFUSED } from "./fieldJson.ts"
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

/** What a timestamp without milliseconds (and zone), or a date, is written with. */
const MS_ZONE = Buffer.from(".000Z", "latin1")
const MIDNIGHT = Buffer.from("T00:00:00.000Z", "latin1")

/** Copies `bytes` into `out` at `at` (short: a loop is cheaper than a native call); returns the end. */
const copy = (bytes: Uint8Array, out: Uint8Array, at: number): number => {
  for (let k = 0; k < bytes.length; k++) out[at++] = bytes[k]
  return at
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
  /**
   * Rows added as places in an ASCII text ({@link LazyLines.addSpans}): the text and its bytes per
   * row (`undefined` bytes: the row's fields are in `texts`), and where each field starts and ends.
   */
  private readonly rowTexts: Array<string>
  private readonly rowBytes: Array<Buffer | undefined>
  private readonly starts: Int32Array
  private readonly ends: Int32Array
  /** Per row added by `addSpans`: 1 when a field of it holds `""` (then {@link LazyLines.doubled} says which). */
  private readonly rowDoubled: Uint8Array
  /** Per field of such a row: 1 when its place holds `""`, each standing for one `"`. */
  private readonly doubled: Uint8Array
  /** `{"name":` and `,"name":` of each column, as UTF-8 bytes, and their total length. */
  private readonly heads: ReadonlyArray<Buffer>
  private readonly headBytes: number
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
    this.rowTexts = new Array(CHUNK_ROWS).fill("")
    this.rowBytes = new Array(CHUNK_ROWS).fill(undefined)
    this.starts = new Int32Array(layout.fixed * CHUNK_ROWS)
    this.ends = new Int32Array(layout.fixed * CHUNK_ROWS)
    this.rowDoubled = new Uint8Array(CHUNK_ROWS)
    this.doubled = new Uint8Array(layout.fixed * CHUNK_ROWS)
    this.heads = plan.keys.map((key, i) => Buffer.from((i === 0 ? "{" : ",") + key, "utf8"))
    this.headBytes = this.heads.reduce((n, head) => n + head.length, 0)
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
    this.rowBytes[this.pending] = undefined
    this.pending++
    return true
  }

  /**
   * {@link LazyLines.add} for a row whose `n` fields are the places `spans` (start, end pairs) in
   * `text`, an ASCII text whose bytes are `bytes`: the typed fields are checked on the bytes where
   * they can be (`fieldBytes.ts`), and a kept row's line is written from them. `doubled`: which
   * fields' places hold `""` (each one `"` of the field; `undefined`: none do). `fields` is
   * filled with the fields' strings when the row is refused (`false`), as `add` would have had them.
   */
  addSpans(
    text: string,
    bytes: Buffer,
    spans: Int32Array,
    doubled: Uint8Array | undefined,
    n: number,
    fields: Array<string>,
    error: BuildError
  ): boolean {
    const { kinds, required, fixed } = this.layout
    if (n === fixed) {
      const { starts, ends, forms } = this
      const base = this.pending * fixed
      let i = 0
      if (doubled === undefined) {
        for (; i < n; i++) {
          const from = spans[2 * i]
          const to = spans[2 * i + 1]
          starts[base + i] = from
          ends[base + i] = to
          if (from === to) {
            if (required[i]) break
          } else if (kinds[i] !== STRING) {
            let form = checkAt(kinds[i], bytes, from, to)
            if (form === UNSURE) form = check(kinds[i], text.slice(from, to))
            if (form === REFUSED) break
            forms[base + i] = form
          }
        }
      } else {
        for (; i < n; i++) {
          const from = spans[2 * i]
          const to = spans[2 * i + 1]
          starts[base + i] = from
          ends[base + i] = to
          this.doubled[base + i] = doubled[i]
          if (from === to) {
            if (required[i]) break
          } else if (kinds[i] !== STRING) {
            let form: number
            if (doubled[i] === 1) {
              // checked on its string; written from its value (its bytes are not its text)
              form = check(kinds[i], text.slice(from, to).replaceAll('""', '"'))
              if (form === AS_TEXT) form = CONVERTED
            } else {
              form = checkAt(kinds[i], bytes, from, to)
              if (form === UNSURE) form = check(kinds[i], text.slice(from, to))
            }
            if (form === REFUSED) break
            forms[base + i] = form
          }
        }
      }
      if (i === n) {
        // (a slot mostly holds this text already, from the rows before: the same 64 KiB text
        // lasts for many chunks of rows; not storing it again saves a write barrier per row)
        if (this.rowTexts[this.pending] !== text) this.rowTexts[this.pending] = text
        if (this.rowBytes[this.pending] !== bytes) this.rowBytes[this.pending] = bytes
        this.rowDoubled[this.pending] = doubled === undefined ? 0 : 1
        this.pending++
        return true
      }
    }
    for (let k = 0; k < n; k++) {
      const s = text.slice(spans[2 * k], spans[2 * k + 1])
      fields[k] = doubled !== undefined && doubled[k] === 1 ? s.replaceAll('""', '"') : s
    }
    return this.refused(fields, n, error)
  }

  /** The string of field `i` of the pending row `r` (at `base`) added by `addSpans`. */
  private spanText(r: number, base: number, i: number): string {
    const s = this.rowTexts[r].slice(this.starts[base + i], this.ends[base + i])
    return this.rowDoubled[r] === 1 && this.doubled[base + i] === 1 ? s.replaceAll('""', '"') : s
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
    this.rowBytes[this.pending] = undefined
    this.pending++
    return true
  }

  /** Filters the pending rows and writes the kept ones' lines. */
  flush(): void {
    const { fixed, kinds } = this.layout
    const { probe, probeSet } = this.plan
    const { texts, values, filter, forms } = this
    const record = this.probe
    const rows = this.pending
    let kept = 0
    for (let r = 0; r < rows; r++) {
      const base = r * fixed
      const bytes = this.rowBytes[r]
      if (filter !== undefined) {
        for (let j = 0; j < probe.length; j++) {
          const i = probe[j]
          const kind = kinds[i]
          if (bytes !== undefined && kind !== STRING && kind !== TIMESTAMP && this.starts[base + i] < this.ends[base + i] && forms[base + i] === AS_TEXT) {
            // a number, integer or boolean in its common form: its value from the bytes, no string
            values[j] = valueAt(kind, bytes, this.starts[base + i], this.ends[base + i])
            continue
          }
          const text = bytes === undefined ? texts[base + i] : this.spanText(r, base, i)
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
      if (bytes === undefined) this.lines.push(this.line(base))
      else this.lineBytes(r, base, bytes)
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

  /** The JSON line of the pending row `r` (at `base`), added by `addSpans`: written as bytes. */
  private lineBytes(r: number, base: number, bytes: Buffer): void {
    const { fixed, kinds } = this.layout
    const { heads, starts, ends, forms } = this
    const doubled = this.rowDoubled[r] === 1 ? this.doubled : undefined
    // room for the longest line the row can make: a string field's JSON takes at most 6 bytes per
    // byte of it (\u00XX) and 2 quotes, a converted value at most 40 bytes
    const out = this.lines.room(this.headBytes + 6 * (ends[base + fixed - 1] - starts[base]) + 42 * fixed + 2)
    let at = this.lines.at
    for (let i = 0; i < fixed; i++) {
      // (a key: one native copy costs fewer instructions than a byte loop, measured)
      const head = heads[i]
      out.set(head, at)
      at += head.length
      const from = starts[base + i]
      const to = ends[base + i]
      const kind = kinds[i]
      if (from === to) {
        if (kind === STRING) {
          out[at++] = 34
          out[at++] = 34
        } else {
          out[at++] = 110 // null
          out[at++] = 117
          out[at++] = 108
          out[at++] = 108
        }
      } else if (doubled !== undefined && doubled[base + i] === 1) {
        if (kind === STRING && quotesOnlyAt(bytes, from, to)) {
          // `""` is one quote of the field: `\"` in JSON
          out[at++] = 34
          for (let k = from; k < to; k++) {
            const c = bytes[k]
            if (c === 34) {
              out[at++] = 92
              k++
            }
            out[at++] = c
          }
          out[at++] = 34
        } else at += out.write(checkedJson(kind, this.spanText(r, base, i), CONVERTED), at)
      } else if (kind === STRING ? plainAt(bytes, from, to) : forms[base + i] === AS_TEXT) {
        const quoted = kind === STRING || kind === TIMESTAMP
        if (quoted) out[at++] = 34
        if (kind === TIMESTAMP && to - from === 20) {
          // `...SSZ`: the milliseconds go before the zone
          for (let k = from; k < to - 1; k++) out[at++] = bytes[k]
          at = copy(MS_ZONE, out, at)
        } else {
          for (let k = from; k < to; k++) out[at++] = bytes[k]
          if (kind === TIMESTAMP) {
            // the forms fastUtc reads, as toISOString writes them (see `checkedJson`)
            const length = to - from
            if (length === 23) out[at++] = 90
            else if (length === 19) at = copy(MS_ZONE, out, at)
            else if (length === 10) at = copy(MIDNIGHT, out, at)
          }
        }
        if (quoted) out[at++] = 34
      } else {
        at += out.write(checkedJson(kind, this.rowTexts[r].slice(from, to), CONVERTED), at)
      }
    }
    out[at++] = 125
    out[at++] = 10
    this.lines.wrote(at)
  }

  /** The filter threw: the record path's chain runs on the chunk's records and throws its error. */
  private fail(e: unknown): never {
    const { fixed } = this.layout
    const error: BuildError = { detail: "", column: 0, field: undefined }
    const records: Array<unknown> = []
    for (let r = 0; r < this.pending; r++) {
      const bytes = this.rowBytes[r]
      const fields = bytes === undefined
        ? this.texts.slice(r * fixed, (r + 1) * fixed)
        : Array.from({ length: fixed }, (_, i) => this.spanText(r, r * fixed, i))
      records.push(build(this.layout, fields, fixed, error))
    }
    this.pending = 0
    this.rerun(records)
    throw e
  }
}
