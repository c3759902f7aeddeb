/**
 * The `csv` codec: records as RFC 4180 lines with the `csv` connector's formatting
 * (`csv/CsvFormat.ts`) and parser (`csv/internal/parser.ts`, typed columns as the `csv` source
 * reads them) — one CSV implementation for the file connector, standard output and brokers.
 *
 * Writing: the columns are the `columns` given (other fields are left out: a deliberate
 * projection), else the keys of the first record encoded — then a later record holding a field
 * not among them (a value that would be lost) is an {@link EncodeError} naming the field and the
 * columns (a missing field is written empty: nothing is lost); `header()` is the header line. A
 * record that is not an object, or holds a value JSON cannot write (a cycle), is an
 * {@link EncodeError} naming it. Reading: a payload's lines are records of the columns given (typed when
 * `columns` maps names to types), `c1..cN` without them; a line that does not parse or decode is
 * a {@link DecodeError} naming its line and field.
 *
 * @since 0.4.0
 */
import { type BuildError, build, makeLayout } from "../../csv/internal/columns.ts"
import { CsvParser, END, NEED_MORE } from "../../csv/internal/parser.ts"
import type { ColumnType } from "../../csv/CsvConfig.ts"
import * as CsvFormat from "../../csv/CsvFormat.ts"
import { type Codec, type DecodeError, decodeError, EncodeError, type Origin, type Payload, reasonOf, singleOf, toText } from "./Codec.ts"

/**
 * Options of the `csv` codec: `delimiter` (default `,`) and `columns` — names in order, or names
 * with their types (`{ id: integer, at: timestamp }`, as the `csv` source's `columns`).
 *
 * @category models
 * @since 0.4.0
 */
export interface CsvCodecOptions {
  readonly delimiter?: string
  readonly columns?: ReadonlyArray<string> | { readonly [name: string]: ColumnType }
  /**
   * The node that writes, named by the error of a record with a field that is not a column (when
   * the columns come from the first record).
   */
  readonly node?: string
  /** The writer has a `columns:` option, so that error says to declare it (the `csv` sink). */
  readonly declarable?: boolean
}

/**
 * The `csv` codec, with the columns it writes (fixed by the first record encoded unless given)
 * and its header line.
 *
 * @category models
 * @since 0.4.0
 */
export interface CsvCodec extends Codec<unknown> {
  /** The columns written, `undefined` until given or taken from the first record. */
  readonly columns: () => ReadonlyArray<string> | undefined
  /** Sets the columns written (e.g. as a checkpoint recorded them). */
  readonly useColumns: (columns: ReadonlyArray<string>) => void
  /** Takes the columns from `record` (its keys) unless they are set or it is not an object; returns them (`[]` when none). */
  readonly columnsFrom: (record: unknown) => ReadonlyArray<string>
  /** The header line (with its line break) of the columns. */
  readonly header: () => string
  /** The field delimiter. */
  readonly delimiter: string
}

/**
 * The first field of `record` holding a value that is not one of `names` (`set`: the same names),
 * `undefined` when none or not an object. Records usually hold the columns in their order: a key
 * equal to the name at its place is one without a look-up in the set.
 */
const outside = (record: unknown, names: ReadonlyArray<string>, set: ReadonlySet<string>): string | undefined => {
  if (typeof record !== "object" || record === null) return undefined
  const fields = record as { readonly [key: string]: unknown }
  let i = 0
  for (const key in fields) {
    if (key !== names[i++] && !set.has(key) && Object.hasOwn(fields, key) && fields[key] !== undefined) return key
  }
  return undefined
}

/**
 * The `csv` codec.
 *
 * @category constructors
 * @since 0.4.0
 */
export const csv = (options?: CsvCodecOptions): CsvCodec => {
  const delimiter = options?.delimiter ?? ","
  const given = options?.columns
  const typed = given !== undefined && !Array.isArray(given) ? (given as { readonly [name: string]: ColumnType }) : undefined
  let columns: ReadonlyArray<string> | undefined = given === undefined ? undefined : Array.isArray(given) ? [...given] : Object.keys(given)
  // the columns taken from a record (not given): a field outside them would be lost, so it is refused
  let known: ReadonlySet<string> | undefined
  const setColumns = (names: ReadonlyArray<string>): void => {
    columns = names
    known = given === undefined ? new Set(names) : undefined
  }
  // a record that is not an object (it cannot be written) does not fix the columns
  const columnsFrom = (record: unknown): ReadonlyArray<string> => {
    if (columns === undefined && typeof record === "object" && record !== null) setColumns(Object.keys(record))
    return columns ?? []
  }
  const notAColumn = (field: string, names: ReadonlyArray<string>): string => {
    const node = options?.node !== undefined ? ` of node '${options.node}'` : ""
    const fix = options?.declarable === true
      ? `declare \`columns:\`${options.node !== undefined ? ` on node '${options.node}'` : ""} to choose the columns written (a field a record lacks is written empty)`
      : "give every record those fields (a field a record lacks is written empty), or write a format that keeps every field (ndjson)"
    return `field '${field}' is not a column${node}: without \`columns\` the columns are the first record's fields (${names.join(", ")}), ` +
      `and its value would be lost; ${fix}`
  }
  const encodeBatch = (records: ReadonlyArray<unknown>, start: number, end: number): string | EncodeError => {
    if (end <= start) return ""
    if (columns === undefined) for (let i = start; i < end && columns === undefined; i++) columnsFrom(records[i])
    const names = columns ?? []
    if (known !== undefined) {
      const set = known
      for (let i = start; i < end; i++) {
        const field = outside(records[i], names, set)
        if (field === undefined) continue
        // the records before it are written (or fail first, in order), then this one is refused
        const before = i > start ? encodeBatch(records, start, i) : ""
        return before instanceof EncodeError ? before : new EncodeError({ codec: "csv", detail: notAColumn(field, names), index: i, record: records[i] })
      }
    }
    try {
      return CsvFormat.formatRows(records, start, end, names, delimiter)
    } catch {
      // the first record that cannot be written, named (the lines before it are fine)
      for (let i = start; i < end; i++) {
        try {
          CsvFormat.formatRows(records, i, i + 1, names, delimiter)
        } catch (e) {
          return new EncodeError({ codec: "csv", detail: reasonOf(e), index: i, record: records[i] })
        }
      }
      return ""
    }
  }
  const decodeAll = (payload: Payload, origin?: Origin): ReadonlyArray<unknown> | DecodeError => {
    const text = toText(payload)
    if (text === undefined) return decodeError("csv", "the payload is not valid UTF-8", payload, origin)
    const layout = makeLayout(typed === undefined ? columns : undefined, typed, undefined)
    const startLine = origin?.location?.line ?? 1
    const parser = new CsvParser(delimiter, 0, startLine)
    parser.push(text)
    parser.end()
    const fields: Array<string> = []
    const error: BuildError = { detail: "", column: 0, field: undefined }
    const out: Array<unknown> = []
    for (;;) {
      const n = parser.next(fields)
      if (n === END || n === NEED_MORE) return out
      if (n < 0) {
        return decodeError("csv", parser.errorMessage, payload, origin, { location: { ...origin?.location, line: parser.errorLine } })
      }
      const record = build(layout, fields, n, error)
      if (record === undefined) {
        return decodeError("csv", error.detail, payload, origin, {
          location: { ...origin?.location, line: parser.recordLine, column: error.column },
          field: error.field
        })
      }
      out.push(record)
    }
  }
  return {
    name: "csv",
    contentType: "text/csv",
    columns: () => columns,
    useColumns: (c) => {
      setColumns([...c])
    },
    columnsFrom,
    header: () => CsvFormat.formatHeader(columns ?? [], delimiter),
    delimiter,
    encode: (record) => encodeBatch([record], 0, 1),
    encodeBatch,
    decode: singleOf("csv", "record", decodeAll),
    decodeAll
  }
}
