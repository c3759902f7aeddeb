/**
 * COPY of `insert` / `replace` batches for the `postgres` sink: the statements, one complete COPY
 * of a batch, and streaming batches into the COPY left open across the batches of a transaction
 * (no round trip per batch, and the server parses one batch while the next is encoded; a rejected
 * row surfaces when the COPY ends). Records are encoded as COPY text or binary; batches of CSV
 * bytes go to `COPY ... (FORMAT csv)` as they are, batches of PostgreSQL COPY text to `COPY ...
 * FROM STDIN`.
 */
import { Effect } from "effect"
import pg from "pg"
import type * as Batch from "../../../Batch.ts"
import type { Column } from "./catalog.ts"
import { copyInputOf, type Encoding, encodingOf, type StageTag } from "./copy.ts"
import { encodeBinaryRows } from "./copyBinary.ts"
import { encodeTextRows } from "./copyText.ts"
import type { Passed, Prepared } from "./rows.ts"
import type { Session } from "./session.ts"

/** Rows per chunk written to a streamed COPY. */
const STREAM_SLICE = 8192

/**
 * Where a commit protocol's rows go: `into` prepares the table (e.g. creates the staging table)
 * and returns its quoted name — run only when no COPY is open; `tag` gives the constant staging
 * columns of a column set (staged exactly-once), or `undefined`.
 */
export interface Destination {
  readonly into: Effect.Effect<string, unknown>
  readonly tag: (names: ReadonlyArray<string>) => StageTag | undefined
}

/** `COPY into (names[, "__df_epoch", "__df_shape"]) FROM STDIN`, binary when asked. */
export const insertStatement = (into: string, names: ReadonlyArray<string>, binary: boolean, tag: StageTag | undefined): string => {
  const list = names.map((n) => pg.escapeIdentifier(n)).join(", ")
  const cols = tag === undefined ? list : `${list}${list.length > 0 ? ", " : ""}"__df_epoch", "__df_shape"`
  return `COPY ${into} (${cols}) FROM STDIN${binary ? " (FORMAT binary)" : ""}`
}

/**
 * The COPY of CSV bytes: PostgreSQL's CSV reader with the batch's delimiter; an empty field is
 * `""` in a string column (`FORCE_NOT_NULL`, as the csv source reads it) and NULL in a typed one
 * (`FORCE_NULL`, quoted or not). Staged, the constant columns come from the transaction's
 * settings (see {@link openPassed}).
 */
export const csvStatement = (into: string, csv: Batch.CsvEncoded): string => {
  const list = csv.columns.map((n) => pg.escapeIdentifier(n)).join(", ")
  const notNull = csv.columns.filter((_, i) => !csv.emptyIsNull[i]).map((n) => pg.escapeIdentifier(n))
  const isNull = csv.columns.filter((_, i) => csv.emptyIsNull[i]).map((n) => pg.escapeIdentifier(n))
  const options = [
    "FORMAT csv",
    `DELIMITER '${csv.delimiter.replace(/'/g, "''")}'`,
    ...(notNull.length > 0 ? [`FORCE_NOT_NULL (${notNull.join(", ")})`] : []),
    ...(isNull.length > 0 ? [`FORCE_NULL (${isNull.join(", ")})`] : [])
  ]
  return `COPY ${into} (${list}) FROM STDIN (${options.join(", ")})`
}

/** The COPY of PostgreSQL COPY text rows, as `COPY ... TO STDOUT` wrote them: the default text format. */
export const copyTextStatement = (into: string, encoded: Batch.PostgresCopyEncoded): string =>
  `COPY ${into} (${encoded.columns.map((n) => pg.escapeIdentifier(n)).join(", ")}) FROM STDIN`

/** The bytes of an encoded batch as a Buffer (no copy). */
export const bytesOf = (encoded: Batch.Encoded): Buffer =>
  Buffer.from(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.byteLength)

/**
 * Prepares the destination of a COPY of passed bytes and returns its statement (staged: the tag
 * goes to the transaction's settings, which the staging table's constant columns default to).
 */
const openPassed = (session: Session, dest: Destination, encoded: Passed["encoded"]) =>
  Effect.gen(function*() {
    const into = yield* dest.into
    const tag = dest.tag(encoded.columns)
    if (tag !== undefined) {
      yield* session.query(`SELECT set_config('dataflare.epoch', $1, true), set_config('dataflare.shape', $2, true)`, [
        String(tag.epoch),
        String(tag.shape)
      ])
    }
    return encoded.format === "text/csv" ? csvStatement(into, encoded) : copyTextStatement(into, encoded)
  })

/** What tells COPYs of passed bytes apart: a batch with another key needs another COPY. */
const passedKey = (encoded: Passed["encoded"], shape: number): string =>
  encoded.format === "text/csv"
    ? `csv\0${shape}\0${encoded.delimiter}\0${encoded.columns.join("\0")}\0${encoded.emptyIsNull.join(",")}`
    : `pgcopy\0${shape}\0${encoded.columns.join("\0")}`

const encodeChunk = (p: Prepared, cols: ReadonlyArray<Column>, binary: boolean, tag: StageTag | undefined, from: number, to: number) => {
  const names = cols.map((c) => c.name)
  if (binary) return encodeBinaryRows(p.images, names, cols.map((c) => c.oid), undefined, false, from, to, tag)
  const encodings: Array<Encoding> = cols.map(encodingOf)
  return encodeTextRows(p.images, names, encodings, undefined, false, from, to, tag)
}

/** Streams a batch into the session's open COPY (opening one, or another when the batch's columns differ). */
export const streamRows = (session: Session, dest: Destination, p: Prepared, cols: ReadonlyArray<Column>, binary: boolean) => {
  const names = cols.map((c) => c.name)
  const tag = dest.tag(names)
  const key = `${binary ? "binary" : "text"}\0${tag?.shape ?? 0}\0${names.join("\0")}`
  const chunks: Array<Effect.Effect<Buffer, unknown>> = []
  for (let i = 0; i < p.images.length; i += STREAM_SLICE) {
    const to = Math.min(p.images.length, i + STREAM_SLICE)
    chunks.push(Effect.try({ try: () => encodeChunk(p, cols, binary, tag, i, to), catch: (e) => e }))
  }
  return session.streamChunks(key, binary, Effect.map(dest.into, (into) => insertStatement(into, names, binary, tag)), chunks)
}

/** Streams passed bytes into the session's open COPY (see {@link streamRows}). */
export const streamPassed = (session: Session, dest: Destination, w: Passed) => {
  const key = passedKey(w.encoded, dest.tag(w.encoded.columns)?.shape ?? 0)
  return session.streamChunks(key, false, openPassed(session, dest, w.encoded), [Effect.succeed(bytesOf(w.encoded))])
}

/** One complete COPY of a batch's rows; resolves with the row count. */
export const copyOnce = (session: Session, dest: Destination, p: Prepared, cols: ReadonlyArray<Column>, format: "text" | "binary") =>
  Effect.gen(function*() {
    const names = cols.map((c) => c.name)
    const tag = dest.tag(names)
    const into = yield* dest.into
    return yield* session.copy(insertStatement(into, names, format === "binary", tag), copyInputOf(p, cols, format, false, tag))
  })

/** One complete COPY of a batch's passed bytes. */
export const copyPassedOnce = (session: Session, dest: Destination, w: Passed) =>
  Effect.gen(function*() {
    const statement = yield* openPassed(session, dest, w.encoded)
    yield* session.copyBytes(statement, bytesOf(w.encoded))
  })
