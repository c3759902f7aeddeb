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

/** How one column's values are written. */
export type Encoding = "json" | "array" | "bytea" | "scalar"

/** The encoding of a column by its catalog type. */
export const encodingOf = (column: Column): Encoding =>
  column.typname === "json" || column.typname === "jsonb"
    ? "json"
    : column.element !== null
    ? "array"
    : column.typname === "bytea"
    ? "bytea"
    : "scalar"

const NEEDS_ESCAPE = /[\\\n\r\t]/

/** Escapes a value for the COPY text format. */
const escapeCopy = (s: string): string =>
  NEEDS_ESCAPE.test(s) ? s.replace(/[\\\n\r\t]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t")) : s

/** `JSON.stringify` that writes bigints as numbers (as strings beyond 2^53) and byte arrays as hex strings. */
export const toJson = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    typeof v === "bigint"
      ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString())
      : v instanceof Uint8Array
      ? Buffer.from(v).toString("hex")
      : v)

const hex = (bytes: Uint8Array): string => "\\x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

const scalarText = (v: unknown): string => {
  switch (typeof v) {
    case "string":
      return v
    case "number":
    case "bigint":
      return String(v)
    case "boolean":
      return v ? "t" : "f"
    default:
      if (v instanceof Date) return v.toISOString()
      if (v instanceof Uint8Array) return hex(v)
      return toJson(v)
  }
}

const arrayLiteral = (v: unknown): string => {
  if (!Array.isArray(v)) return scalarText(v)
  let out = "{"
  for (let i = 0; i < v.length; i++) {
    if (i > 0) out += ","
    const e: unknown = v[i]
    if (e === null || e === undefined) out += "NULL"
    else if (Array.isArray(e)) out += arrayLiteral(e)
    else out += `"${scalarText(e).replace(/["\\]/g, "\\$&")}"`
  }
  return out + "}"
}

/** One value as COPY text (already escaped). */
export const encodeValue = (value: unknown, encoding: Encoding): string => {
  if (value === null || value === undefined) return "\\N"
  switch (encoding) {
    case "json":
      return escapeCopy(toJson(value))
    case "array":
      return escapeCopy(arrayLiteral(value))
    case "bytea":
      return escapeCopy(value instanceof Uint8Array ? hex(value) : String(value))
    case "scalar":
      return escapeCopy(scalarText(value))
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
