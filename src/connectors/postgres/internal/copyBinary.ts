/**
 * COPY binary format for the `postgres` sink: values are encoded by the target column's type OID
 * with `@effect/sql-pg`'s binary codecs, after the usual JavaScript-side coercions (a number into
 * a `bigint` column, a string into a `timestamptz` column, ...). A value that cannot be encoded
 * fails the row with SQLSTATE `22P03` (invalid binary representation), so it is isolated and
 * dead-lettered like a row the server rejects.
 */
import { PgTypes } from "@effect/sql-pg"
import { Result } from "effect"

const OID = { bool: 16, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, float4: 700, float8: 701, bpchar: 1042, varchar: 1043, date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700 } as const

/** A value the binary codecs refused, as a data exception the sink treats as a row rejection. */
export class BinaryEncodeError extends Error {
  readonly code = "22P03"
  readonly column: string
  constructor(column: string, message: string) {
    super(`column '${column}': ${message}`)
    this.column = column
  }
}

/** Brings common JavaScript shapes to what the codec of `oid` expects. */
const coerce = (v: unknown, oid: number): unknown => {
  switch (oid) {
    case OID.int2:
    case OID.int4:
    case OID.oid:
    case OID.float4:
    case OID.float8:
      return typeof v === "string" || typeof v === "bigint" ? Number(v) : v
    case OID.int8:
      return typeof v === "number" && Number.isInteger(v) ? BigInt(v) : typeof v === "string" && /^-?\d+$/.test(v) ? BigInt(v) : v
    case OID.numeric:
      return typeof v === "number" || typeof v === "bigint" ? String(v) : v
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
      return typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" || typeof v === "boolean" ? String(v) : v
    case OID.timestamp:
    case OID.timestamptz:
      return typeof v === "string" ? new Date(v) : v
    case OID.date:
      return v instanceof Date ? v.toISOString().slice(0, 10) : v
    case OID.bool:
      return v === "t" || v === "true" ? true : v === "f" || v === "false" ? false : v
    default:
      return v
  }
}

/** A growable byte buffer. */
class Writer {
  buffer = Buffer.allocUnsafe(1 << 16)
  length = 0
  private ensure(n: number) {
    if (this.length + n <= this.buffer.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + n))
    this.buffer.copy(next, 0, 0, this.length)
    this.buffer = next
  }
  int16(v: number) {
    this.ensure(2)
    this.length = this.buffer.writeInt16BE(v, this.length)
  }
  int32(v: number) {
    this.ensure(4)
    this.length = this.buffer.writeInt32BE(v, this.length)
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length)
    this.buffer.set(b, this.length)
    this.length += b.length
  }
  take(): Buffer {
    return this.buffer.subarray(0, this.length)
  }
}

/** The COPY binary header (signature, flags, header extension length). */
export const HEADER = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)])

/** The COPY binary trailer. */
export const TRAILER = Buffer.from([0xff, 0xff])

const textEncoder = new TextEncoder()

/**
 * Tuples for rows `[from, to)`; `ops` appends the staging columns (`__df_op` text, `__df_seq`
 * int4). Throws {@link BinaryEncodeError} for a value the codecs refuse.
 */
export const encodeBinaryRows = (
  rows: ReadonlyArray<{ readonly [k: string]: unknown }>,
  columns: ReadonlyArray<string>,
  oids: ReadonlyArray<number>,
  ops: ReadonlyArray<"u" | "d"> | undefined,
  staged: boolean,
  from: number,
  to: number,
  tag?: { readonly epoch: number; readonly shape: number }
): Buffer => {
  const w = new Writer()
  const n = columns.length
  for (let r = from; r < to; r++) {
    const row = rows[r]
    w.int16(n + (staged ? 2 : 0) + (tag !== undefined ? 2 : 0))
    for (let c = 0; c < n; c++) {
      const v = row[columns[c]]
      if (v === null || v === undefined) {
        w.int32(-1)
        continue
      }
      const encoded = PgTypes.encode(coerce(v, oids[c]), oids[c])
      if (Result.isFailure(encoded)) throw new BinaryEncodeError(columns[c], encoded.failure.message)
      w.int32(encoded.success.length)
      w.bytes(encoded.success)
    }
    if (staged) {
      const op = textEncoder.encode(ops === undefined ? "u" : ops[r])
      w.int32(op.length)
      w.bytes(op)
      w.int32(4)
      w.int32(r)
    }
    if (tag !== undefined) {
      w.int32(8)
      w.int32(Math.floor(tag.epoch / 0x1_0000_0000))
      w.int32(tag.epoch >>> 0 | 0)
      w.int32(4)
      w.int32(tag.shape)
    }
  }
  return w.take()
}
