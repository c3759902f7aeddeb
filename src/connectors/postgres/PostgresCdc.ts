/**
 * The `postgres-cdc` source: logical replication with the `pgoutput` plugin, as change records
 * `{ op, table, before, after, lsn, commit_ts }`.
 *
 * - **Publication and slot**: the publication is made to stream `tables` (created when missing,
 *   set to `tables` when it differs, with `create_publication: true`; see
 *   `internal/publication.ts`), and changes of tables outside `tables` are left out. The slot is
 *   created (with `pgoutput`) when missing, on the replication connection itself, so
 *   `temporary_slot: true` works (the slot disappears with the connection).
 * - **Values** are decoded from the server's text exactly as the table source decodes them (the
 *   walsender runs with the same fixed output settings): see docs/connectors/postgres.md, "Types".
 * - **Transactions** are kept whole within a batch (a batch holds one or more complete
 *   transactions) and the position is the end LSN of the last transaction returned: `{ lsn }`.
 *   Changes go through the kit's buffered source (bounded in changes and in bytes,
 *   `max_buffer_bytes`; the replication stream is paused when it is full), one at a time: a
 *   transaction larger than the batch size or the buffer is returned in parts of `batch_size`
 *   changes, and the position inside it is `{ lsn, tables, tx, skip }` — the end LSN of the transaction
 *   before, the transaction's commit LSN, and how many of its changes were read. A run restored
 *   there reads the transaction again from the slot and skips those `skip` changes: nothing
 *   written twice, nothing lost. The slot is only ever confirmed at a transaction's end.
 * - **Initial snapshot** (`snapshot: true`): the slot is created with an exported snapshot; the
 *   tables are read in that snapshot (as `op: "read"` records, each table with its own columns),
 *   then streaming starts at the slot's consistent point: no gap and no duplicate. During the
 *   snapshot the position is `{ phase: "snapshot", lsn, tables, table, name, key }`: the
 *   consistent point, the snapshot's tables, the table being read and the last key read in it,
 *   and the slot is not confirmed past the consistent point. **A run restored from such a position resumes the snapshot** after that key
 *   (reading the rest as it is now) and then streams from the consistent point: every change made
 *   since — including the deletion of a row already copied, and changes made while the workflow
 *   was down — is replayed after the snapshot, so nothing deleted at the source stays behind (as
 *   in DBLog / Debezium's incremental snapshots, the change log settles what a re-read saw). This
 *   needs the slot to still be there (not `temporary_slot`). A run without a position starts with
 *   a fresh snapshot and a new slot. With `snapshot: true`, streaming positions list the tables
 *   read (`{ lsn, tables }`), and a restored run first reads the rows of tables added since.
 * - **Acknowledgement**: the confirmed flush LSN goes to the server only in `commit(position)`,
 *   called after a checkpoint covering it completed; a restart resumes from the slot's confirmed
 *   position. Keepalives are answered, and when everything received has been committed the
 *   keepalive's LSN is confirmed, so an idle slot does not hold WAL. `heartbeat_interval` writes
 *   `pg_logical_emit_message` this often, so a quiet database keeps moving.
 * - **Lag**: `pg_current_wal_lsn() - confirmed_flush_lsn` of the slot, measured every
 *   `heartbeat_interval` (every 10 s without one): the gauge
 *   `dataflare_postgres_cdc_lag_bytes{slot}` and the reader's `lag` (shown by `dataflare run`);
 *   {@link replicationLag} reads it on demand.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Metric, Schedule, type Scope } from "effect"
import type pg from "pg"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import { ConnectionError, ConnectorError, RecordError } from "../../Errors.ts"
import * as BufferedSource from "../kit/bufferedSource.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import { type SnapshotProgress, SnapshotReader, type SnapshotTable, SnapshotValueError } from "./internal/cdcSnapshot.ts"
import { CdcPosition, decodePosition, type SavedSnapshot, snapshotPosition } from "./internal/cdcPosition.ts"
import { type ChangeHandle, ChangeStream } from "./internal/cdcStream.ts"
import { lagGauge, lagOf } from "./internal/slots.ts"
import { connectForReading, pgReadSession } from "./internal/client.ts"
import { applyPublication, PublicationError, resolveTables } from "./internal/publication.ts"
import {
  type Change,
  ChangeValueError,
  lsnValue,
  maxLsn,
  normalizeLsn,
  TransactionAssembler,
  TupleDecoder
} from "./internal/replication.ts"
import { resolveShapes, TYPES_SQL } from "./internal/types.ts"
import type { TypeShape } from "./internal/values.ts"
import { tableResource } from "./internal/resources.ts"
import { type CdcConfig, CdcConfig as CdcConfigSchema, durationMillis } from "./PostgresConfig.ts"
import { classify, configurationError, sqlState } from "./PostgresError.ts"

const CONNECTOR = "postgres-cdc"
/** Default `max_buffer_bytes`: 64 MiB of changes read ahead of the pipeline. */
const DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024

/**
 * A change record of the `postgres-cdc` source.
 *
 * @category models
 * @since 0.1.0
 */
export type ChangeRecord = Change

/**
 * Slot maintenance: the lag gauge, the lag on demand, dropping a slot no longer used.
 *
 * @since 0.1.0
 */
export { dropSlot, lagGauge, replicationLag } from "./internal/slots.ts"
/**
 * The positions of the source (its `SourceDefinition.position`).
 *
 * @since 0.4.0
 */
export { CdcPosition } from "./internal/cdcPosition.ts"

/** A failure of the source as the connector's error (a value that does not decode is a record error). */
const failure = (operation: string) => (e: unknown): ConnectorError | RecordError => {
  if (e instanceof ConnectorError || e instanceof RecordError) return e
  if (e instanceof SnapshotValueError || e instanceof ChangeValueError) return new RecordError({ detail: e.message, field: e.column })
  if (e instanceof PublicationError) return configurationError(CONNECTOR, operation, e.message)
  return classify(CONNECTOR, operation)(e)
}

const makeReader = Effect.fnUntraced(function*(
  config: CdcConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<ChangeRecord>, ConnectorError, Scope.Scope> {
  // `client` looks at the slot and the publication; `meta` looks up types for the stream, writes
  // heartbeats, measures lag; a snapshot is read on a session of its own (`snapshotClient`), ended
  // with it (a COPY in flight cannot be stopped on its session).
  const client = yield* pgReadSession(CONNECTOR, config.connection_string)
  const meta = yield* pgReadSession(CONNECTOR, config.connection_string)
  const slot = config.slot
  const bigint = config.bigint ?? "bigint"
  const batchSize = config.batch_size ?? context.batchSize
  const highWater = Math.max(batchSize * 4, 1000)
  const maxBytes = config.max_buffer_bytes ?? DEFAULT_BUFFER_BYTES
  const lagMetric = Metric.withAttributes(lagGauge, { slot })
  const openFailure = (e: unknown): ConnectorError => {
    const f = failure("open")(e)
    return f instanceof ConnectorError ? f : configurationError(CONNECTOR, "open", f.message)
  }

  const tables: ReadonlyArray<SnapshotTable> = yield* Effect.tryPromise({
    try: async () => {
      const resolved = await resolveTables(client, config.tables ?? [])
      await applyPublication(client, config.publication, config.tables === undefined ? undefined : resolved, config.create_publication === true)
      return resolved
    },
    catch: openFailure
  })
  const included = new Set(tables.map((t) => t.qualified))
  const shapes = new Map<number, TypeShape>()
  const resolveTypes = (oids: ReadonlyArray<number>) =>
    resolveShapes((missing) => meta.query(TYPES_SQL, [missing]).then((r) => r.rows), oids, shapes)

  let requested: string | null = null
  /** With `snapshot: true`: the tables whose rows had been read at the requested position. */
  let requestedTables: ReadonlyArray<string> | undefined
  let resume: SavedSnapshot | undefined
  /** The snapshot's list of tables (read, being read, to read), kept in positions. */
  let known: ReadonlyArray<SnapshotTable> = tables
  let snapshot: SnapshotReader | undefined
  let snapshotClient: pg.Client | undefined
  let started = false
  let lagBytes: number | undefined
  /** Inside a transaction larger than a batch: its commit LSN and how many of its changes were read. */
  let partial: { readonly tx: string; readonly count: number } | undefined
  const buffer: BufferedSource.BufferedSource<ChangeRecord, ChangeHandle> = BufferedSource.make<ChangeRecord, ChangeHandle>({
    node: context.node,
    capacity: highWater,
    weight: BufferedSource.approximateBytes,
    maxWeight: maxBytes,
    lingerMs: 50,
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    // a position only after a transaction's last change, unless one transaction fills a batch
    boundary: (h) => h.end !== null,
    advance: (handles) => {
      const last = handles[handles.length - 1]
      if (last.end !== null) {
        stream.delivered = last.end
        partial = undefined
      } else {
        partial = { tx: last.tx, count: last.index + 1 }
      }
      return position()
    },
    // the slot is confirmed at the end of the last whole transaction covered, never inside one
    acknowledge: (handles) =>
      Effect.sync(() => {
        for (let i = handles.length - 1; i >= 0; i--) {
          const end = handles[i].end
          if (end !== null) return stream.commit(end)
        }
      }),
    seek: () => Effect.void,
    initial: null
  })
  const stream = new ChangeStream({
    connectionString: config.connection_string,
    publication: config.publication,
    slot,
    offer: (change, handle) => buffer.offer(change, handle),
    assembler: new TransactionAssembler(
      new TupleDecoder(shapes, bigint),
      config.tables === undefined ? undefined : (table) => included.has(table)
    ),
    resolveTypes,
    busy: () => snapshot !== undefined || buffer.buffered() > 0 || partial !== undefined
  })

  const endSnapshot = Effect.suspend(() => {
    snapshot = undefined
    const c = snapshotClient
    snapshotClient = undefined
    return c === undefined ? Effect.void : Effect.promise(() => c.end().catch(() => undefined))
  })
  const stop = Effect.promise(() => stream.stop())
  yield* Effect.addFinalizer(() => Effect.andThen(stop, endSnapshot))

  const slotInfo = async () =>
    (await client.query(`SELECT confirmed_flush_lsn::text AS lsn, temporary FROM pg_replication_slots WHERE slot_name = $1`, [slot]))
      .rows as Array<{ lsn: string | null; temporary: boolean }>

  /** Refuses to resume the snapshot of `resuming` when its slot cannot give the changes since its consistent point. */
  const checkResume = (resuming: SavedSnapshot, existing: Array<{ lsn: string | null }>) => {
    const where = `the snapshot interrupted in table ${resuming.table + 1} of ${resuming.tables?.length ?? tables.length} (${
      resuming.name ?? "?"
    }) at consistent point ${resuming.lsn}`
    if (existing.length === 0) {
      return configurationError(
        CONNECTOR,
        "start",
        `replication slot '${slot}' does not exist (a temporary slot ends with its connection): cannot resume ${where}. ` +
          `Empty the destination and run with --from-scratch`
      )
    }
    if (existing[0].lsn !== null && lsnValue(existing[0].lsn) > lsnValue(resuming.lsn)) {
      return configurationError(
        CONNECTOR,
        "start",
        `replication slot '${slot}' was confirmed to ${existing[0].lsn}, past the consistent point of ${where}: ` +
          `changes since then would be lost. Empty the destination and run with --from-scratch`
      )
    }
    return undefined
  }

  const configured = new Map(tables.map((t) => [t.qualified, t]))
  const entry = (name: string): SnapshotTable => configured.get(name) ?? { name, qualified: name }

  /**
   * The list to resume a snapshot with: the saved list (the configured tables for a position
   * without one) from where it was, tables no longer configured left out, configured tables it
   * did not have appended (read last). The saved key applies only if its table is still next.
   */
  const resumeList = (saved: SavedSnapshot): { readonly list: ReadonlyArray<SnapshotTable>; readonly progress: SnapshotProgress } => {
    const savedNames = saved.tables ?? tables.map((t) => t.qualified)
    const done = savedNames.slice(0, saved.table).map(entry)
    const rest = savedNames.slice(saved.table).filter((n) => configured.has(n)).map(entry)
    const added = tables.filter((t) => !savedNames.includes(t.qualified))
    const current = saved.name ?? savedNames[saved.table]
    return {
      list: [...done, ...rest, ...added],
      progress: { lsn: saved.lsn, table: done.length, key: rest[0] !== undefined && rest[0].qualified === current ? saved.key : null }
    }
  }

  /** Reads `list` from `progress` on a session of its own (no exported snapshot: the tables as they are now). */
  const readNow = (list: ReadonlyArray<SnapshotTable>, progress: SnapshotProgress) =>
    Effect.gen(function*() {
      const c = yield* Effect.tryPromise(async () => {
        const c = await connectForReading(config.connection_string)
        snapshotClient = c
        return c
      })
      known = list
      snapshot = new SnapshotReader(c, list, shapes, bigint, progress)
    })

  /** Starts replication from `requested` (or resumes the snapshot of `resume`, or takes a fresh one). */
  const start = Effect.gen(function*() {
    started = true
    const existing = yield* Effect.promise(slotInfo)
    const resuming = resume
    if (resuming !== undefined) {
      const refused = checkResume(resuming, existing)
      if (refused !== undefined) return yield* refused
      // The rest of the snapshot as it is now, then every change since the consistent point.
      stream.committed = stream.delivered = resuming.lsn
      yield* Effect.promise(() => stream.start(resuming.lsn, undefined))
      const { list, progress } = resumeList(resuming)
      yield* readNow(list, progress)
      return
    }
    if (requested !== null && existing.length === 0) {
      return yield* configurationError(CONNECTOR, "start", `replication slot '${slot}' does not exist: cannot resume at ${requested}`)
    }
    const takeSnapshot = config.snapshot === true && requested === null
    if (takeSnapshot && existing.length > 0) {
      yield* Effect.tryPromise(() => client.query("SELECT pg_drop_replication_slot($1)", [slot]))
    }
    if (!takeSnapshot && existing.length > 0) {
      const from = maxLsn(requested, existing[0].lsn)
      stream.committed = stream.delivered = from
      yield* Effect.promise(() => stream.start(requested ?? existing[0].lsn ?? "0/0", undefined))
      // Tables added to `tables` since the position: their rows as they are now, then the stream
      // (which has their changes since they joined the publication, at open).
      const read = requestedTables
      if (config.snapshot === true && read !== undefined && from !== null) {
        const added = tables.filter((t) => !read.includes(t.qualified))
        known = [...read.map(entry), ...added]
        if (added.length > 0) yield* readNow(known, { lsn: from, table: read.length, key: null })
      }
      return
    }
    let imported: () => void = () => {}
    const importedPromise = new Promise<void>((resolve) => (imported = resolve))
    const info = yield* Effect.promise(() =>
      stream.start(requested ?? "0/0", { temporary: config.temporary_slot === true, exportSnapshot: takeSnapshot, imported: importedPromise })
    )
    if (stream.error !== undefined || info === undefined) return yield* Effect.fail(stream.error ?? new Error("the replication slot was not created"))
    const lsn = normalizeLsn(info.consistentPoint)
    stream.committed = stream.delivered = lsn
    if (!takeSnapshot) return
    const name = info.snapshotName ?? ""
    // Streaming waits for the import; release it whatever happens, so the connection never hangs.
    const c = yield* Effect.tryPromise(async () => {
      if (!/^[0-9A-F-]+$/i.test(name)) throw new Error(`unexpected snapshot name from the server`)
      const c = await connectForReading(config.connection_string)
      snapshotClient = c
      await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      await c.query(`SET TRANSACTION SNAPSHOT '${name}'`)
      return c
    }).pipe(Effect.ensuring(Effect.sync(imported)))
    known = tables
    snapshot = new SnapshotReader(c, tables, shapes, bigint, { lsn, table: 0, key: null })
  })

  const position = (): Batch.Position => {
    const list = known.map((t) => t.qualified)
    if (snapshot === undefined) {
      // inside a transaction the tables are kept too: `skip` counts changes of exactly those
      if (partial !== undefined) return { lsn: stream.delivered, tables: list, tx: partial.tx, skip: partial.count }
      return config.snapshot === true ? { lsn: stream.delivered, tables: list } : { lsn: stream.delivered }
    }
    const p = snapshot.progress
    return { phase: "snapshot", lsn: p.lsn, tables: list, table: p.table, name: list[p.table] ?? null, key: p.key }
  }

  const readBatch = (max: number): Effect.Effect<Batch.Batch<ChangeRecord>, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      if (!started) yield* start
      const readAt = yield* Clock.currentTimeMillis
      const snap = snapshot
      if (snap !== undefined) {
        const rows = yield* Effect.tryPromise({ try: () => snap.next(Math.max(1, Math.min(max, batchSize))), catch: (e) => e })
        if (rows !== undefined) return Batch.make<ChangeRecord>(rows, { origin: { source: context.node, position: position() }, readAt })
        yield* endSnapshot
      }
      if (stream.error !== undefined) {
        const cause = stream.error
        if (cause instanceof ChangeValueError) return yield* Effect.fail(cause)
        // A server error keeps its SQLSTATE's reason; a dropped stream is a connection error.
        if (sqlState(cause) !== undefined) return yield* Effect.fail(classify(CONNECTOR, "read")(cause))
        return yield* new ConnectorError({
          connector: CONNECTOR,
          operation: "read",
          reason: new ConnectionError({ message: "the replication stream ended", cause })
        })
      }
      const batch = yield* buffer.reader.readBatch(Math.max(1, Math.min(max, batchSize)))
      // the buffer never ends (the stream is unbounded); an empty batch carries the position now
      return batch === undefined || Batch.isEmpty(batch)
        ? Batch.empty<ChangeRecord>({ origin: { source: context.node, position: position() } })
        : batch
    }).pipe(Effect.mapError(failure("read")))

  // Standby status every 10 s, also while the stream is paused by backpressure (the server's
  // keepalive requests are then not read), so `wal_sender_timeout` does not end the stream.
  yield* Effect.sync(() => stream.standby()).pipe(Effect.repeat(Schedule.spaced(10_000)), Effect.forkScoped)

  // Heartbeat (when asked) and lag, on `meta` (the main session may hold the snapshot's transaction).
  const heartbeat = config.heartbeat_interval !== undefined
  const beat = Effect.tryPromise(async () => {
    // `::text`: a pg_lsn result is then plain text for any client.
    if (heartbeat) await meta.query("SELECT pg_logical_emit_message(false, 'dataflare_heartbeat', '')::text")
    return lagOf(meta, slot)
  }).pipe(
    Effect.flatMap((bytes) =>
      bytes === undefined ? Effect.void : Effect.andThen(Effect.sync(() => (lagBytes = Number(bytes))), Metric.update(lagMetric, Number(bytes)))
    ),
    Effect.ignore
  )
  const every = heartbeat ? durationMillis(config.heartbeat_interval!) : 10_000
  yield* beat.pipe(Effect.repeat(Schedule.spaced(every)), Effect.forkScoped)

  return {
    readBatch,
    position: Effect.sync(position),
    lag: () => (lagBytes === undefined ? undefined : { value: lagBytes, unit: "bytes" as const }),
    // the changes held ahead of the pipeline: the message handler waits while the buffer is full,
    // so no change is offered past `capacity`
    readAhead: buffer.readAhead,
    seek: (raw: Batch.Position) =>
      Effect.gen(function*() {
        const p = yield* decodePosition(raw)
        if (!("phase" in p) && p.tx !== undefined && p.tables !== undefined) {
          const now = new Set(tables.map((t) => t.qualified))
          if (p.tables.length !== now.size || p.tables.some((t) => !now.has(t))) {
            return yield* configurationError(
              CONNECTOR,
              "seek",
              `the checkpoint is inside transaction ${p.tx} after ${p.skip ?? 0} of its changes of tables ${p.tables.join(", ")}; ` +
                `tables is now ${[...now].join(", ") || "(all)"}, so which of its changes were read is not known. ` +
                `Restore with the tables of the checkpoint (and change them after a checkpoint outside a transaction)`
            )
          }
        }
        resume = snapshotPosition(p)
        requested = resume === undefined && p.lsn !== null ? normalizeLsn(p.lsn) : null
        requestedTables = resume === undefined ? p.tables : undefined
        if (started) {
          yield* stop
          yield* endSnapshot
          started = false
        }
        // the stream is stopped first: nothing it had is offered after the buffer is emptied
        partial = "phase" in p || p.tx === undefined || p.skip === undefined ? undefined : { tx: normalizeLsn(p.tx), count: p.skip }
        stream.skipTo(partial)
        yield* buffer.reader.seek(raw)
      }),
    // acknowledges what the checkpoint covers (confirming the slot at the last whole transaction);
    // a restored position's LSN (always a transaction's end) is confirmed as well
    commit: (raw: Batch.Position) =>
      Effect.flatMap(decodePosition(raw), (p) => {
        if ("phase" in p || p.lsn === null) return Effect.void
        const lsn = normalizeLsn(p.lsn)
        return Effect.andThen(buffer.reader.commit(raw), Effect.sync(() => stream.commit(lsn)))
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
  capabilities: (config) => Capabilities.stream({ batchSize: config.batch_size, onlyOne: "a replication slot is read by one session" }),
  position: () => CdcPosition,
  // every change of these tables is read, the workflow's own writes included: nothing is shared
  resources: (config) => ({
    reads: (config.tables ?? []).flatMap((table, i) => tableResource(config.connection_string, table, ["tables", i], false))
  }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const client = yield* pgReadSession(CONNECTOR, config.connection_string)
        const rows = yield* Effect.tryPromise({
          try: () => client.query("SELECT current_setting('wal_level') AS wal_level"),
          catch: classify(CONNECTOR, "check")
        })
        const level = String(rows.rows[0].wal_level)
        if (level !== "logical") {
          return yield* configurationError(CONNECTOR, "check", `wal_level is '${level}'; logical replication needs wal_level = logical`)
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
