/**
 * COPY binary format for the `postgres` sink, for the column types whose binary form the sink
 * writes exactly ({@link binaryExact}: booleans, integers, floats, text types, `bytea`, `uuid`);
 * a batch with a column of any other type is written as COPY text (the values are the same either
 * way). Values are encoded by the column's type OID with `@effect/sql-pg`'s binary codecs, after
 * the coercions COPY text would also accept (a numeric string into an integer or float column, a
 * number into a text column, `\x` hex text into `bytea`, ...). A value that cannot be encoded
 * fails the row with SQLSTATE `22P03` (invalid binary representation), so it is isolated and
 * dead-lettered like a row the server rejects.
 */
import { PgTypes } from "@effect/sql-pg"
import { Result } from "effect"
import type { Column } from "./catalog.ts"
import { isWellFormed, numberText, ValueError } from "./copy.ts"

const OID = { bool: 16, bytea: 17, name: 19, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, float4: 700, float8: 701, bpchar: 1042, varchar: 1043 } as const

const EXACT = new Set<number>(Object.values(OID))

/** True for a column whose type the sink writes in COPY binary exactly. */
export const binaryExact = (column: Column): boolean => EXACT.has(column.oid)

const INTEGER = /^[+-]?\d+$/
const FLOAT = /^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|nan|infinity|inf)$/i
const HEX = /^\\x([0-9a-fA-F]{2})*$/

const fail = (column: string, message: string): never => {
  throw new ValueError(column, message, "22P03")
}

/** Brings a value to what the codec of `oid` expects, as COPY text would read its text. */
const coerce = (v: unknown, oid: number, column: string): unknown => {
  switch (oid) {
    case OID.int2:
    case OID.int4:
    case OID.oid:
      if (typeof v === "string") return INTEGER.test(v.trim()) ? Number(v) : fail(column, `'${v}' is not an integer`)
      return typeof v === "bigint" ? Number(v) : v
    case OID.float4:
    case OID.float8:
      if (typeof v === "string") {
        const t = v.trim().toLowerCase()
        if (!FLOAT.test(t)) return fail(column, `'${v}' is not a number`)
        return t.endsWith("nan") ? Number.NaN : t.endsWith("inf") || t.endsWith("infinity") ? (t.startsWith("-") ? -Infinity : Infinity) : Number(t)
      }
      return typeof v === "bigint" ? Number(v) : v
    case OID.int8:
      if (typeof v === "number" && Number.isInteger(v)) return BigInt(v)
      if (typeof v === "string") return INTEGER.test(v.trim()) ? BigInt(v.trim()) : fail(column, `'${v}' is not an integer`)
      return v
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case OID.name:
      if (typeof v === "string") return isWellFormed(v) ? v : fail(column, "a string with a lone surrogate has no UTF-8 form")
      if (typeof v === "number") return numberText(v)
      if (typeof v === "bigint") return v.toString()
      // as PostgreSQL casts: `true::text` (varchar, char) is `true`, `true::name` is `t`
      if (typeof v === "boolean") return oid === OID.name ? (v ? "t" : "f") : v ? "true" : "false"
      if (v instanceof Date) return v.toISOString()
      return v
    case OID.bool:
      if (typeof v === "string") {
        // boolin: a unique prefix of true / false / yes / no, on / off, 1 / 0, any case, trimmed
        const t = v.trim().toLowerCase()
        if (t.length > 0 && ("true".startsWith(t) || "yes".startsWith(t) || t === "on" || t === "1")) return true
        if (t.length > 0 && ("false".startsWith(t) || "no".startsWith(t) || t === "off" || t === "of" || t === "0")) return false
        return fail(column, `'${v}' is not a boolean`)
      }
      return v === 1 ? true : v === 0 ? false : v
    case OID.bytea:
      if (typeof v === "string") return HEX.test(v) ? Buffer.from(v.slice(2), "hex") : fail(column, "text into bytea must be \\x hex in COPY binary")
      return v
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
 * int4). Throws a `ValueError` (SQLSTATE 22P03) for a value the codecs refuse.
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
      const encoded = PgTypes.encode(coerce(v, oids[c], columns[c]), oids[c])
      if (Result.isFailure(encoded)) fail(columns[c], encoded.failure.message)
      else {
        w.int32(encoded.success.length)
        w.bytes(encoded.success)
      }
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
