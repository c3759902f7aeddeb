/**
 * Row isolation for the `postgres` sink: a batch the server rejects (SQLSTATE class 22, data
 * exception, or 23, integrity constraint violation) is bisected under savepoints (the connector
 * kit's `SinkKit.bisect`, each half under its own savepoint) until the rejected rows are found; each then fails the write with a `RecordError` naming the row and the
 * reason (`on_error: fail`) or goes, with the reason, to the dead-letter NDJSON file
 * (`on_error: dead_letter`, the kit's `DeadLetter` file and envelope) while the rest is written.
 */
import { Effect } from "effect"
import { RecordError } from "../../../Errors.ts"
import * as DeadLetter from "../../kit/DeadLetter.ts"
import * as SinkKit from "../../kit/SinkKit.ts"
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
  readonly deadLetter: DeadLetter.DeadLetterTarget | undefined
  /** Told how many rows were appended to the dead-letter file (`OpenContext.onDeadLetters`). */
  readonly onDeadLetters?: ((count: number) => void) | undefined
  /** The dead-letter writer ({@link deadLetterWriter}), set once the isolation is made. */
  letters?: DeadLetter.Writer | undefined
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

/**
 * The dead-letter writer of the sink (the kit's envelope, `table` first and each row's SQLSTATE):
 * `undefined` unless `on_error: dead_letter`.
 */
export const deadLetterWriter = (iso: Isolation): DeadLetter.Writer | undefined =>
  iso.onError === "dead_letter" && iso.deadLetter !== undefined
    ? DeadLetter.writer({
      connector: "postgres",
      node: iso.node,
      config: iso.deadLetter,
      context: { table: iso.table },
      describe: iso.table,
      report: iso.onDeadLetters
    })
    : undefined

/**
 * Appends rejected rows, with the reason and SQLSTATE, to the dead-letter file (fails with a
 * `RecordError` naming the file, its limit and the first row when it would grow past
 * `dead_letter.max_bytes`).
 */
export const deadLetter = (iso: Isolation, rows: ReadonlyArray<{ readonly row: Row; readonly error: unknown }>) =>
  iso.letters === undefined
    ? Effect.void
    : iso.letters(rows.map(({ error, row }) => ({ record: row, error: reasonOf(error).message, fields: { sqlstate: sqlState(error) ?? null } })))

/**
 * Writes `p` with `writeRaw`, each part under a savepoint; on a row rejection, bisects (the kit's
 * `SinkKit.bisect`) to find the rejected rows. Returns the rows written.
 */
export const writeIsolated = (
  iso: Isolation,
  p: Prepared,
  writeRaw: (part: Prepared) => Effect.Effect<number, unknown>
): Effect.Effect<number, unknown> =>
  Effect.gen(function*() {
    if (p.images.length === 0) return 0
    const attempt = (from: number, to: number): Effect.Effect<number, unknown> =>
      Effect.gen(function*() {
        yield* iso.query("SAVEPOINT df_part")
        const part = from === 0 && to === p.images.length ? p : slicePrepared(p, from, to)
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
        return yield* Effect.fail(result.error)
      })
    const { rejected, written } = yield* SinkKit.bisect({
      size: p.images.length,
      attempt,
      isRejection: isRowRejection,
      stopAtFirst: iso.onError === "fail"
    })
    if (rejected.length === 0) return written
    const bad = rejected.map((r) => ({ row: p.images[r.index], error: r.error }))
    if (iso.onError === "fail") return yield* Effect.fail(rowError(iso.table, bad[0].row, bad[0].error))
    yield* deadLetter(iso, bad)
    return written
  })
