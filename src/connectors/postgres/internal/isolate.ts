/**
 * Row isolation for the `postgres` sink: a batch the server rejects (SQLSTATE class 22, data
 * exception, or 23, integrity constraint violation) is bisected under savepoints until the
 * rejected rows are found; each then fails the write with a `RecordError` naming the row and the
 * reason (`on_error: fail`) or goes, with the reason, to the dead-letter NDJSON file
 * (`on_error: dead_letter`) while the rest is written.
 */
import { Buffer } from "node:buffer"
import { appendFile, stat } from "node:fs/promises"
import { Clock, Effect } from "effect"
import { RecordError } from "../../../Errors.ts"
import { reasonOf, sqlState } from "../PostgresError.ts"
import { toJson } from "./copy.ts"
import { type Prepared, type Row, slicePrepared } from "./rows.ts"

/** True for an error the server raised for a row's value (SQLSTATE class 22 or 23). */
export const isRowRejection = (e: unknown): boolean => {
  const code = sqlState(e)
  return code !== undefined && (code.startsWith("22") || code.startsWith("23"))
}

/** What isolation needs to know. */
export interface Isolation {
  readonly table: string
  readonly node: string
  readonly onError: "fail" | "dead_letter"
  readonly deadLetterPath: string | undefined
  /** The largest the dead-letter file may grow (`dead_letter.max_bytes`). */
  readonly deadLetterMaxBytes: number
  /** Told how many rows were appended to the dead-letter file (`OpenContext.onDeadLetters`). */
  readonly onDeadLetters?: ((count: number) => void) | undefined
  /** A statement on the session of the open transaction (savepoints). */
  readonly query: (text: string) => Effect.Effect<unknown, unknown>
}

/** A rejected row as a `RecordError` naming the table, the reason (with its SQLSTATE) and the row. */
export const rowError = (table: string, row: Row, error: unknown): RecordError => {
  const text = toJson(row, true)
  return new RecordError({
    detail: `${table}: ${reasonOf(error).message}; row: ${text.length > 500 ? text.slice(0, 500) + "..." : text}`,
    record: row
  })
}

/** The default of `dead_letter.max_bytes`: 1 GiB. */
export const DEAD_LETTER_MAX_BYTES = 1024 * 1024 * 1024

/** The size of a file, 0 when it does not exist yet. */
const sizeOf = (path: string) =>
  Effect.tryPromise({
    try: () => stat(path).then((s) => s.size, (e: unknown) => (e !== null && typeof e === "object" && "code" in e && e.code === "ENOENT" ? 0 : Promise.reject(e))),
    catch: (e) => e
  })

/**
 * Appends rejected rows, with the reason and SQLSTATE, to the dead-letter file; fails with a
 * `RecordError` (naming the file, its limit and the first row) instead when the file would grow
 * past `dead_letter.max_bytes` — an input rejected wholesale must not fill the disk quietly.
 */
export const deadLetter = (iso: Isolation, rows: ReadonlyArray<{ readonly row: Row; readonly error: unknown }>) =>
  Effect.gen(function*() {
    const at = new Date(yield* Clock.currentTimeMillis).toISOString()
    const text = rows.map(({ error, row }) =>
      toJson({ table: iso.table, node: iso.node, at, sqlstate: sqlState(error) ?? null, error: reasonOf(error).message, record: row }, true)
    ).join("\n") + "\n"
    const path = iso.deadLetterPath
    if (path === undefined) return
    const size = yield* sizeOf(path)
    if (size + Buffer.byteLength(text, "utf8") > iso.deadLetterMaxBytes) {
      const first = rows[0]
      return yield* Effect.fail(
        new RecordError({
          detail: `${iso.table}: the dead-letter file ${path} would grow past dead_letter.max_bytes (${iso.deadLetterMaxBytes} bytes; it holds ${size}): so many rows are rejected that the input or the table is probably wrong; fix that, or raise dead_letter.max_bytes. First row not set aside: ${reasonOf(first.error).message}`,
          record: first.row
        })
      )
    }
    yield* Effect.tryPromise({ try: () => appendFile(path, text), catch: (e) => e })
    iso.onDeadLetters?.(rows.length)
  })

/**
 * Writes `p` with `writeRaw` under a savepoint; on a row rejection, bisects to find the rejected
 * rows (each half under its own savepoint). Returns the rows written.
 */
export const writeIsolated = (
  iso: Isolation,
  p: Prepared,
  writeRaw: (part: Prepared) => Effect.Effect<number, unknown>
): Effect.Effect<number, unknown> =>
  Effect.gen(function*() {
    if (p.images.length === 0) return 0
    const bad: Array<{ row: Row; error: unknown }> = []
    const attempt = (part: Prepared): Effect.Effect<number, unknown> =>
      Effect.gen(function*() {
        yield* iso.query("SAVEPOINT df_part")
        const result = yield* writeRaw(part).pipe(
          Effect.map((n) => ({ ok: true as const, n })),
          Effect.catchIf(isRowRejection, (error) => Effect.succeed({ ok: false as const, error }))
        )
        if (result.ok) {
          yield* iso.query("RELEASE SAVEPOINT df_part")
          return result.n
        }
        yield* iso.query("ROLLBACK TO SAVEPOINT df_part")
        yield* iso.query("RELEASE SAVEPOINT df_part")
        if (part.images.length === 1) {
          bad.push({ row: part.images[0], error: result.error })
          if (iso.onError === "fail") return yield* Effect.fail(result.error)
          return 0
        }
        const mid = part.images.length >> 1
        const left = yield* attempt(slicePrepared(part, 0, mid))
        if (iso.onError === "fail" && bad.length > 0) return left
        return left + (yield* attempt(slicePrepared(part, mid, part.images.length)))
      })
    const written = yield* attempt(p).pipe(
      Effect.catchIf(
        (e) => bad.length > 0 && iso.onError === "fail" && isRowRejection(e),
        (error) => Effect.fail(rowError(iso.table, bad[0].row, error))
      )
    )
    if (bad.length > 0) yield* deadLetter(iso, bad)
    return written
  })
