/**
 * The write transaction of a `postgres` sink instance, shared by the three commit protocols: the
 * target table's description, the write session, the batches written since the transaction began
 * (kept to write them again after a lost session or a rejected streamed row), and the two ways of
 * writing a batch — streamed into the transaction's open COPY, or one COPY under a savepoint with
 * row isolation ("carefully"). Retries of transient failures live here too.
 */
import { Effect } from "effect"
import type * as Connector from "../../../Connector.ts"
import { ConnectorError, RecordError, RejectedError } from "../../../Errors.ts"
import * as Retry from "../../kit/Retry.ts"
import type { SinkConfig } from "../PostgresConfig.ts"
import { classify, configurationError, isConnectionLoss, isRetryable } from "../PostgresError.ts"
import type { Column } from "./catalog.ts"
import { binaryExact } from "./copyBinary.ts"
import { deadLetter, deadLetterWriter, isRowRejection, type Isolation, rowError, writeIsolated } from "./isolate.ts"
import { batchColumns, decodePassed, isPassed, type Passed, type Prepared, type Row, runsOf, sizeOf, slicePrepared, type Written } from "./rows.ts"
import type { Session } from "./session.ts"
import { copyOnce, copyPassedOnce, type Destination, streamPassed, streamRows } from "./stream.ts"
import { mergeRows } from "./upsert.ts"

export const CONNECTOR = "postgres"

/**
 * Rows of streamed batches after which the open transaction commits early (without a checkpoint),
 * or, prepared, ends its segment, so that the batches kept in memory for a replay stay bounded.
 */
export const INTERMEDIATE_COMMIT_ROWS = 200_000

/** The sink's target table and settings, shared by every part of the writer. */
export interface Target {
  readonly config: SinkConfig
  readonly context: Connector.OpenContext
  /** The table as configured (`schema.table` or `table`). */
  readonly table: string
  /** The table, quoted. */
  readonly quoted: string
  readonly schemaName: string | undefined
  readonly tableName: string
  readonly mode: "insert" | "upsert" | "replace"
  readonly workflow: string
  /** `node#instance`: the row of this instance in the checkpoint table. */
  readonly nodeKey: string
  readonly format: "text" | "binary"
  /** The checkpoint table, quoted. */
  readonly cpTable: string
  /** The table's columns (empty until it exists). */
  columns: ReadonlyArray<Column>
  /** The conflict columns of `upsert` (the primary key unless configured). */
  key: ReadonlyArray<string>
}

/** What an error means for a retry: the server's transient errors are retried, a row's error never. */
const retryClass = (e: unknown): Retry.Classification => (!(e instanceof RecordError) && isRetryable(e) ? "retry" : "fail")

/**
 * A record field the table has no column for, as the server would report it (SQLSTATE `42703`,
 * undefined column) — treated as a rejection of the records holding it, not of the whole write.
 */
class NotAColumn extends Error {
  readonly code = "42703"
}

/** The runs of records with the same fields of a batch (the batch itself when it has one shape). */
const partsOf = (p: Prepared): ReadonlyArray<Prepared> => {
  const runs = runsOf(p)
  return runs.length === 1 ? [p] : runs.map(([from, to]) => slicePrepared(p, from, to))
}

/** The open write transaction and what it wrote. */
export class WriteTx {
  readonly target: Target
  readonly session: Session
  /** Batches of the open transaction (or segment), kept to write them again. */
  pending: Array<Written> = []
  /** Rows of `pending`. */
  pendingRows = 0
  /** A streamed COPY was rejected: until the transaction ends, one COPY per batch under a savepoint. */
  careful = false
  /** Checkpoints drive commits (`restore` or `preCommit` was called); otherwise each batch commits by itself. */
  checkpointing = false
  private readonly isolation: Isolation
  private readonly policy: Retry.Policy

  constructor(target: Target, session: Session) {
    this.target = target
    this.session = session
    const config = target.config
    this.isolation = {
      table: target.table,
      node: target.context.node,
      onError: config.on_error ?? "fail",
      deadLetter: config.dead_letter,
      onDeadLetters: target.context.onDeadLetters,
      query: (text) => session.query(text)
    }
    this.isolation.letters = deadLetterWriter(this.isolation)
    this.policy = Retry.policy(config.retry)
  }

  /** A statement on the write session. */
  q(text: string, params?: ReadonlyArray<unknown>) {
    return this.session.query(text, params)
  }

  /** `BEGIN`. */
  readonly beginTx = Effect.suspend(() => this.q("BEGIN")).pipe(Effect.tap(() =>
    Effect.sync(() => {
      this.session.inTx = true
      this.session.stream = undefined
    })
  ))

  /** `COMMIT`; the transaction's batches are no longer kept. */
  readonly commitTx = Effect.suspend(() => this.q("COMMIT")).pipe(Effect.tap(() =>
    Effect.sync(() => {
      this.session.inTx = false
      this.careful = false
      this.clearPending()
    })
  ))

  /** `ROLLBACK` of the open transaction, if any. */
  readonly rollbackTx = Effect.suspend(() => (this.session.inTx ? this.q("ROLLBACK") : Effect.void)).pipe(Effect.tap(() =>
    Effect.sync(() => {
      this.session.inTx = false
    })
  ))

  clearPending(): void {
    this.pending = []
    this.pendingRows = 0
  }

  /** The columns of a run of records (see `runsOf`), or the message naming a field without a column. */
  columnsOf(p: Prepared): ReadonlyArray<Column> | string {
    const t = this.target
    return batchColumns(p, t.columns, t.key, t.mode === "upsert", t.table)
  }

  /**
   * A run whose records hold a field the table has no column for: never written without it (its
   * value would be lost). Fails with a `RecordError` naming the field, the table and the first record
   * (`on_error: fail`), or sets the run's records aside and writes its deletes (change records,
   * which need only the key). Returns the rows written.
   */
  private refuseRun(dest: Destination, run: Prepared, message: string): Effect.Effect<number, unknown> {
    return Effect.gen({ self: this }, function*() {
      const error = new NotAColumn(message)
      const refused = run.images.flatMap((row, i) => (run.ops === undefined || run.ops[i] === "u" ? [{ row, error }] : []))
      yield* this.reject(refused)
      if (run.ops === undefined || refused.length === run.images.length) return 0
      const deletes = run.images.flatMap((_, i) => (run.ops?.[i] === "d" ? [i] : []))
      const rest: Prepared = { images: deletes.map((i) => run.images[i]), ops: deletes.map(() => "d" as const) }
      const cols = this.columnsOf(rest)
      if (typeof cols === "string") return yield* Effect.fail(configurationError(CONNECTOR, "write", cols))
      return yield* writeIsolated(this.isolation, rest, (part) => this.writeRaw(dest, part, cols))
    })
  }

  /**
   * The COPY format of a batch with these columns: binary when asked and every column's type has
   * a binary form the sink writes exactly, text otherwise.
   */
  formatOf(cols: ReadonlyArray<Column>): "text" | "binary" {
    return this.target.format === "binary" && cols.every(binaryExact) ? "binary" : "text"
  }

  /** Writes rows inside the open transaction (no savepoint): a COPY to `dest`, or the upsert merge. */
  private writeRaw(dest: Destination, p: Prepared, cols: ReadonlyArray<Column>): Effect.Effect<number, unknown> {
    const t = this.target
    const format = this.formatOf(cols)
    return t.mode === "upsert" ? mergeRows(this.session, t.quoted, t.key, p, cols, format) : copyOnce(this.session, dest, p, cols, format)
  }

  /**
   * Writes a batch of rows, one run of records with the same fields at a time (see `runsOf`), each
   * under a savepoint; on a row rejection, isolates the rejected rows.
   */
  writeRows(dest: Destination, p: Prepared): Effect.Effect<number, unknown> {
    return Effect.gen({ self: this }, function*() {
      let written = 0
      for (const run of partsOf(p)) {
        if (run.images.length === 0) continue
        const cols = this.columnsOf(run)
        written += typeof cols === "string"
          ? yield* this.refuseRun(dest, run, cols)
          : yield* writeIsolated(this.isolation, run, (part) => this.writeRaw(dest, part, cols))
      }
      return written
    })
  }

  /**
   * Writes CSV bytes with one COPY under a savepoint; when the server rejects them, writes the
   * decoded records instead (row isolation, dead letters, the source's own record errors).
   */
  writePassed(dest: Destination, w: Passed): Effect.Effect<number, unknown> {
    return Effect.gen({ self: this }, function*() {
      yield* this.q("SAVEPOINT df_part")
      const ok = yield* copyPassedOnce(this.session, dest, w).pipe(
        Effect.as(true),
        Effect.catchIf(isRowRejection, () => Effect.succeed(false))
      )
      if (ok) {
        yield* this.q("RELEASE SAVEPOINT df_part")
        return sizeOf(w)
      }
      yield* this.q("ROLLBACK TO SAVEPOINT df_part")
      yield* this.q("RELEASE SAVEPOINT df_part")
      const decoded = decodePassed(w)
      if ("error" in decoded) return yield* Effect.fail(decoded.error)
      return yield* this.writeRows(dest, decoded)
    })
  }

  /**
   * Rows a check found the target would refuse: fails the write with a `RecordError` naming the
   * first (`on_error: fail`), or sends them to the dead letters. The caller removes them.
   */
  reject(rows: ReadonlyArray<{ readonly row: Row; readonly error: unknown }>): Effect.Effect<void, unknown> {
    if (rows.length === 0) return Effect.void
    if (this.isolation.onError === "fail") return Effect.fail(rowError(this.target.table, rows[0].row, rows[0].error))
    return deadLetter(this.isolation, rows)
  }

  /** Writes a batch carefully: one COPY under a savepoint, rejected rows isolated. */
  writeOne(dest: Destination, w: Written): Effect.Effect<number, unknown> {
    return isPassed(w) ? this.writePassed(dest, w) : this.writeRows(dest, w)
  }

  /** Writes the kept batches again, carefully (a new transaction after a loss or a rejection). */
  replay(dest: Destination): Effect.Effect<void, unknown> {
    return Effect.suspend(() => Effect.forEach(this.pending, (w) => this.writeOne(dest, w), { discard: true }))
  }

  /** Streams a batch into the open COPY; `false` when a row of the transaction's COPY was rejected. */
  stream(dest: Destination, w: Written): Effect.Effect<boolean, unknown> {
    return Effect.gen({ self: this }, function*() {
      if (isPassed(w)) return yield* streamPassed(this.session, dest, w)
      for (const run of partsOf(w)) {
        const cols = this.columnsOf(run)
        // a field without a column: the batch is written carefully, where the record is refused
        if (typeof cols === "string") return yield* Effect.fail(new NotAColumn(cols))
        yield* streamRows(this.session, dest, run, cols, this.formatOf(cols) === "binary")
      }
    }).pipe(Effect.as(true), Effect.catchIf((e) => isRowRejection(e) || e instanceof NotAColumn, () => Effect.succeed(false)))
  }

  /** Ends the open COPY; `false` when the server rejected one of its rows. */
  readonly endStream: Effect.Effect<boolean, unknown> = Effect.suspend(() => this.session.endCopy).pipe(
    Effect.as(true),
    Effect.catchIf(isRowRejection, () => Effect.succeed(false))
  )

  /** What a failed attempt leaves: a lost session is dropped, an open transaction rolled back. */
  private recover(error: unknown): Effect.Effect<void> {
    if (isConnectionLoss(error)) return this.session.disconnect
    if (!this.session.inTx) return Effect.void
    return Effect.ignore(this.q("ROLLBACK")).pipe(Effect.andThen(Effect.sync(() => {
      this.session.inTx = false
    })))
  }

  /**
   * Retries `effect` after transient errors (the kit's `Retry`: exponential backoff with jitter),
   * rolling back in between.
   */
  retrying<A>(operation: string, effect: Effect.Effect<A, unknown>): Effect.Effect<A, ConnectorError | RecordError> {
    return Retry.retrying(effect, { policy: this.policy, classify: retryClass, recover: (e) => this.recover(e) }).pipe(
      Effect.mapError((e) => (e instanceof RecordError ? e : classify(CONNECTOR, operation)(e)))
    )
  }

  /** {@link retrying} for operations that write no rows themselves (a row error there is a rejection). */
  retryingTx<A>(operation: string, effect: Effect.Effect<A, unknown>): Effect.Effect<A, ConnectorError> {
    return this.retrying(operation, effect).pipe(
      Effect.mapError((e) =>
        e instanceof RecordError
          ? new ConnectorError({ connector: CONNECTOR, operation, reason: new RejectedError({ message: e.message }) })
          : e
      )
    )
  }

  /** {@link retrying} on another session (the control session of `commit` / `restore`). */
  retryingOn<A>(session: Session, operation: string, effect: Effect.Effect<A, unknown>): Effect.Effect<A, ConnectorError> {
    return Retry.retrying(effect, {
      policy: this.policy,
      classify: retryClass,
      recover: (error) => (isConnectionLoss(error) ? session.disconnect : session.query("ROLLBACK").pipe(Effect.ignore))
    }).pipe(Effect.mapError((e) => classify(CONNECTOR, operation)(e)))
  }

  /**
   * A `preCommit` retried after transient errors. When a retry finds the session lost (no open
   * transaction), the commit may have reached the server before the connection went: `landed`
   * checks that, and then `done` settles the writer's state instead of running `body` again.
   */
  preCommitRetried(landed: Effect.Effect<boolean, unknown>, done: () => void, body: Effect.Effect<void, unknown>) {
    let first = true
    return this.retryingTx(
      "preCommit",
      Effect.gen({ self: this }, function*() {
        if (!first && !this.session.inTx && (yield* landed)) return done()
        first = false
        yield* body
      })
    )
  }
}
