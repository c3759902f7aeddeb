/**
 * Refused rows of the `mysql` sink: a statement the server refuses (a value that does not fit, a
 * duplicate key) is rolled back by itself — the transaction goes on — and its rows are written
 * again in halves down to single rows (the kit's `bisect`) to isolate the refused ones; and the
 * `RecordError` that names a refused or unfit record, its key and the reason.
 */
import { Effect } from "effect"
import type mysql from "mysql2"
import type * as Batch from "../../../Batch.ts"
import { RecordError } from "../../../Errors.ts"
import { bisect } from "../../kit/SinkKit.ts"
import { isRowRejection, reasonOf } from "../MysqlError.ts"
import { run } from "./client.ts"
import { isChange, RecordMismatch, type Row, type Shape, type Statement, statements, UnwritableValue } from "./statements.ts"

/** A row the server refused, found among a refused statement's rows. */
export class RowRejected extends Error {
  readonly index: number
  readonly error: unknown
  constructor(index: number, error: unknown) {
    super("row rejected")
    this.index = index
    this.error = error
  }
}

/**
 * Runs statements on `conn`; a refused one is written again in halves down to single rows to
 * isolate the refused rows. Returns the statements that ran (kept for a replay) and the refused
 * records (indexes in `records`); `stopAtFirst`: at the first refused record.
 */
export const execIsolating = (
  conn: mysql.Connection,
  stmts: ReadonlyArray<Statement>,
  records: ReadonlyArray<Row>,
  shape: Shape,
  stopAtFirst: boolean
) =>
  Effect.gen(function*() {
    const executed: Array<Statement> = []
    const rejected: Array<{ readonly index: number; readonly error: unknown }> = []
    for (const s of stmts) {
      const ok = yield* Effect.tryPromise({ try: () => run(conn, s.sql), catch: (e) => e }).pipe(
        Effect.as(true),
        Effect.catchIf(isRowRejection, () => Effect.succeed(false))
      )
      if (ok) {
        executed.push(s)
        continue
      }
      const sub = s.records
      const result = yield* bisect({
        size: sub.length,
        attempt: (from, to) =>
          Effect.suspend(() => {
            const part = statements(sub.slice(from, to).map((i) => records[i]), shape)
            return Effect.tryPromise({
              try: async () => {
                for (const p of part) await run(conn, p.sql)
              },
              catch: (e) => e
            }).pipe(Effect.tap(() => Effect.sync(() => executed.push(...part))), Effect.as(to - from))
          }),
        isRejection: isRowRejection,
        stopAtFirst
      })
      for (const r of result.rejected) rejected.push({ index: sub[r.index], error: r.error })
      if (stopAtFirst && rejected.length > 0) break
    }
    return { executed, rejected }
  })

/**
 * The `RecordError` of a refused row ({@link RowRejected}) or of a record that does not fit the
 * table (`RecordMismatch`, `UnwritableValue`): the table, the record's place in its batch, its key
 * and the reason; `undefined` for any other error.
 */
export const toRecordError = (
  table: string,
  key: ReadonlyArray<string>,
  batch: Batch.Batch<Row>,
  records: ReadonlyArray<Row>,
  e: unknown
): RecordError | undefined => {
  if (!(e instanceof RowRejected || e instanceof RecordMismatch || e instanceof UnwritableValue)) return undefined
  const index = e instanceof UnwritableValue ? -1 : e.index
  const record = index >= 0 ? records[index] : undefined
  const image = record === undefined ? undefined : isChange(record) ? ((record.after ?? record.before) as Row | null) : record
  const keyText = image === undefined || image === null || key.length === 0 ? "" : ` (key ${key.map((k) => `${k}=${String(image[k])}`).join(", ")})`
  const reason = e instanceof RowRejected ? reasonOf(e.error).message : e.message
  return new RecordError({
    detail: `table '${table}'${index >= 0 ? `, record ${index + 1} of the batch` : ""}${keyText}: ${reason}`,
    ...(e instanceof RecordMismatch && e.field !== undefined ? { field: e.field } : {}),
    ...(e instanceof UnwritableValue ? { field: e.field } : {}),
    ...(record !== undefined ? { record } : {}),
    ...(index >= 0
      ? {
        place: {
          index,
          size: records.length,
          ...(batch.origin !== undefined ? { source: batch.origin.source, position: batch.origin.position } : {})
        }
      }
      : {})
  })
}
