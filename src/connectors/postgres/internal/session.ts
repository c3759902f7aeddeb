/**
 * A session of the `postgres` sink: one `pg` connection, opened on first use and opened again
 * after it was lost, with whether a transaction is open on it and the COPY currently streaming
 * into that transaction. Nothing else runs on a session while its COPY is open: a statement ends
 * the COPY first.
 *
 * `pg` reports a dead connection with an error that has no SQLSTATE; the session remembers which
 * client died and turns such an error into a `ConnectionError` (retryable, and `recover` drops
 * the connection).
 *
 * A statement whose caller was interrupted (a part's shard moving, a stop) keeps running on the
 * server, and `pg` queues everything sent after it — the close's `ROLLBACK`, the disconnect. So
 * before the session sends anything else, and when {@link Session.abort} is asked, a statement
 * left running is cancelled on the server (`pg_cancel_backend` from a side connection;
 * `pg_terminate_backend` when the cancel does not end it within {@link CANCEL_GRACE_MS}): a
 * statement waiting on a lock someone else holds no longer holds the close up until that lock
 * is released.
 */
import { Effect, type Redacted } from "effect"
import pg from "pg"
import { ConnectionError, ConnectorError } from "../../../Errors.ts"
import { sqlState } from "../PostgresError.ts"
import { pgConfig } from "./client.ts"
import { type CopyInput, copyRows, CopyStream } from "./copy.ts"

const CONNECTOR = "postgres"

/** How long a cancelled statement may take to end before its backend is terminated. */
export const CANCEL_GRACE_MS = 5_000

/**
 * Fixed settings of every sink session, so that text is read the same way whatever the server's
 * or the database's defaults: ISO dates, `postgres` interval input (`IntervalStyle` also decides
 * how ambiguous interval text such as `-1 2:03:04` is read), UTC for text without an offset read
 * into `timestamptz`.
 */
export const SESSION_OPTIONS = "-c DateStyle=ISO -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex"

/** One connection of the sink, its transaction status and its open COPY. */
export class Session {
  private client: pg.Client | undefined = undefined
  private readonly broken = new WeakSet<pg.Client>()
  /** A transaction is open (`BEGIN` ran, no `COMMIT` / `ROLLBACK` since). */
  inTx = false
  /** The COPY streaming into the open transaction, if any. */
  stream: CopyStream | undefined = undefined
  private readonly connectionString: Redacted.Redacted<string>
  /** Promises of work on the client whose callers were interrupted before they settled. */
  private readonly abandoned = new Set<Promise<unknown>>()

  constructor(connectionString: Redacted.Redacted<string>) {
    this.connectionString = connectionString
  }

  /** An error of client `c`, as a `ConnectionError` when `c` died. */
  lost(c: pg.Client): (e: unknown) => unknown {
    return (e) =>
      this.broken.has(c) && sqlState(e) === undefined
        ? new ConnectorError({ connector: CONNECTOR, operation: "write", reason: new ConnectionError({ message: "connection lost", cause: e }) })
        : e
  }

  /** The connected client (connecting if needed). */
  readonly connected: Effect.Effect<pg.Client, unknown> = Effect.suspend(() => {
    if (this.client !== undefined) return Effect.succeed(this.client)
    return Effect.tryPromise({
      try: async () => {
        const c = new pg.Client({ ...pgConfig(this.connectionString), options: SESSION_OPTIONS })
        c.on("error", () => this.broken.add(c))
        c.on("end", () => this.broken.add(c))
        await c.connect()
        return c
      },
      catch: (e) => e
    }).pipe(Effect.tap((c) =>
      Effect.sync(() => {
        this.client = c
      })
    ))
  })

  /** Closes the connection (a transaction open on it is rolled back by the server). */
  readonly disconnect: Effect.Effect<void> = Effect.promise(async () => {
    await this.cancelAbandoned()
    const c = this.client
    this.client = undefined
    this.inTx = false
    this.stream = undefined
    if (c !== undefined) await c.end().catch(() => undefined)
  })

  /** Completes the open COPY, if any; fails with its error (a rejected row fails the whole COPY). */
  readonly endCopy: Effect.Effect<void, unknown> = Effect.suspend(() => {
    const s = this.stream
    const c = this.client
    if (s === undefined || c === undefined) return Effect.void
    this.stream = undefined
    return this.tracked(c, () => s.end())
  })

  /**
   * Stops what the connection is doing for a caller that gave up (a sink closing after a failure
   * or an interruption): a statement or COPY still under way on it is cancelled on the server and
   * waited for, so that the `ROLLBACK` and disconnect that follow are not queued behind it.
   */
  readonly abort: Effect.Effect<void> = Effect.promise(() => this.cancelAbandoned(this.stream !== undefined))

  /**
   * Runs `f` (work on client `c`) as an interruptible effect. When the caller is interrupted
   * before `f`'s promise settles, the promise is remembered as abandoned: the next use of the
   * session cancels it first.
   */
  private tracked<A>(c: pg.Client, f: () => Promise<A>): Effect.Effect<A, unknown> {
    return Effect.tryPromise({
      try: (signal) => {
        const p = f()
        const abandon = () => {
          const settled = p.then(() => undefined, () => undefined)
          this.abandoned.add(settled)
          void settled.then(() => this.abandoned.delete(settled))
        }
        signal.addEventListener("abort", abandon, { once: true })
        void p.then(() => signal.removeEventListener("abort", abandon), () => signal.removeEventListener("abort", abandon))
        return p
      },
      catch: this.lost(c)
    })
  }

  /**
   * Cancels on the server what abandoned callers left running (or, with `busy`, whatever runs),
   * and waits for it to end: `pg_cancel_backend`, then `pg_terminate_backend` after
   * {@link CANCEL_GRACE_MS}. A connection that cannot be reached any more is left to `end`.
   */
  private async cancelAbandoned(busy = false): Promise<void> {
    const c = this.client
    if (c === undefined || (this.abandoned.size === 0 && !busy)) return
    const pid: unknown = Reflect.get(c, "processID")
    if (typeof pid !== "number") return
    const settled = Promise.all([...this.abandoned])
    const signal = async (fn: "pg_cancel_backend" | "pg_terminate_backend") => {
      const side = new pg.Client(pgConfig(this.connectionString))
      side.on("error", () => {})
      try {
        await side.connect()
        await side.query(`SELECT ${fn}($1)`, [pid])
      } catch {
        // the server is gone: the connection's own end reports it
      } finally {
        await side.end().catch(() => undefined)
      }
    }
    await signal("pg_cancel_backend")
    const ended = await Promise.race([settled.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), CANCEL_GRACE_MS).unref())])
    if (!ended) {
      this.broken.add(c)
      await signal("pg_terminate_backend")
      await settled
    }
  }

  /**
   * Runs a statement. An open COPY is ended first: the paths that commit end it themselves (and
   * handle its rejection); here a failed COPY only leaves the transaction aborted, which the
   * statement then reports.
   */
  query(text: string, params?: ReadonlyArray<unknown>): Effect.Effect<pg.QueryResult, unknown> {
    return Effect.gen({ self: this }, function*() {
      if (this.abandoned.size > 0) yield* Effect.promise(() => this.cancelAbandoned())
      if (this.stream !== undefined) yield* Effect.ignore(this.endCopy)
      const c = yield* this.connected
      return yield* this.tracked(c, () => c.query(text, params as Array<unknown>))
    })
  }

  /** One complete COPY of `input` (see `copyRows`); resolves with the row count. */
  copy(statement: string, input: CopyInput): Effect.Effect<number, unknown> {
    return Effect.gen({ self: this }, function*() {
      if (this.abandoned.size > 0) yield* Effect.promise(() => this.cancelAbandoned())
      const c = yield* this.connected
      return yield* this.tracked(c, () => copyRows(c, statement, input))
    })
  }

  /** One complete COPY of raw COPY bytes (CSV or text rows written as they are). */
  copyBytes(statement: string, bytes: Buffer): Effect.Effect<void, unknown> {
    return Effect.gen({ self: this }, function*() {
      if (this.abandoned.size > 0) yield* Effect.promise(() => this.cancelAbandoned())
      const c = yield* this.connected
      yield* this.tracked(c, () => {
        const s = new CopyStream(c, statement, "", false)
        return s.write(bytes).then(() => s.end())
      })
    })
  }

  /**
   * Sends a chunk to the COPY open under `key`, first ending an open COPY with another key and
   * opening one with `open()`'s statement when none is open. Waits only while the socket is full.
   */
  streamChunks<E, R>(
    key: string,
    binary: boolean,
    open: Effect.Effect<string, E, R>,
    chunks: Iterable<Effect.Effect<Buffer, unknown>>
  ): Effect.Effect<void, unknown, R> {
    return Effect.gen({ self: this }, function*() {
      if (this.abandoned.size > 0) yield* Effect.promise(() => this.cancelAbandoned())
      if (this.stream !== undefined && this.stream.key !== key) yield* this.endCopy
      if (this.stream === undefined) {
        const statement = yield* open
        const c = yield* this.connected
        this.stream = new CopyStream(c, statement, key, binary)
      }
      const s = this.stream
      const c = yield* this.connected
      for (const chunk of chunks) {
        const buf = yield* chunk
        yield* this.tracked(c, () => s.write(buf))
      }
    })
  }
}
