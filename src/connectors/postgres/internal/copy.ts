/**
 * COPY machinery for the `postgres` sink: how values are written as COPY text (by the target
 * column's type), and streaming rows through `pg-copy-streams` on a `pg` client (the text rows
 * themselves are encoded by `copyText.ts`, binary ones by `copyBinary.ts`).
 */
import { pipeline } from "node:stream/promises"
import type pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import type { Column } from "./catalog.ts"
import { encodeBinaryRows, HEADER, TRAILER } from "./copyBinary.ts"
import { encodeTextRows } from "./copyText.ts"

/**
 * How one column's values are written. `array-semicolon`: an array of `box`, whose elements an
 * array literal separates with `;` (its `pg_type.typdelim`; a `,` is inside every box). `text` /
 * `text-array`: a scalar (array) column of a type whose cast from `boolean` PostgreSQL writes
 * `true` / `false` ({@link TEXTUAL}), where a boolean is written so — `scalar` writes `t` / `f`,
 * which a `boolean` column reads and `true::name` gives.
 */
export type Encoding = "json" | "array" | "array-semicolon" | "bytea" | "scalar" | "text" | "text-array"

/**
 * The types whose cast from `boolean` gives `true` / `false` (`true::text`, `::varchar`,
 * `::char(n)`, `::citext`), not `t` / `f` (boolean's own text, which `true::name` gives).
 */
export const TEXTUAL: ReadonlySet<string> = new Set(["text", "varchar", "bpchar", "citext"])

/** The encoding of a column by its catalog type. */
export const encodingOf = (column: Column): Encoding =>
  column.typname === "json" || column.typname === "jsonb"
    ? "json"
    : column.element === "box"
    ? "array-semicolon"
    : column.element !== null
    ? (TEXTUAL.has(column.element) ? "text-array" : "array")
    : column.typname === "bytea"
    ? "bytea"
    : TEXTUAL.has(column.typname)
    ? "text"
    : "scalar"

/**
 * A value that cannot go into its column as it is (an object into a non-JSON column, a number
 * JSON cannot hold, a string that is not valid UTF-16, ...): a data exception the sink treats as
 * a row rejection (isolated, dead-lettered), with the column named. `code` is the SQLSTATE the
 * server would give: `22P02` (invalid text representation) for COPY text, `22P03` (invalid
 * binary representation) for COPY binary.
 */
export class ValueError extends Error {
  readonly code: string
  readonly column: string
  constructor(column: string, message: string, code = "22P02") {
    super(`column '${column}': ${message}`)
    this.column = column
    this.code = code
  }
}

const NEEDS_ESCAPE = /[\\\n\r\t]/

/** Escapes a value for the COPY text format. */
const escapeCopy = (s: string): string =>
  NEEDS_ESCAPE.test(s) ? s.replace(/[\\\n\r\t]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t")) : s

/** A lone surrogate: a string UTF-8 cannot hold as it is. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** True when `s` is valid UTF-16 (no lone surrogate), so that it has an exact UTF-8 form. */
export const isWellFormed = (s: string): boolean => !LONE_SURROGATE.test(s)

/** A number in shortest round-trip form, as PostgreSQL reads it back: `-0`, `NaN`, `Infinity`, `-Infinity` kept. */
export const numberText = (v: number): string => (v === 0 && 1 / v < 0 ? "-0" : String(v))

/** Hex of bytes in PostgreSQL's `bytea` hex form (`\x...`). */
const hex = (bytes: Uint8Array): string => "\\x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

const isPlainObject = (v: unknown): v is { readonly [k: string]: unknown } => {
  if (v === null || typeof v !== "object") return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/**
 * JSON text of a value going into a `json` / `jsonb` column (as a whole or nested): bigints as
 * their digits, byte arrays as hex strings, dates as ISO strings; a number JSON cannot hold
 * (`NaN`, `±Infinity`) or a value of another kind fails — unless `lenient` (for messages and
 * dead letters), which writes those as strings. `undefined` fields are left out, as
 * `JSON.stringify` does.
 */
export const toJson = (value: unknown, lenient = false): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      if (!Number.isFinite(value)) {
        if (lenient) return JSON.stringify(String(value))
        throw new TypeError(`${value} has no JSON form`)
      }
      return numberText(value)
    case "bigint":
      return value.toString()
    case "boolean":
      return value ? "true" : "false"
    case "object": {
      if (value === null) return "null"
      if (Array.isArray(value)) return "[" + value.map((e) => (e === undefined ? "null" : toJson(e, lenient))).join(",") + "]"
      if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex"))
      if (value instanceof Date) return JSON.stringify(value)
      if (isPlainObject(value)) {
        const parts: Array<string> = []
        for (const k of Object.keys(value)) {
          const v = value[k]
          if (v !== undefined) parts.push(JSON.stringify(k) + ":" + toJson(v, lenient))
        }
        return "{" + parts.join(",") + "}"
      }
      if (lenient) return JSON.stringify(String(value))
      throw new TypeError(`a ${value.constructor?.name ?? "object"} has no JSON form`)
    }
    default:
      if (lenient) return JSON.stringify(String(value))
      throw new TypeError(`a ${typeof value} has no JSON form`)
  }
}

/** What a value is, for messages. */
const kindOf = (v: unknown): string =>
  Array.isArray(v) ? "an array" : v instanceof Uint8Array ? "a byte array" : isPlainObject(v) ? "an object" : `a ${typeof v}`

/**
 * Text of a scalar value (the server parses it with the column's type); a boolean is `true` /
 * `false` when `textual` (a text-like column: PostgreSQL's cast), else `t` / `f`. Throws a
 * {@link ValueError} for a value no scalar column takes.
 */
const scalarText = (v: unknown, column: string, textual = false): string => {
  switch (typeof v) {
    case "string":
      if (!isWellFormed(v)) throw new ValueError(column, "a string with a lone surrogate has no UTF-8 form")
      return v
    case "number":
      return numberText(v)
    case "bigint":
      return v.toString()
    case "boolean":
      return textual ? (v ? "true" : "false") : v ? "t" : "f"
    default:
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw new ValueError(column, "an invalid Date")
        return v.toISOString()
      }
      throw new ValueError(column, `${kindOf(v)} goes only into a ${v instanceof Uint8Array ? "bytea" : "json, jsonb or array"} column`)
  }
}

/** An array element: quoted scalar text, `NULL`, a nested array, or an object's JSON text (json[] / jsonb[]). */
const elementText = (e: unknown, column: string, delimiter: string, textual: boolean): string => {
  if (e === null || e === undefined) return "NULL"
  if (Array.isArray(e)) return arrayLiteral(e, column, delimiter, textual)
  let text: string
  if (e instanceof Uint8Array) text = hex(e)
  else if (isPlainObject(e)) text = jsonOf(e, column)
  else text = scalarText(e, column, textual)
  return `"${text.replace(/["\\]/g, "\\$&")}"`
}

const arrayLiteral = (v: ReadonlyArray<unknown>, column: string, delimiter: string, textual: boolean): string => {
  let out = "{"
  for (let i = 0; i < v.length; i++) {
    if (i > 0) out += delimiter
    out += elementText(v[i], column, delimiter, textual)
  }
  return out + "}"
}

const jsonOf = (value: unknown, column: string): string => {
  let text: string
  try {
    text = toJson(value)
  } catch (e) {
    throw new ValueError(column, e instanceof Error ? e.message : String(e))
  }
  if (!isWellFormed(text)) throw new ValueError(column, "a string with a lone surrogate has no UTF-8 form")
  return text
}

/**
 * One value as COPY text (already escaped), by the column's encoding: strings verbatim (the
 * server parses them with the column's type: JSON text into `json`, an array literal into an
 * array column, `\x` hex into `bytea`), booleans `t` / `f` — `true` / `false` into a text-like
 * column ({@link TEXTUAL}, as PostgreSQL's cast writes them) — numbers in shortest round-trip form,
 * bigints as digits, dates as ISO UTC, byte arrays as `\x` hex (`bytea`), JavaScript arrays as
 * array literals, objects and arrays into `json` / `jsonb` as JSON text. Throws a
 * {@link ValueError} naming `column` for a value that cannot go into it.
 */
export const encodeValue = (value: unknown, encoding: Encoding, column: string): string => {
  if (value === null || value === undefined) return "\\N"
  if (typeof value === "string") return escapeCopy(scalarText(value, column))
  switch (encoding) {
    case "json":
      return escapeCopy(jsonOf(value, column))
    case "array":
    case "text-array":
    case "array-semicolon":
      if (!Array.isArray(value)) throw new ValueError(column, `${kindOf(value)} cannot go into an array column (a JavaScript array or an array literal string can)`)
      return escapeCopy(arrayLiteral(value, column, encoding === "array-semicolon" ? ";" : ",", encoding === "text-array"))
    case "bytea":
      if (!(value instanceof Uint8Array)) throw new ValueError(column, `${kindOf(value)} cannot go into a bytea column (a Uint8Array or \\x hex text can)`)
      return escapeCopy(hex(value))
    case "scalar":
    case "text":
      return escapeCopy(scalarText(value, column, encoding === "text"))
  }
}

/** The constant staging columns of an exactly-once write: the writer's epoch and the batch's column set. */
export interface StageTag {
  readonly epoch: number
  readonly shape: number
}

/** What a COPY streams. */
export interface CopyInput {
  readonly rows: ReadonlyArray<{ readonly [k: string]: unknown }>
  readonly columns: ReadonlyArray<string>
  readonly encodings: ReadonlyArray<Encoding>
  /** Type OIDs of the columns (binary format). */
  readonly oids: ReadonlyArray<number>
  /** Change ops of the rows (staging table only). */
  readonly ops: ReadonlyArray<"u" | "d"> | undefined
  /** Into the staging table: append `__df_op` and `__df_seq`. */
  readonly staged: boolean
  /** Into the exactly-once staging table: append `__df_epoch` and `__df_shape`. */
  readonly tag?: StageTag | undefined
  readonly format: "text" | "binary"
}

/**
 * The {@link CopyInput} of a batch's prepared rows (`images`, and `ops` for change records) with
 * columns `cols`: into the target or the exactly-once staging table (`tag`), or into the upsert
 * staging table (`staged`).
 */
export const copyInputOf = (
  p: { readonly images: CopyInput["rows"]; readonly ops: CopyInput["ops"] },
  cols: ReadonlyArray<Column>,
  format: "text" | "binary",
  staged: boolean,
  tag?: StageTag | undefined
): CopyInput => ({
  rows: p.images,
  columns: cols.map((c) => c.name),
  encodings: cols.map(encodingOf),
  oids: cols.map((c) => c.oid),
  ops: p.ops,
  format,
  staged,
  tag
})

const SLICE = 8192

/**
 * Streams rows into `statement` (`COPY ... FROM STDIN`, with `(FORMAT binary)` for binary) and
 * resolves with the row count. Text is encoded in slices while the server parses the previous
 * one; binary is encoded before the COPY starts, so a value the codecs refuse fails the rows
 * before any byte is sent.
 */
export const copyRows = async (client: pg.Client, statement: string, input: CopyInput): Promise<number> => {
  const { rows, columns } = input
  const binary: Array<Buffer> | undefined = input.format === "binary" ? [HEADER] : undefined
  if (binary !== undefined) {
    for (let i = 0; i < rows.length; i += SLICE) {
      binary.push(encodeBinaryRows(rows, columns, input.oids, input.ops, input.staged, i, Math.min(rows.length, i + SLICE), input.tag))
    }
    binary.push(TRAILER)
  }
  const stream = client.query(copyFrom(statement))
  async function* chunks() {
    if (binary !== undefined) {
      yield* binary
      return
    }
    for (let i = 0; i < rows.length; i += SLICE) {
      yield encodeTextRows(rows, columns, input.encodings, input.ops, input.staged, i, Math.min(rows.length, i + SLICE), input.tag)
    }
  }
  await pipeline(chunks, stream)
  return Number(stream.rowCount ?? 0)
}

/**
 * A COPY left open across batches: `write` sends a chunk and waits only while the socket is
 * full (backpressure), so the client encodes the next batch while the server parses this one;
 * `end` completes the COPY and resolves with its row count, or rejects with the server's error
 * (a rejected row fails the whole COPY). Binary streams get the header first and the trailer at
 * the end.
 */
export class CopyStream {
  private error: unknown = undefined
  private readonly stream: ReturnType<typeof copyFrom>
  /** What the COPY writes (statement and constant columns): batches with another key need another COPY. */
  readonly key: string
  private readonly binary: boolean
  constructor(client: pg.Client, statement: string, key: string, binary: boolean) {
    this.key = key
    this.binary = binary
    this.stream = client.query(copyFrom(statement))
    this.stream.on("error", (e) => {
      this.error ??= e
    })
    if (binary) this.stream.write(HEADER)
  }

  write(chunk: Buffer): Promise<void> {
    if (this.error !== undefined) return Promise.reject(this.error)
    if (this.stream.write(chunk)) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.stream.off("error", onError)
        resolve()
      }
      const onError = (e: unknown) => {
        this.stream.off("drain", onDrain)
        reject(e)
      }
      this.stream.once("drain", onDrain)
      this.stream.once("error", onError)
    })
  }

  end(): Promise<number> {
    if (this.error !== undefined) return Promise.reject(this.error)
    return new Promise<number>((resolve, reject) => {
      this.stream.once("finish", () => resolve(Number(this.stream.rowCount ?? 0)))
      this.stream.once("error", reject)
      if (this.binary) this.stream.write(TRAILER)
      this.stream.end()
    })
  }
}
