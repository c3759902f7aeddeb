/**
 * Values of the `mysql` source: what each column type becomes in a record, from the server's text
 * (see `client.ts`), exactly.
 *
 * | MySQL type | record value |
 * |---|---|
 * | `TINYINT` ... `INT`, `YEAR` | number |
 * | `BIGINT` (signed or unsigned) | `bigint` (or its digits with `bigint: string`) |
 * | `DECIMAL` | string, as the server prints it (`12.50`) |
 * | `FLOAT`, `DOUBLE` | number (the server's shortest text of the value) |
 * | `DATE`, `DATETIME(n)`, `TIMESTAMP(n)` | string as the server prints it (`2024-02-29 13:45:00.123456`; `TIMESTAMP` in UTC) — a zero date fails or is `null` (`zero_dates`) |
 * | `TIME(n)` | string (`-838:59:59.000000` allowed) |
 * | `CHAR`, `VARCHAR`, `TEXT`, `ENUM`, `SET` | string |
 * | `BINARY`, `VARBINARY`, `BLOB`, `BIT(n)` | `Uint8Array` |
 * | `JSON` | string: the document's text as stored (numbers keep every digit) |
 * | `GEOMETRY` | `Uint8Array`: the server's internal value (4-byte SRID, then WKB) |
 */
import type mysql from "mysql2"

/** MySQL column type codes (`mysql2` `Types`). */
const LONGLONG = 8
const DATE = 10
const NEWDATE = 14
const DATETIME = 12
const TIMESTAMP = 7

/** A value the source refuses to turn into a record value (a zero date with `zero_dates: fail`). */
export class ValueError extends Error {
  readonly column: string
  constructor(column: string, message: string) {
    super(message)
    this.column = column
  }
}

/** Turns one column's driver value into the record's value. */
export type Converter = (value: unknown) => unknown

/** How values are turned into record values. */
export interface ValueOptions {
  readonly bigint: "bigint" | "string"
  readonly zeroDates: "fail" | "null"
}

/** A zero date or one with a zero month or day (`0000-00-00`, `2020-00-10 00:00:00`). */
export const isZeroDate = (s: string): boolean => /^\d{4}-(00-\d\d|\d\d-00)/u.test(s)

const bytes = (v: unknown): unknown => (Buffer.isBuffer(v) ? new Uint8Array(v) : v)

/** The converter of a column, from its field packet. */
export const converterOf = (field: mysql.FieldPacket, options: ValueOptions): Converter => {
  const type = field.columnType ?? field.type
  if (type === LONGLONG) {
    return options.bigint === "string"
      ? (v) => v
      : (v) => (typeof v === "string" ? BigInt(v) : typeof v === "number" ? BigInt(v) : v)
  }
  if (type === DATE || type === NEWDATE || type === DATETIME || type === TIMESTAMP) {
    const name = field.name
    return (v) => {
      if (typeof v !== "string" || !isZeroDate(v)) return v
      if (options.zeroDates === "null") return null
      throw new ValueError(name, `column '${name}' holds the zero date '${v}', which is no date (set zero_dates: null to read it as null)`)
    }
  }
  return bytes
}

/** Whether a result has a `GEOMETRY` column (read with {@link geometryTypeCast}). */
export const hasGeometry = (types: ReadonlyArray<string>): boolean =>
  types.some((t) => /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)$/iu.test(t))

/** A `typeCast` that keeps `GEOMETRY` values as their bytes (the driver would parse them, losing the SRID). */
export const geometryTypeCast = (field: { readonly type: string; readonly buffer: () => Buffer | null }, next: () => unknown): unknown =>
  field.type === "GEOMETRY" ? field.buffer() : next()

