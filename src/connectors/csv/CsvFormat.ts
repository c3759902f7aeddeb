/**
 * Formatting records as CSV text (RFC 4180), shared by the `csv` sink and the `stdout` sink's
 * `csv` format.
 *
 * A field is quoted only when it must be: when it holds the delimiter, a quote, CR or LF (or,
 * in a one-column file, when it is empty — an empty line would be skipped when reading). `null`
 * and `undefined` become an empty field, a number its shortest round-trip text (`-0`, `NaN`,
 * `Infinity` kept), a `bigint` all its digits, a `Uint8Array` PostgreSQL's hex text (`\\x0aff`), a
 * `Date` its ISO-8601 text, a plain object or array its JSON text (bigints and the numbers above
 * written exactly, see `internal/jsonText.ts`), anything else `String(value)`.
 *
 * @since 0.1.0
 */
import { byteaText, toJsonText } from "../../internal/jsonText.ts"

/**
 * A field's text, quoted when needed.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatField = (value: unknown, delimiter: string, single: boolean): string => {
  let text: string
  switch (typeof value) {
    case "string":
      text = value
      break
    case "number":
      return value === 0 && 1 / value < 0 ? "-0" : String(value)
    case "boolean":
    case "bigint":
      return String(value)
    case "undefined":
      return single ? '""' : ""
    case "object":
      if (value === null) return single ? '""' : ""
      text = value instanceof Date ? value.toISOString() : value instanceof Uint8Array ? byteaText(value) : toJsonText(value)
      break
    default:
      text = String(value)
  }
  if (text.length === 0) return single ? '""' : ""
  return needsQuotes(text, delimiter.charCodeAt(0)) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * True when a field must be quoted: it holds the delimiter, a quote, CR or LF.
 *
 * @category formatting
 * @since 0.1.0
 */
export const needsQuotes = (text: string, delimiterCode: number): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === delimiterCode || c === 34 || c === 10 || c === 13) return true
  }
  return false
}

/**
 * The header line (with its line break) for the given column names.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatHeader = (columns: ReadonlyArray<string>, delimiter: string): string => {
  let line = ""
  const single = columns.length === 1
  for (let i = 0; i < columns.length; i++) {
    if (i > 0) line += delimiter
    line += formatField(columns[i], delimiter, single)
  }
  return line + "\n"
}

/** Why a value cannot be a CSV line. */
const notARow = (record: unknown): string =>
  `a CSV line is written from an object's fields, and the record is ${record === null ? "null" : `a ${typeof record}`}`

/**
 * Formats records `[start, end)` of `records` as CSV lines (each ending with `\n`), taking the
 * fields named by `columns`, in that order. One string for the whole range. Throws a `TypeError`
 * on a record that is not an object (a line holds a record's fields) and on a field value JSON
 * cannot write (a cycle) or a string UTF-8 cannot hold (a lone surrogate, which would be written as
 * U+FFFD); the `csv` codec turns that into an `EncodeError` naming the record.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatRows = (
  records: ReadonlyArray<unknown>,
  start: number,
  end: number,
  columns: ReadonlyArray<string>,
  delimiter: string
): string => {
  let out = ""
  const n = columns.length
  const single = n === 1
  for (let r = start; r < end; r++) {
    const record = records[r] as { readonly [key: string]: unknown }
    if (typeof record !== "object" || record === null) throw new TypeError(notARow(record))
    let line = ""
    for (let i = 0; i < n; i++) {
      if (i > 0) line += delimiter
      line += formatField(record[columns[i]], delimiter, single)
    }
    out += line + "\n"
  }
  if (!isWellFormed(out)) throw new TypeError(loneSurrogate(records, start, end, columns))
  return out
}

/** `String.prototype.isWellFormed` (ES2024, native in Node ≥ 20), which the es2023 lib does not declare. */
interface WellFormed {
  readonly isWellFormed: () => boolean
}

/**
 * True when `text` has no lone surrogate, so that it has an exact UTF-8 form (one native scan).
 *
 * @category formatting
 * @since 0.5.0
 */
export const isWellFormed = (text: string): boolean => (text as unknown as WellFormed).isWellFormed()

/**
 * Why records `[start, end)` cannot be written: the first field whose text holds a lone surrogate
 * (a JavaScript string can, e.g. from a JSON `"\ud800"`; UTF-8 cannot, and writing it would put
 * U+FFFD in the file instead).
 */
const loneSurrogate = (records: ReadonlyArray<unknown>, start: number, end: number, columns: ReadonlyArray<string>): string => {
  for (let r = start; r < end; r++) {
    const record = records[r] as { readonly [key: string]: unknown }
    for (const column of columns) {
      const text = formatField(record[column], ",", false)
      if (!isWellFormed(text)) {
        const at = text.search(/[\ud800-\udfff]/u)
        const unit = text.charCodeAt(at).toString(16).toUpperCase()
        return `field '${column}' holds a lone surrogate (U+${unit}), which has no UTF-8 form: a CSV file is UTF-8 text, and it would be written as U+FFFD`
      }
    }
  }
  return "a field holds a lone surrogate, which has no UTF-8 form"
}
