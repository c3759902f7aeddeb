/**
 * The `postgres-cdc` source: logical replication with the `pgoutput` plugin, as typed change
 * records `{ op, table, before, after, lsn, commit_ts }`.
 *
 * - **Publication and slot**: the publication is created when `create_publication: true` and
 *   it is missing; the slot is created (with `pgoutput`) when missing, on the replication
 *   connection itself, so `temporary_slot: true` works (the slot disappears with the connection).
 * - **Transactions** are kept whole within a batch (a batch holds one or more complete
 *   transactions; one larger than the requested size is returned whole). The position is the end
 *   LSN of the last transaction returned: `{ lsn }`.
 * - **Initial snapshot** (`snapshot: true`): the slot is created with an exported snapshot; the
 *   tables are read in that snapshot (as `op: "read"` records), then streaming starts at the
 *   slot's consistent point: no gap and no duplicate. A run restored from a position taken during
 *   the snapshot reads the snapshot again with a new slot (the exported snapshot does not
 *   survive its connection); a run without a position also starts with a fresh snapshot.
 * - **Acknowledgement**: the confirmed flush LSN goes to the server only in `commit(position)`,
 *   called after a checkpoint covering it completed; a restart resumes from the slot's confirmed
 *   position. Keepalives are answered, and when everything received has been committed the
 *   keepalive's LSN is confirmed, so an idle slot does not hold WAL. `heartbeat_interval` writes
 *   `pg_logical_emit_message` so a quiet database keeps moving, and updates the lag gauge.
 * - **Lag**: {@link replicationLag} reads `pg_current_wal_lsn() - confirmed_flush_lsn`; the gauge
 *   `dataflare_postgres_cdc_lag_bytes{slot}` is updated at every heartbeat.
 *
 * @since 0.1.0
 */
import type { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Metric, Redacted, Schedule, type Scope } from "effect"
import { LogicalReplicationService, type Pgoutput } from "pg-logical-replication"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import { ConnectionError, ConnectorError } from "../../Errors.ts"
import { pgConfig, sqlSession } from "./internal/client.ts"
import { type Change, lsnValue, maxLsn, normalizeLsn, type SlotCreated, SlotPlugin, type Transaction, TransactionAssembler } from "./internal/replication.ts"
import { type CdcConfig, CdcConfig as CdcConfigSchema, durationMillis } from "./PostgresConfig.ts"
import { classify, configurationError, sqlState } from "./PostgresError.ts"

const CONNECTOR = "postgres-cdc"

/**
 * A change record of the `postgres-cdc` source.
 *
 * @category models
 * @since 0.1.0
 */
export type ChangeRecord = Change

/**
 * Replication lag of a slot in bytes (`pg_current_wal_lsn() - confirmed_flush_lsn`).
 *
 * @category metrics
 * @since 0.1.0
 */
export const lagGauge = Metric.gauge("dataflare_postgres_cdc_lag_bytes", {
  description: "WAL bytes between the server's current LSN and the slot's confirmed flush LSN"
})

const lagOf = (sql: PgClient.PgClient, slot: string) =>
  sql<{ lag: string | null }>`SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = ${slot}`
    .pipe(Effect.map((rows) => (rows.length === 0 || rows[0].lag === null ? undefined : BigInt(rows[0].lag.split(".")[0]))))

/**
 * The replication lag of `slot` in bytes, or `undefined` when the slot does not exist.
 *
 * @category metrics
 * @since 0.1.0
 */
export const replicationLag = (
  connectionString: Redacted.Redacted<string> | string,
  slot: string
): Effect.Effect<bigint | undefined, ConnectorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const url = typeof connectionString === "string" ? Redacted.make(connectionString) : connectionString
      const sql = yield* sqlSession(CONNECTOR, url)
      return yield* lagOf(sql, slot).pipe(Effect.mapError(classify(CONNECTOR, "lag")))
    })
  )

/**
 * Drops a replication slot that is no longer used (the WAL it holds is then released).
 *
 * @category maintenance
 * @since 0.1.0
 */
export const dropSlot = (connectionString: Redacted.Redacted<string> | string, slot: string): Effect.Effect<void, ConnectorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const url = typeof connectionString === "string" ? Redacted.make(connectionString) : connectionString
      const sql = yield* sqlSession(CONNECTOR, url)
      yield* sql`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${slot}`.pipe(
        Effect.mapError(classify(CONNECTOR, "dropSlot"))
      )
    })
  )

interface SnapshotState {
  readonly lsn: string
  table: number
  open: boolean
}

const makeReader = Effect.fnUntraced(function*(
  config: CdcConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<ChangeRecord>, ConnectorError, Scope.Scope> {
  const fail = (operation: string) => classify(CONNECTOR, operation)
  const sql = yield* sqlSession(CONNECTOR, config.connection_string)
  const tables = config.tables ?? []
  const slot = config.slot
  const batchSize = config.batch_size ?? context.batchSize
  const highWater = Math.max(batchSize * 4, 1000)
  const lag = Metric.withAttributes(lagGauge, { slot })

  if (config.create_publication === true) {
    const exists = yield* sql`SELECT 1 FROM pg_publication WHERE pubname = ${config.publication}`.pipe(Effect.mapError(fail("open")))
    if (exists.length === 0) {
      const target = tables.length > 0 ? sql`FOR TABLE ${sql.csv(tables.map((t) => sql`${sql(t)}`))}` : sql`FOR ALL TABLES`
      yield* sql`CREATE PUBLICATION ${sql(config.publication)} ${target}`.pipe(Effect.mapError(fail("open")))
    }
  }

  // Streaming state, shared with the replication callbacks.
  let service: LogicalReplicationService | undefined
  let streamError: unknown
  const ready: Array<Transaction> = []
  let readyCount = 0
  let waiters: Array<() => void> = []
  let delivered: string | null = null
  let committed: string | null = null
  let requested: string | null = null
  let snapshot: SnapshotState | undefined
  let started = false
  const assembler = new TransactionAssembler(config.bigint === "string")

  const wake = () => {
    const w = waiters
    waiters = []
    for (const f of w) f()
  }
  const idle = () =>
    !assembler.open && ready.length === 0 && snapshot === undefined &&
    (delivered === null || (committed !== null && lsnValue(delivered) <= lsnValue(committed)))

  const onData = async (_lsn: string, message: Pgoutput.Message) => {
    const tx = assembler.push(message)
    if (tx !== undefined && tx.changes.length > 0) {
      ready.push(tx)
      readyCount += tx.changes.length
    } else if (tx !== undefined && idle()) {
      delivered = committed = maxLsn(committed, tx.endLsn)
    }
    if (readyCount >= highWater) await new Promise<void>((resolve) => waiters.push(resolve))
  }
  // With flow control, data messages wait in the library's queue while keepalives are emitted at
  // once: a keepalive may overtake changes not yet handled, so it only advances the confirmed LSN
  // when that queue is empty (bracket access: the fields are private in its typings).
  const drained = (s: LogicalReplicationService): boolean => {
    const queue: unknown = s["_messageQueue"]
    const processing: unknown = s["_processing"]
    return Array.isArray(queue) && queue.length === 0 && processing !== true
  }
  const onKeepalive = (lsn: string, _ts: number, shouldRespond: boolean) => {
    if (service === undefined) return
    if (idle() && drained(service) && committed !== null && lsnValue(lsn) > lsnValue(committed)) {
      delivered = committed = normalizeLsn(lsn)
      void service.acknowledge(committed)
    } else if (shouldRespond && committed !== null) {
      void service.acknowledge(committed)
    }
  }

  const stop = Effect.promise(async () => {
    const s = service
    service = undefined
    wake()
    if (s !== undefined) await s.destroy().catch(() => undefined)
  })
  yield* Effect.addFinalizer(() => stop)

  const slotInfo = sql<{ lsn: string | null; active: boolean }>`SELECT confirmed_flush_lsn::text AS lsn, active FROM pg_replication_slots WHERE slot_name = ${slot}`

  /** Starts replication (and the snapshot, when asked) from `requested`. */
  const start = Effect.gen(function*() {
    started = true
    const existing = yield* slotInfo
    const resume = requested !== null
    const takeSnapshot = config.snapshot === true && !resume
    if (resume && existing.length === 0) {
      return yield* configurationError(CONNECTOR, "start", `replication slot '${slot}' does not exist: cannot resume at ${requested}`)
    }
    if (takeSnapshot && existing.length > 0) {
      yield* sql`SELECT pg_drop_replication_slot(${slot})`
    }
    const create = takeSnapshot || existing.length === 0
    let created: (value: SlotCreated) => void = () => {}
    let imported: () => void = () => {}
    const createdPromise = new Promise<SlotCreated>((resolve) => (created = resolve))
    const importedPromise = new Promise<void>((resolve) => (imported = resolve))
    const plugin = new SlotPlugin({
      publication: config.publication,
      ...(create
        ? {
          create: {
            temporary: config.temporary_slot === true,
            exportSnapshot: takeSnapshot,
            onCreated: (c: SlotCreated) => {
              created(c)
              return takeSnapshot ? importedPromise : Promise.resolve()
            }
          }
        }
        : {})
    })
    streamError = undefined
    const s = new LogicalReplicationService(pgConfig(config.connection_string), {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: true }
    })
    service = s
    s.on("data", onData)
    s.on("heartbeat", onKeepalive)
    s.on("error", (e: unknown) => (streamError ??= e))
    const from = requested ?? existing[0]?.lsn ?? "0/0"
    void s.subscribe(plugin, slot, from).then(
      () => {
        // The server ended the stream (we did not stop it): the next read reports it.
        if (service === s) streamError ??= new Error("the server ended the replication stream")
      },
      (e: unknown) => {
        streamError ??= e
        created({ consistentPoint: "0/0", snapshotName: null })
      }
    )
    if (create) {
      const info = yield* Effect.promise(() => createdPromise)
      if (streamError !== undefined) return yield* Effect.fail(streamError)
      committed = delivered = normalizeLsn(info.consistentPoint)
      if (takeSnapshot) {
        const name = info.snapshotName ?? ""
        if (!/^[0-9A-F-]+$/i.test(name)) return yield* Effect.fail(new Error(`unexpected snapshot name from the server`))
        const lsn = committed
        // Streaming waits for the import; release it whatever happens, so the connection never hangs.
        yield* Effect.gen(function*() {
          yield* sql.unsafe("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
          yield* sql.unsafe(`SET TRANSACTION SNAPSHOT '${name}'`)
          snapshot = { lsn, table: 0, open: false }
        }).pipe(Effect.ensuring(Effect.sync(imported)))
      }
    } else {
      committed = delivered = maxLsn(requested, existing[0].lsn)
    }
  })

  /** The next snapshot batch, or undefined when the snapshot is complete. */
  const snapshotBatch = (snap: SnapshotState, max: number) =>
    Effect.gen(function*() {
      while (snap.table < tables.length) {
        const table = tables[snap.table]
        if (!snap.open) {
          yield* sql`DECLARE df_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${sql(table)}`
          snap.open = true
        }
        const rows = yield* sql.unsafe<{ [k: string]: unknown }>(`FETCH FORWARD ${Math.max(1, Math.trunc(max))} FROM df_snapshot`)
        if (rows.length > 0) {
          const name = table.includes(".") ? table : `public.${table}`
          const out: Array<Change> = new Array(rows.length)
          const asString = config.bigint === "string"
          for (let i = 0; i < rows.length; i++) {
            const row = rows[i] as { [k: string]: unknown }
            if (asString) for (const k in row) if (typeof row[k] === "bigint") row[k] = String(row[k])
            out[i] = { op: "read", table: name, before: null, after: row, lsn: snap.lsn, commit_ts: null }
          }
          return out
        }
        yield* sql.unsafe("CLOSE df_snapshot")
        snap.open = false
        snap.table++
      }
      yield* sql.unsafe("COMMIT")
      return undefined
    })

  const position = (): Batch.Position =>
    snapshot !== undefined ? { phase: "snapshot", lsn: snapshot.lsn, table: snapshot.table } : { lsn: delivered }

  const takeReady = (max: number): Array<Change> => {
    const out: Array<Change> = []
    while (ready.length > 0 && (out.length === 0 || out.length + ready[0].changes.length <= max)) {
      const tx = ready.shift()!
      readyCount -= tx.changes.length
      for (const c of tx.changes) out.push(c)
      delivered = tx.endLsn
    }
    if (readyCount < highWater) wake()
    return out
  }

  const readBatch = (max: number) =>
    Effect.gen(function*() {
      if (!started) yield* start
      const readAt = yield* Clock.currentTimeMillis
      if (snapshot !== undefined) {
        const rows = yield* snapshotBatch(snapshot, Math.min(max, batchSize))
        if (rows !== undefined) return Batch.make<ChangeRecord>(rows, { origin: { source: context.node, position: position() }, readAt })
        snapshot = undefined
      }
      if (streamError !== undefined) {
        const cause = streamError
        // A server error keeps its SQLSTATE's reason; a dropped stream is a connection error.
        if (sqlState(cause) !== undefined) return yield* Effect.fail(classify(CONNECTOR, "read")(cause))
        return yield* new ConnectorError({
          connector: CONNECTOR,
          operation: "read",
          reason: new ConnectionError({ message: "the replication stream ended", cause })
        })
      }
      let changes = takeReady(Math.min(max, batchSize))
      if (changes.length === 0) {
        yield* Effect.sleep(50)
        changes = takeReady(Math.min(max, batchSize))
      }
      return Batch.make<ChangeRecord>(changes, { origin: { source: context.node, position: position() }, readAt })
    }).pipe(Effect.mapError(fail("read")))

  // Standby status every 10 s, also while the stream is paused by backpressure (the server's
  // keepalive requests are then not read), so `wal_sender_timeout` does not end the stream.
  yield* Effect.sync(() => {
    if (service !== undefined && committed !== null) void service.acknowledge(committed)
  }).pipe(Effect.repeat(Schedule.spaced(10_000)), Effect.forkScoped)

  if (config.heartbeat_interval !== undefined) {
    // Its own session: the main one may hold the snapshot's read-only transaction.
    const beatSql = yield* sqlSession(CONNECTOR, config.connection_string)
    const beat = Effect.gen(function*() {
      yield* beatSql`SELECT pg_logical_emit_message(false, 'dataflare_heartbeat', '')`
      const bytes = yield* lagOf(beatSql, slot)
      if (bytes !== undefined) yield* Metric.update(lag, Number(bytes))
    }).pipe(Effect.ignore)
    yield* beat.pipe(Effect.repeat(Schedule.spaced(durationMillis(config.heartbeat_interval))), Effect.forkScoped)
  }

  return {
    readBatch,
    position: Effect.sync(position),
    seek: (p: Batch.Position) =>
      Effect.gen(function*() {
        const lsn = p !== null && typeof p === "object" && !Array.isArray(p) && (p as { phase?: unknown }).phase === undefined
          ? (p as { lsn?: unknown }).lsn
          : undefined
        requested = typeof lsn === "string" ? normalizeLsn(lsn) : null
        if (started) {
          yield* stop
          ready.length = 0
          readyCount = 0
          snapshot = undefined
          started = false
        }
      }),
    commit: (p: Batch.Position) =>
      Effect.sync(() => {
        const lsn = p !== null && typeof p === "object" && !Array.isArray(p) && (p as { phase?: unknown }).phase === undefined
          ? (p as { lsn?: unknown }).lsn
          : undefined
        if (typeof lsn !== "string") return
        committed = maxLsn(committed, normalizeLsn(lsn))
        if (service !== undefined && committed !== null) void service.acknowledge(committed)
      })
  }
})

/**
 * The `postgres-cdc` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   changes:
 *     type: postgres-cdc
 *     config:
 *       connection_string: "${PG_CONNECTION}"
 *       publication: dataflare_pub
 *       create_publication: true
 *       slot: dataflare_slot
 *       tables: [public.orders]
 *       snapshot: true
 *       heartbeat_interval: 10s
 * ```
 * @category definitions
 * @since 0.1.0
 */
export const PostgresCdc = Connector.source<CdcConfig, ChangeRecord>({
  type: CONNECTOR,
  description: "Streams inserts, updates and deletes from PostgreSQL logical replication (pgoutput)",
  config: CdcConfigSchema,
  capabilities: (config) => ({
    seekable: true,
    unbounded: true,
    // a replication slot is read by one session
    maxParallelism: 1,
    ...(config.batch_size !== undefined ? { preferredBatchSize: config.batch_size } : {})
  }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const sql = yield* sqlSession(CONNECTOR, config.connection_string)
        const rows = yield* sql<{ wal_level: string }>`SELECT current_setting('wal_level') AS wal_level`.pipe(Effect.mapError(classify(CONNECTOR, "check")))
        if (rows[0].wal_level !== "logical") {
          return yield* configurationError(CONNECTOR, "check", `wal_level is '${rows[0].wal_level}'; logical replication needs wal_level = logical`)
        }
      })
    ),
  open: (config, context) => makeReader(config, context)
})

/**
 * A typed DSL spec of the `postgres-cdc` source.
 *
 * @category specs
 * @since 0.1.0
 */
export const spec = (config: typeof CdcConfigSchema.Encoded): Spec.SourceSpec<ChangeRecord> =>
  Spec.source<ChangeRecord>(CONNECTOR, config)
