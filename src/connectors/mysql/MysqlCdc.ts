/**
 * The `mysql-cdc` source: row changes of MySQL/MariaDB tables read from the binlog (ROW format)
 * with `@vlasky/zongji`, as change records `{ op, table, before, after, timestamp }`.
 *
 * - **Positions**: binlog file and offset of the transaction being read, and how many of its
 *   changes were handed out (`{ file, pos, skip }`), so a restore resumes exactly: nothing lost,
 *   nothing twice (see `internal/binlog.ts`). The binlog is the log: nothing is acknowledged to
 *   the server, whose `binlog_expire_logs_seconds` / `expire_logs_days` must keep the files a
 *   restore needs.
 * - **First run**: `start: end` (default) begins at the server's current position when the
 *   source opens; `start: beginning` at the oldest binlog the server has; `snapshot: true` reads
 *   the tables first (`op: read` records, `internal/cdcSnapshot.ts`) and streams from the
 *   snapshot's binlog position.
 * - **Server**: `log_bin` on and `binlog_format = ROW` are checked when the source opens; the
 *   user needs `REPLICATION SLAVE`, `REPLICATION CLIENT` and `SELECT` on the tables.
 * - **Values**: as the `mysql` source's (`BIGINT` as `bigint`, `DECIMAL` / dates / JSON as text,
 *   bytes as `Uint8Array`; zero dates fail or are `null`).
 * - **Lag**: the binlog bytes between the reader's position and the end of the server's binlog
 *   (`SHOW BINARY LOGS`), measured at the first read and every 10 s, shown by `dataflare run`.
 * - **Backpressure**: changes wait in the kit's `BufferedSource` (`kit/bufferedSource.ts`); when
 *   it is full the binlog socket is paused (the server waits) and resumed once the pipeline took
 *   it down: memory stays bounded when the pipeline is slower than the server. Position marks (the
 *   position moving past commits and other tables' transactions) travel through it beside the
 *   changes and are dropped from the batches, which keep the position after them.
 * - zongji is imported when the source opens, so the CLI does not load it otherwise.
 *
 * @since 0.4.0
 */
import { Clock, Effect, type Scope } from "effect"
import type mysql from "mysql2"
import * as Batch from "../../Batch.ts"
import * as BufferedSource from "../kit/bufferedSource.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as Connector from "../../Connector.ts"
import { type ConnectorError, RecordError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import { type BinlogPosition, BinlogPositionSchema, BinlogStream, type SnapshotState, type ChangeRecord as Change, fromPosition, toPosition } from "./internal/binlog.ts"
import { SnapshotReader } from "./internal/cdcSnapshot.ts"
import { databaseOf, run, session, splitName, tableResourceName } from "./internal/client.ts"
import { ValueError } from "./internal/values.ts"
import { CdcConfig } from "./MysqlConfig.ts"
import { classify, configurationError } from "./MysqlError.ts"

/** The most rows one binlog rows event carries with the default `binlog_row_event_max_size`. */
const ROWS_EVENT_MAX_ROWS = 8192

const CONNECTOR = "mysql-cdc"

/**
 * A change record of `mysql-cdc`: `op` (`insert` | `update` | `delete`), `table`
 * (`database.table`), `before` / `after` row images (`null` where there is none) and `timestamp`
 * (the event's time, ms since the epoch, second precision). A `mysql` or `postgres` sink with
 * `mode: upsert` applies them.
 *
 * @category models
 * @since 0.4.0
 */
export type ChangeRecord = Change

/** `database -> tables` of the config (unqualified names in the connection's database). */
const tablesOf = (config: CdcConfig): { readonly [db: string]: Array<string> } | string => {
  const out: { [db: string]: Array<string> } = {}
  const fallback = databaseOf(config)
  for (const t of config.tables) {
    const [db, name] = splitName(t)
    const database = db ?? fallback
    if (database === undefined) return `table '${t}' names no database and the connection string names none: write it as database.table`
    ;(out[database] ??= []).push(name)
  }
  return out
}

/** Refuses a server whose binlog is off or not in ROW format. */
const checkServer = (conn: mysql.Connection, operation: string) =>
  Effect.gen(function*() {
    const rows = yield* Effect.tryPromise({
      try: () => run<Array<{ logBin: string | number; format: string }>>(conn, "SELECT @@log_bin AS logBin, @@binlog_format AS format"),
      catch: classify(CONNECTOR, operation)
    })
    const { format, logBin } = rows[0]
    if (String(logBin) !== "1" && String(logBin).toUpperCase() !== "ON") {
      return yield* configurationError(CONNECTOR, operation, "the server's binary log is off (start it with --log-bin and --binlog-format=ROW)")
    }
    if (String(format).toUpperCase() !== "ROW") {
      return yield* configurationError(CONNECTOR, operation, `the server's binlog_format is ${format}: mysql-cdc needs ROW (SET GLOBAL binlog_format = 'ROW', or --binlog-format=ROW)`)
    }
  })

/** The server's current binlog position, or its oldest binlog's start. */
const startPosition = (conn: mysql.Connection, start: "end" | "beginning") =>
  Effect.tryPromise({
    try: async (): Promise<BinlogPosition> => {
      if (start === "beginning") {
        const logs = await run<Array<{ Log_name: string }>>(conn, "SHOW BINARY LOGS")
        return { file: logs[0].Log_name, pos: 4, skip: 0 }
      }
      let rows: Array<{ File: string; Position: string | number }>
      try {
        rows = await run(conn, "SHOW MASTER STATUS")
      } catch {
        rows = await run(conn, "SHOW BINARY LOG STATUS")
      }
      return { file: rows[0].File, pos: Number(rows[0].Position), skip: 0 }
    },
    catch: classify(CONNECTOR, "open")
  })

/** How often the lag is measured. */
const LAG_INTERVAL_MS = 10_000

/** Binlog bytes from `position` to the end of the server's binlog. */
const lagBytes = (conn: mysql.Connection, position: BinlogPosition) =>
  Effect.tryPromise({
    try: async () => {
      const logs = await run<Array<{ Log_name: string; File_size: string | number }>>(conn, "SHOW BINARY LOGS")
      let bytes = 0
      for (const l of logs) {
        if (l.Log_name === position.file) bytes += Math.max(0, Number(l.File_size) - position.pos)
        else if (l.Log_name > position.file) bytes += Number(l.File_size)
      }
      return bytes
    },
    catch: (e) => e
  })

/**
 * Opens a reader (used by the definition's `open`).
 *
 * @category constructors
 * @since 0.4.0
 */
export const makeReader = Effect.fnUntraced(function*(
  config: CdcConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<ChangeRecord>, ConnectorError, Scope.Scope> {
  const tables = tablesOf(config)
  if (typeof tables === "string") return yield* configurationError(CONNECTOR, "open", tables)
  const conn = yield* session(CONNECTOR, "open", config)
  yield* checkServer(conn, "open")
  const started = yield* startPosition(conn, config.start ?? "end")
  let position: BinlogPosition = config.snapshot === true ? { ...started, snapshot: { table: 0, key: null } } : started
  const batchSize = config.batch_size ?? context.batchSize
  const options = { bigint: config.bigint ?? "bigint", zeroDates: config.zero_dates ?? "fail" } as const
  // the snapshot's order of tables, qualified
  const snapshotTables = Object.entries(tables).flatMap(([db, names]) => names.map((n) => `${db}.${n}`))
  /** A first run's snapshot: the stream starts at its binlog position (a resumed one keeps the first's). */
  let freshSnapshot = config.snapshot === true
  let snapshot: SnapshotReader | undefined
  const endSnapshot = Effect.suspend(() => {
    const s = snapshot
    snapshot = undefined
    return s === undefined ? Effect.void : Effect.promise(() => s.close())
  })
  yield* Effect.addFinalizer(() => endSnapshot)
  let stream: BinlogStream | undefined
  let lag: Connector.SourceLag | undefined
  let lagAt = Number.NEGATIVE_INFINITY
  const stop = Effect.suspend(() => {
    const s = stream
    stream = undefined
    return s === undefined ? Effect.void : Effect.promise(() => s.stop())
  })
  yield* Effect.addFinalizer(() => stop)

  // changes, and position marks (`undefined`: the position moved without a change, see
  // internal/binlog.ts), each with the position after it; pausing it pauses the binlog socket
  const buffer = BufferedSource.make<ChangeRecord | undefined, BinlogPosition>({
    node: context.node,
    capacity: Math.max(1000, batchSize * 4),
    // a paused connection holds back the packets after the rows event in hand, whose rows are all
    // offered: at most binlog_row_event_max_size (8 KiB by default) of row images of a byte or
    // more, and the position mark after it
    overshoot: ROWS_EVENT_MAX_ROWS + 1,
    lingerMs: 200,
    pause: () => stream?.pause(),
    resume: () => stream?.resume(),
    advance: (handles) => {
      position = handles[handles.length - 1]
      return toPosition(position)
    },
    acknowledge: () => Effect.void,
    seek: () => stop,
    initial: toPosition(position)
  })

  /** Starts the binlog dump at `position`, into the emptied buffer. */
  const startStream = Effect.gen(function*() {
    yield* buffer.reader.seek(toPosition(position))
    const s = new BinlogStream(
      { credentials: config, serverId: config.server_id, tables, start: position, ...options },
      {
        offer: buffer.offer,
        fail: (e, at) =>
          buffer.fail(
            e instanceof ValueError
              ? new RecordError({ detail: `binlog at ${at.file}:${at.pos}: ${e.message}`, field: e.column })
              : classify(CONNECTOR, "read")(e)
          )
      }
    )
    stream = s
    yield* Effect.tryPromise({ try: () => s.start(), catch: classify(CONNECTOR, "read") })
  })

  /** The next rows of the snapshot in progress (`position.snapshot`). */
  const readSnapshot = (state: SnapshotState, max: number) =>
    Effect.gen(function*() {
      if (snapshot === undefined) {
        const s = new SnapshotReader(config, snapshotTables, options, Math.max(1000, batchSize * 2))
        snapshot = s
        const at = yield* Effect.tryPromise({ try: () => s.begin(), catch: (e) => e })
        if (freshSnapshot) position = { file: at.file, pos: at.pos, skip: 0, snapshot: state }
        freshSnapshot = false
      }
      const s = snapshot
      const now = yield* Clock.currentTimeMillis
      const next = yield* Effect.tryPromise({ try: () => s.next(state, max, now), catch: (e) => e })
      position = { file: position.file, pos: position.pos, skip: position.skip, ...(next.state !== undefined ? { snapshot: next.state } : {}) }
      if (next.state === undefined) yield* endSnapshot
      return Batch.make<ChangeRecord>(next.records, { origin: { source: context.node, position: toPosition(position) }, readAt: now })
    }).pipe(
      Effect.mapError((e) =>
        e instanceof ValueError ? new RecordError({ detail: `snapshot: ${e.message}`, field: e.column }) : classify(CONNECTOR, "read")(e)
      )
    )

  /** The next changes of the binlog: the buffer's batch without its marks. */
  const readStream = (max: number) =>
    Effect.gen(function*() {
      if (stream === undefined) yield* startStream
      const batch = (yield* buffer.reader.readBatch(max))!
      // nothing waits for a checkpoint (the binlog is the log, nothing is acknowledged): released
      // from the buffer's in-flight bookkeeping at once, so a run without checkpoints never stalls
      if (batch.end > batch.start) yield* buffer.reader.commit(batch.origin!.position)
      const readAt = yield* Clock.currentTimeMillis
      if (readAt - lagAt >= LAG_INTERVAL_MS) {
        lagAt = readAt
        // a failed measurement keeps the last one (the read goes on)
        const bytes = yield* Effect.option(lagBytes(conn, position))
        if (bytes._tag === "Some") lag = { value: bytes.value, unit: "bytes" }
      }
      return withoutMarks(batch)
    })

  return {
    readBatch: (max: number): Effect.Effect<Batch.Batch<ChangeRecord>, ConnectorError | RecordError> => {
      const n = Math.max(1, Math.min(max, batchSize))
      return position.snapshot !== undefined ? readSnapshot(position.snapshot, n) : readStream(n)
    },
    position: Effect.sync(() => toPosition(position)),
    lag: () => lag,
    readAhead: buffer.readAhead,
    seek: (p) =>
      Effect.gen(function*() {
        const decoded = fromPosition(p)
        if (decoded === undefined) return yield* configurationError(CONNECTOR, "seek", `not a position of this source: ${JSON.stringify(p)}`)
        yield* stop
        yield* endSnapshot
        freshSnapshot = false
        position = decoded
      }),
    // the binlog is the log: nothing to acknowledge
    commit: () => Effect.void
  }
})

/** A batch of the buffer with its position marks dropped (its origin kept). */
const withoutMarks = (batch: Batch.Batch<ChangeRecord | undefined>): Batch.Batch<ChangeRecord> => {
  const records: Array<ChangeRecord> = []
  for (let i = batch.start; i < batch.end; i++) {
    const r = batch.records[i]
    if (r !== undefined) records.push(r)
  }
  return Batch.make(records, { origin: batch.origin, readAt: batch.readAt })
}

/**
 * The `mysql-cdc` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   changes:
 *     type: mysql-cdc
 *     config:
 *       connection_string: "mysql://repl@db.internal:3306/shop"
 *       password: "${MYSQL_PASSWORD}"
 *       tables: [shop.orders, shop.customers]
 *       server_id: 4242
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const MysqlCdc = Connector.source<CdcConfig, ChangeRecord>({
  type: CONNECTOR,
  description: "Streams row changes of MySQL/MariaDB tables from the binlog (ROW format), resumable exactly by binlog position",
  config: CdcConfig,
  capabilities: (config) => Capabilities.stream({ batchSize: config.batch_size, onlyOne: "one binlog stream is read by one instance" }),
  position: () => BinlogPositionSchema,
  // a change stream reads what is written to its tables: never shared with a writer of them
  resources: (config) => ({
    reads: config.tables.flatMap((t, i) => {
      const name = tableResourceName(config, t)
      return name === undefined ? [] : [{ kind: "mysql-table", name, key: ["tables", i] }]
    })
  }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const tables = tablesOf(config)
        if (typeof tables === "string") return yield* configurationError(CONNECTOR, "check", tables)
        const conn = yield* session(CONNECTOR, "check", config)
        yield* checkServer(conn, "check")
        for (const [db, names] of Object.entries(tables)) {
          for (const name of names) {
            const rows = yield* Effect.tryPromise({
              try: () => run<Array<{ n: number }>>(conn, "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", [db, name]),
              catch: classify(CONNECTOR, "check")
            })
            if (Number(rows[0].n) === 0) return yield* configurationError(CONNECTOR, "check", `table '${db}.${name}' does not exist`)
          }
        }
      })
    ),
  open: (config, context) => makeReader(config, context)
})

/**
 * A typed DSL spec of the `mysql-cdc` source.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = (config: typeof CdcConfig.Encoded): Spec.SourceSpec<ChangeRecord> => Spec.source<ChangeRecord>(CONNECTOR, config)
