/**
 * The machinery of the `postgres` sink: one `pg` session holding a transaction that spans the
 * batches written since the last checkpoint, COPY into the target (or into a staging table that
 * is merged with `INSERT ... ON CONFLICT`), row isolation by bisection under savepoints, retries
 * of the whole open transaction after transient errors, and checkpoint ids stored in the same
 * transaction as the rows.
 *
 * Exactly-once in `insert` / `replace` mode is a staged two-phase commit (the server's
 * `PREPARE TRANSACTION` is usually off): rows go to a per-instance staging table tagged with the
 * writer's *epoch* (the batches between two checkpoints); `preCommit(n)` commits them with a mark
 * `epoch → n`; `commit(n)`, on a second session, moves the rows of marks `<= n` into the target,
 * deletes them and their marks, and records `n` as applied, in one transaction; `restore(k)`
 * applies marks `<= k` left by a crash and drops everything else.
 */
import { createHash } from "node:crypto"
import { appendFile } from "node:fs/promises"
import { Clock, Effect, Schedule, type Scope } from "effect"
import pg from "pg"
import * as Batch from "../../../Batch.ts"
import type * as Connector from "../../../Connector.ts"
import { ConnectionError, ConnectorError, RecordError, RejectedError } from "../../../Errors.ts"
import { durationMillis, type SinkConfig } from "../PostgresConfig.ts"
import { classify, configurationError, isConnectionLoss, isRetryable, reasonOf, sqlState } from "../PostgresError.ts"
import { type Column, COLUMNS_SQL, primaryKey, toColumns } from "./catalog.ts"
import { pgConfig, quoteIdent, splitName } from "./client.ts"
import { type CopyInput, copyRows, CopyStream, type Encoding, encodingOf, type StageTag, toJson } from "./copy.ts"
import { encodeBinaryRows } from "./copyBinary.ts"
import { encodeTextRows } from "./copyText.ts"

const CONNECTOR = "postgres"
/**
 * Rows of streamed batches after which the open transaction commits early (without a checkpoint),
 * so that the batches kept in memory for a replay stay bounded.
 */
const INTERMEDIATE_COMMIT_ROWS = 200_000
/** Rows per chunk written to a streamed COPY. */
const STREAM_SLICE = 8192
const STAGE = "df_stage"

type Row = { readonly [k: string]: unknown }

/** Rows of one batch ready to write: images and, for change records, `u` (upsert) / `d` (delete). */
interface Prepared {
  readonly images: ReadonlyArray<Row>
  readonly ops: ReadonlyArray<"u" | "d"> | undefined
}

/** A batch of CSV bytes written as they are (`COPY ... (FORMAT csv)`), with its batch to decode when a row is rejected. */
interface Passed {
  readonly csv: Batch.CsvEncoded
  readonly batch: Batch.Batch<Row>
}

/** What the open transaction wrote, kept to write it again (replay, row isolation). */
type Written = Prepared | Passed

const isPassed = (w: Written): w is Passed => "csv" in w
const sizeOf = (w: Written): number => (isPassed(w) ? Batch.size(w.batch) : w.images.length)

const CHANGE_OPS = new Set(["insert", "update", "delete", "read"])

const isChange = (r: Row): boolean => typeof r.op === "string" && CHANGE_OPS.has(r.op) && ("after" in r || "before" in r)

/** Turns change records into images and ops; other records pass through. */
export const prepare = (records: ReadonlyArray<Row>): Prepared => {
  if (records.length === 0 || !isChange(records[0])) return { images: records, ops: undefined }
  const images: Array<Row> = new Array(records.length)
  const ops: Array<"u" | "d"> = new Array(records.length)
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    const del = r.op === "delete"
    ops[i] = del ? "d" : "u"
    images[i] = ((del ? r.before : r.after) ?? {}) as Row
  }
  return { images, ops }
}

const inferType = (values: ReadonlyArray<unknown>): string => {
  let seen: unknown
  let integral = true
  for (const v of values) {
    if (v === null || v === undefined) continue
    if (seen === undefined) seen = v
    if (typeof v === "number" && !Number.isInteger(v)) integral = false
  }
  if (seen === undefined || typeof seen === "string") return "text"
  if (typeof seen === "number") return integral ? "bigint" : "double precision"
  if (typeof seen === "bigint") return "bigint"
  if (typeof seen === "boolean") return "boolean"
  if (seen instanceof Date) return "timestamptz"
  if (seen instanceof Uint8Array) return "bytea"
  return "jsonb"
}

/** Opens the writer for one sink instance. */
/** What names a sink instance's staging table and prepared transactions: a hash of workflow, node#instance and table. */
const instanceHash = (workflow: string, nodeKey: string, table: string): string =>
  createHash("sha256").update(`${workflow}\0${nodeKey}\0${table}`).digest("hex").slice(0, 20)

/** The prefix of the global ids of a sink instance's prepared transactions (`two_phase: prepared`). */
export const preparedPrefix = (workflow: string, nodeKey: string, table: string): string =>
  `dataflare:${instanceHash(workflow, nodeKey, table)}:`

export const makeWriter = Effect.fnUntraced(function*(
  config: SinkConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SinkWriter<Row>, ConnectorError, Scope.Scope> {
  const mode = config.mode ?? "insert"
  const table = config.table
  const target = quoteIdent(table)
  const [schemaName, tableName] = splitName(table)
  const cpTable = quoteIdent(config.checkpoint_table ?? "dataflare_checkpoints")
  const workflow = config.workflow ?? context.workflow ?? "default"
  const nodeKey = `${context.node}#${context.instance}`
  const onError = config.on_error ?? "fail"
  const attempts = config.retry?.attempts ?? 5
  const delay = durationMillis(config.retry?.delay ?? "100ms")
  // Exactly-once by staging (insert / replace): see the module comment.
  // Exactly-once by PostgreSQL's own two-phase commit (`two_phase: prepared`): see `preparedCommit`.
  const twoPhase = mode !== "upsert" && config.guarantee !== "at-least-once" && config.two_phase === "prepared"
  const staging = mode !== "upsert" && config.guarantee !== "at-least-once" && !twoPhase
  const marksTable = quoteIdent(`${config.checkpoint_table ?? "dataflare_checkpoints"}_staged`)
  const stageBase = `dataflare_stage_${instanceHash(workflow, nodeKey, table)}`
  /** Global ids of this instance's prepared transactions: the prefix, then the checkpoint id. */
  const gidPrefix = preparedPrefix(workflow, nodeKey, table)
  const gidOf = (checkpointId: number) => `${gidPrefix}${checkpointId}`
  /** Checkpoints this writer prepared and has not committed yet. */
  let prepared: Array<number> = []
  /** Prepared mode: the open transaction's batches are all in `pending` (a lost session can be replayed). */
  let replayable = true
  const stageTable = schemaName === undefined
    ? pg.escapeIdentifier(stageBase)
    : `${pg.escapeIdentifier(schemaName)}.${pg.escapeIdentifier(stageBase)}`

  let client: pg.Client | undefined
  /** The second session of a staging writer: `commit` and `restore` run there while a write transaction is open. */
  let ctl: pg.Client | undefined
  let inTx = false
  /** Staging is on (after `restore`): rows of the open transaction go to the staging table. */
  let staged = false
  let epoch = 1
  let stageInTx = false
  /** The COPY streaming this transaction's batches (`insert` / `replace` with checkpoints). */
  let stream: CopyStream | undefined
  /** A streamed COPY was rejected: until the transaction ends, one COPY per batch under a savepoint. */
  let careful = false
  /** Prepared mode: a savepoint `df_segment` opens the transaction's current streamed segment. */
  let segment = false
  /** Rows of `pending` (kept for a replay of the open transaction). */
  let pendingRows = 0
  /** Staged rows of this epoch were committed by an intermediate commit (they still need their mark). */
  let epochCommitted = false
  /** Column sets of staged batches (`__df_shape` indexes it), by their names joined with NUL. */
  const shapes: Array<ReadonlyArray<string>> = []
  const shapeIndex = new Map<string, number>()
  let checkpointing = false
  let pending: Array<Written> = []
  let replaced = false
  let columns: ReadonlyArray<Column> = []
  let key: ReadonlyArray<string> = []

  // `pg` reports a dead session with an error that has no SQLSTATE; remember which client died.
  const broken = new WeakSet<pg.Client>()
  const lost = (c: pg.Client) => (e: unknown): unknown =>
    broken.has(c) && sqlState(e) === undefined
      ? new ConnectorError({ connector: CONNECTOR, operation: "write", reason: new ConnectionError({ message: "connection lost", cause: e }) })
      : e
  const connect = Effect.tryPromise({
    try: async () => {
      const c = new pg.Client(pgConfig(config.connection_string))
      c.on("error", () => broken.add(c))
      c.on("end", () => broken.add(c))
      await c.connect()
      return c
    },
    catch: (e) => e
  })
  const disconnect = Effect.promise(async () => {
    const c = client
    client = undefined
    inTx = false
    stream = undefined
    if (c !== undefined) await c.end().catch(() => undefined)
  })
  const disconnectCtl = Effect.promise(async () => {
    const c = ctl
    ctl = undefined
    if (c !== undefined) await c.end().catch(() => undefined)
  })
  /** A statement on the control session. */
  const cq = (text: string, params?: ReadonlyArray<unknown>) =>
    Effect.gen(function*() {
      if (ctl === undefined) ctl = yield* connect
      const c = ctl
      return yield* Effect.tryPromise({ try: () => c.query(text, params as Array<unknown>), catch: lost(c) })
    })
  /** Completes the open COPY stream, if any; fails with its error (a rejected row fails the whole COPY). */
  const endCopy = Effect.suspend(() => {
    const s = stream
    const c = client
    if (s === undefined || c === undefined) return Effect.void
    stream = undefined
    return Effect.tryPromise({ try: () => s.end(), catch: lost(c) })
  })
  const q = (text: string, params?: ReadonlyArray<unknown>) =>
    Effect.gen(function*() {
      // Nothing else runs on the session while a COPY is open. The paths that commit call
      // `settle` first; here a failed COPY only leaves the transaction aborted (the query says so).
      if (stream !== undefined) yield* Effect.ignore(endCopy)
      if (client === undefined) client = yield* connect
      const c = client
      return yield* Effect.tryPromise({ try: () => c.query(text, params as Array<unknown>), catch: lost(c) })
    })
  const copy = (statement: string, input: CopyInput) =>
    Effect.gen(function*() {
      if (client === undefined) client = yield* connect
      const c = client
      return yield* Effect.tryPromise({ try: () => copyRows(c, statement, input), catch: lost(c) })
    })

  const loadColumns = Effect.gen(function*() {
    const result = yield* q(COLUMNS_SQL, [tableName, schemaName ?? null])
    columns = toColumns(result.rows)
    key = config.key ?? primaryKey(columns)
  })

  yield* Effect.addFinalizer((exit) =>
    Effect.gen(function*() {
      // A normal end commits the tail; a failure or interruption leaves it to the rollback.
      // (Staged rows not pre-committed belong to no checkpoint: always rolled back.)
      // (Prepared mode: rows after the last prepared checkpoint likewise.)
      if (inTx) yield* q(exit._tag === "Success" && !staged && !(twoPhase && checkpointing) ? "COMMIT" : "ROLLBACK").pipe(Effect.ignore)
      yield* disconnect
      if (staged && exit._tag === "Success") yield* dropStageIfDone.pipe(Effect.ignore)
      yield* disconnectCtl
    })
  )
  yield* loadColumns.pipe(Effect.mapError(classify(CONNECTOR, "open")))
  if (twoPhase) {
    const max = yield* q("SHOW max_prepared_transactions").pipe(Effect.mapError(classify(CONNECTOR, "open")))
    if (Number(max.rows[0]?.max_prepared_transactions ?? 0) <= 0) {
      return yield* configurationError(
        CONNECTOR,
        "open",
        "two_phase: prepared needs max_prepared_transactions > 0 on the server (it is 0): set it in postgresql.conf and restart the server, or use two_phase: staged"
      )
    }
  }
  if (columns.length === 0 && config.create_table !== true) {
    return yield* configurationError(CONNECTOR, "open", `table '${table}' does not exist (set create_table: true to create it)`)
  }
  if (mode === "upsert" && columns.length > 0 && key.length === 0) {
    return yield* configurationError(CONNECTOR, "open", `mode: upsert needs 'key' or a primary key on '${table}'`)
  }

  const createTable = (images: ReadonlyArray<Row>) =>
    Effect.gen(function*() {
      const names = Object.keys(images[0] ?? {})
      const defs = names.map((n) => `${pg.escapeIdentifier(n)} ${inferType(images.map((r) => r[n]))}`)
      const keyCols = config.key ?? []
      if (keyCols.length > 0) defs.push(`PRIMARY KEY (${keyCols.map((k) => pg.escapeIdentifier(k)).join(", ")})`)
      yield* q(`CREATE TABLE IF NOT EXISTS ${target} (${defs.join(", ")})`)
      yield* loadColumns
    })

  /** The columns a batch writes: every field of its (upsert) images, plus the key in upsert mode. */
  const batchColumns = (p: Prepared): ReadonlyArray<Column> | string => {
    const names = new Set<string>()
    let shape: Row | undefined
    for (let i = 0; i < p.images.length; i++) {
      if (p.ops !== undefined && p.ops[i] !== "u") continue
      const image = p.images[i]
      // Records of one type share their keys: only look at the keys of a record shaped differently.
      if (shape !== undefined && sameKeys(shape, image)) continue
      shape = image
      for (const k in image) names.add(k)
    }
    if (names.size === 0) for (const k of key) names.add(k)
    const out: Array<Column> = []
    for (const n of names) {
      const col = columns.find((c) => c.name === n)
      if (col === undefined) return `field '${n}' has no column in table '${table}'`
      out.push(col)
    }
    if (mode === "upsert") {
      for (const k of key) if (!out.some((c) => c.name === k)) out.push(columns.find((c) => c.name === k)!)
    }
    return out
  }

  const shapeOf = (names: ReadonlyArray<string>): number => {
    const k = names.join("\0")
    let i = shapeIndex.get(k)
    if (i === undefined) {
      i = shapes.length
      shapes.push(names)
      shapeIndex.set(k, i)
    }
    return i
  }

  /**
   * Creates the staging table if it does not exist. Run at the start of a staged transaction,
   * before any savepoint: created under a savepoint that a rejected row then rolls back, the table
   * would be gone while the writer believed it there.
   */
  const ensureStage = Effect.gen(function*() {
    const exists = yield* q(`SELECT to_regclass($1) IS NOT NULL AS e`, [stageTable])
    if (exists.rows[0].e !== true) {
      // The constant columns default to the transaction's settings: a COPY of CSV bytes (which
      // cannot carry them) sets those instead. NOT NULL: a row without them fails loudly.
      yield* q(`CREATE TABLE ${stageTable} AS SELECT *, 0::bigint AS "__df_epoch", 0::int AS "__df_shape" FROM ${target} WITH NO DATA`)
      yield* q(
        `ALTER TABLE ${stageTable} ALTER COLUMN "__df_epoch" SET DEFAULT current_setting('dataflare.epoch')::bigint, ALTER COLUMN "__df_epoch" SET NOT NULL, ALTER COLUMN "__df_shape" SET DEFAULT current_setting('dataflare.shape')::int, ALTER COLUMN "__df_shape" SET NOT NULL`
      )
    }
    stageInTx = true
  })

  /** The COPY of an `insert` / `replace` batch with these columns (into the staging table when staged). */
  const insertCopy = (names: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const list = names.map((n) => pg.escapeIdentifier(n)).join(", ")
      const options = config.copy_format === "binary" ? " (FORMAT binary)" : ""
      if (!staged) return { statement: `COPY ${target} (${list}) FROM STDIN${options}`, into: target, tag: undefined }
      if (!stageInTx) yield* ensureStage
      const tag: StageTag = { epoch, shape: shapeOf(names) }
      return {
        statement: `COPY ${stageTable} (${list}${list.length > 0 ? ", " : ""}"__df_epoch", "__df_shape") FROM STDIN${options}`,
        into: stageTable,
        tag
      }
    })

  /**
   * Streams a batch into the transaction's open COPY (opening one, or another when the batch's
   * columns differ): no round trip per batch, and the server parses while the next batch is
   * encoded. A rejected row surfaces later, when the COPY ends (see `settle`).
   */
  const streamRows = (p: Prepared, cols: ReadonlyArray<Column>) =>
    Effect.gen(function*() {
      const names = cols.map((c) => c.name)
      const binary = config.copy_format === "binary"
      const shape = staged ? shapeOf(names) : 0
      const key = `${shape}\0${names.join("\0")}`
      if (stream !== undefined && stream.key !== key) yield* endCopy
      if (stream === undefined) {
        const { statement } = yield* insertCopy(names)
        stream = new CopyStream(client!, statement, key, binary)
      }
      const s = stream
      const c = client!
      const tag: StageTag | undefined = staged ? { epoch, shape } : undefined
      const encodings: Array<Encoding> = cols.map(encodingOf)
      const oids = cols.map((col) => col.oid)
      for (let i = 0; i < p.images.length; i += STREAM_SLICE) {
        const to = Math.min(p.images.length, i + STREAM_SLICE)
        const chunk = yield* Effect.try({
          try: () =>
            binary
              ? encodeBinaryRows(p.images, names, oids, undefined, false, i, to, tag)
              : encodeTextRows(p.images, names, encodings, undefined, false, i, to, tag),
          catch: (e) => e
        })
        yield* Effect.tryPromise({ try: () => s.write(chunk), catch: lost(c) })
      }
    })

  /**
   * Whether a CSV batch's bytes can be written as they are: `insert` / `replace`, every CSV column
   * is a column of the table and none is `json` / `jsonb` (a string field goes there as a JSON
   * string, not parsed). Otherwise the decoded records are written.
   */
  const canPass = (csv: Batch.CsvEncoded): boolean =>
    mode !== "upsert" && columns.length > 0 && csv.columns.every((name) => {
      const col = columns.find((c) => c.name === name)
      return col !== undefined && encodingOf(col) !== "json"
    })

  /**
   * The COPY of CSV bytes: PostgreSQL's CSV reader with the batch's delimiter; an empty field is
   * `""` in a string column (`FORCE_NOT_NULL`, as the csv source reads it) and NULL in a typed one
   * (`FORCE_NULL`, quoted or not). Staged, the constant columns come from the settings (see
   * `insertCopy`), set here for the transaction.
   */
  const passCopy = (csv: Batch.CsvEncoded) =>
    Effect.gen(function*() {
      const { into, tag } = yield* insertCopy(csv.columns)
      if (tag !== undefined) {
        yield* q(`SELECT set_config('dataflare.epoch', $1, true), set_config('dataflare.shape', $2, true)`, [
          String(tag.epoch),
          String(tag.shape)
        ])
      }
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
    })

  const bytesOf = (csv: Batch.CsvEncoded): Buffer => Buffer.from(csv.bytes.buffer, csv.bytes.byteOffset, csv.bytes.byteLength)

  /** Streams CSV bytes into the transaction's open COPY (see `streamRows`). */
  const streamPassed = (w: Passed) =>
    Effect.gen(function*() {
      const shape = staged ? shapeOf(w.csv.columns) : 0
      const key = `csv\0${shape}\0${w.csv.delimiter}\0${w.csv.columns.join("\0")}\0${w.csv.emptyIsNull.join(",")}`
      if (stream !== undefined && stream.key !== key) yield* endCopy
      if (stream === undefined) {
        const statement = yield* passCopy(w.csv)
        stream = new CopyStream(client!, statement, key, false)
      }
      const s = stream
      const c = client!
      yield* Effect.tryPromise({ try: () => s.write(bytesOf(w.csv)), catch: lost(c) })
    })

  /** The records of a passed batch, or the source's error for one that does not decode. */
  const decoded = (w: Passed): Effect.Effect<Prepared, unknown> => {
    const records = Batch.decodeRecords(w.batch)
    return "error" in records ? Effect.fail(records.error) : Effect.succeed(prepare(records))
  }

  /**
   * Writes CSV bytes with one COPY under a savepoint; when the server rejects them, writes the
   * decoded records instead (row isolation, dead letters, the source's own record errors).
   */
  const writePassed = (w: Passed): Effect.Effect<number, unknown> =>
    Effect.gen(function*() {
      yield* q("SAVEPOINT df_part")
      const statement = yield* passCopy(w.csv)
      if (client === undefined) client = yield* connect
      const c = client
      const ok = yield* Effect.tryPromise({
        try: () => {
          const s = new CopyStream(c, statement, "", false)
          return s.write(bytesOf(w.csv)).then(() => s.end())
        },
        catch: lost(c)
      }).pipe(Effect.as(true), Effect.catchIf(isRowRejection, () => Effect.succeed(false)))
      if (ok) {
        yield* q("RELEASE SAVEPOINT df_part")
        return Batch.size(w.batch)
      }
      yield* q("ROLLBACK TO SAVEPOINT df_part")
      yield* q("RELEASE SAVEPOINT df_part")
      return yield* writeBatchRows(yield* decoded(w))
    })

  /** Writes prepared rows inside the open transaction (no savepoint handling). */
  const writeRaw = (p: Prepared, cols: ReadonlyArray<Column>) =>
    Effect.gen(function*() {
      const names = cols.map((c) => c.name)
      const encodings: Array<Encoding> = cols.map(encodingOf)
      const list = names.map((n) => pg.escapeIdentifier(n)).join(", ")
      const format = config.copy_format ?? "text"
      const options = format === "binary" ? " (FORMAT binary)" : ""
      const input = { rows: p.images, columns: names, encodings, oids: cols.map((c) => c.oid), ops: p.ops, format }
      if (mode !== "upsert") {
        const { statement, tag } = yield* insertCopy(names)
        return yield* copy(statement, { ...input, staged: false, tag })
      }
      yield* q(
        `CREATE TEMP TABLE IF NOT EXISTS ${STAGE} ON COMMIT DELETE ROWS AS SELECT *, ''::text AS "__df_op", 0 AS "__df_seq" FROM ${target} WITH NO DATA`
      )
      yield* copy(`COPY ${STAGE} (${list}${list.length > 0 ? ", " : ""}"__df_op", "__df_seq") FROM STDIN${options}`, {
        ...input,
        staged: true
      })
      const keyList = key.map((k) => pg.escapeIdentifier(k)).join(", ")
      const match = key.map((k) => `t.${pg.escapeIdentifier(k)} = l.${pg.escapeIdentifier(k)}`).join(" AND ")
      const updates = names.filter((n) => !key.includes(n)).map((n) => `${pg.escapeIdentifier(n)} = EXCLUDED.${pg.escapeIdentifier(n)}`)
      const conflict = updates.length > 0 ? `DO UPDATE SET ${updates.join(", ")}` : "DO NOTHING"
      const deletes = p.ops?.includes("d") === true
      yield* q(
        `WITH last AS (SELECT DISTINCT ON (${keyList}) * FROM ${STAGE} ORDER BY ${keyList}, "__df_seq" DESC)` +
          (deletes ? `, gone AS (DELETE FROM ${target} t USING last l WHERE l."__df_op" = 'd' AND ${match})` : "") +
          ` INSERT INTO ${target} (${list}) SELECT ${list} FROM last WHERE "__df_op" = 'u' ON CONFLICT (${keyList}) ${conflict}`
      )
      yield* q(`TRUNCATE ${STAGE}`)
      return p.images.length
    })

  const isRowRejection = (e: unknown): boolean => {
    const code = sqlState(e)
    return code !== undefined && (code.startsWith("22") || code.startsWith("23"))
  }

  const deadLetter = (rows: ReadonlyArray<{ row: Row; error: unknown }>) =>
    Effect.gen(function*() {
      const at = new Date(yield* Clock.currentTimeMillis).toISOString()
      const text = rows.map(({ error, row }) =>
        toJson({ table, node: context.node, at, sqlstate: sqlState(error) ?? null, error: reasonOf(error).message, record: row })
      ).join("\n") + "\n"
      yield* Effect.tryPromise({ try: () => appendFile(config.dead_letter!.path, text), catch: (e) => e })
    })

  /** Writes a batch under a savepoint; on a row-level rejection, bisects to find the bad rows. */
  const writeBatchRows = (p: Prepared): Effect.Effect<number, unknown> =>
    Effect.gen(function*() {
      if (p.images.length === 0) return 0
      const cols = batchColumns(p)
      if (typeof cols === "string") return yield* configurationError(CONNECTOR, "write", cols)
      const bad: Array<{ row: Row; error: unknown }> = []
      const attempt = (part: Prepared): Effect.Effect<number, unknown> =>
        Effect.gen(function*() {
          yield* q("SAVEPOINT df_part")
          const result = yield* writeRaw(part, cols).pipe(
            Effect.map((n) => ({ ok: true as const, n })),
            Effect.catchIf(isRowRejection, (error) => Effect.succeed({ ok: false as const, error }))
          )
          if (result.ok) {
            yield* q("RELEASE SAVEPOINT df_part")
            return result.n
          }
          yield* q("ROLLBACK TO SAVEPOINT df_part")
          yield* q("RELEASE SAVEPOINT df_part")
          if (part.images.length === 1) {
            bad.push({ row: part.images[0], error: result.error })
            if (onError === "fail") return yield* Effect.fail(result.error)
            return 0
          }
          const mid = part.images.length >> 1
          const left = yield* attempt(slicePrepared(part, 0, mid))
          if (onError === "fail" && bad.length > 0) return left
          return left + (yield* attempt(slicePrepared(part, mid, part.images.length)))
        })
      const written = yield* attempt(p).pipe(
        Effect.catchIf(
          (e) => bad.length > 0 && onError === "fail" && isRowRejection(e),
          (error) => {
            const row = bad[0].row
            const text = toJson(row)
            return Effect.fail(
              new RecordError({
                detail: `${table}: ${reasonOf(error).message}; row: ${text.length > 500 ? text.slice(0, 500) + "..." : text}`,
                record: row
              })
            )
          }
        )
      )
      if (bad.length > 0) yield* deadLetter(bad)
      return written
    })

  const begin = Effect.gen(function*() {
    if (!replayable) {
      // Prepared mode: the lost transaction held more rows than are kept for a replay.
      return yield* new ConnectorError({
        connector: CONNECTOR,
        operation: "write",
        reason: new RejectedError({
          message: `the open transaction (more than ${INTERMEDIATE_COMMIT_ROWS} rows since the last checkpoint) was lost and cannot be written again here; the task restarts from the last checkpoint (two_phase: prepared)`
        })
      })
    }
    yield* q("BEGIN")
    inTx = true
    segment = false
    stageInTx = false
    stream = undefined
    // (prepared: a DELETE, so that readers see the old rows, not wait on a TRUNCATE's lock,
    // while the transaction stays open and prepared until its checkpoint completes)
    if (mode === "replace" && !replaced && !staged) yield* q(twoPhase ? `DELETE FROM ${target}` : `TRUNCATE ${target}`)
    // the staging table exists before any savepoint of the transaction (see ensureStage)
    if (staged && columns.length > 0) yield* ensureStage
    for (const w of pending) yield* (isPassed(w) ? writePassed(w) : writeBatchRows(w))
    if (twoPhase && pending.length > 0) {
      // replayed outside any segment: a second loss in this transaction cannot be replayed
      pending = []
      pendingRows = 0
      replayable = false
    }
  })
  const commitTx = Effect.gen(function*() {
    yield* q("COMMIT")
    inTx = false
    careful = false
    pending = []
    pendingRows = 0
    if (mode === "replace" && !staged) replaced = true
  })
  /**
   * Ends the open COPY before the transaction commits. If the server rejected a streamed row, the
   * transaction is rolled back and its batches are written again one COPY each under a savepoint,
   * where a rejected row is isolated by bisection (and fails the write or goes to the dead letters).
   */
  const settle = Effect.gen(function*() {
    if (twoPhase) return yield* endSegment(false)
    if (stream === undefined) return
    const ok = yield* endCopy.pipe(Effect.as(true), Effect.catchIf(isRowRejection, () => Effect.succeed(false)))
    if (!ok) yield* redoCarefully
  })
  /**
   * Prepared mode: ends the open segment — its COPY, then `RELEASE SAVEPOINT`. When a row was
   * rejected (`failed`, or at the end of the COPY), the segment is rolled back to its savepoint and
   * its batches are written again one COPY each under a savepoint of their own (row isolation).
   * The segment's batches then leave `pending`: the transaction holds rows no longer kept for a
   * replay, so a lost session now fails the task (it restarts from the last checkpoint).
   */
  const endSegment = (failed: boolean) =>
    Effect.gen(function*() {
      if (!segment) return
      let ok = !failed
      if (stream !== undefined) {
        const ended = yield* endCopy.pipe(Effect.as(true), Effect.catchIf(isRowRejection, () => Effect.succeed(false)))
        ok = ok && ended
      }
      if (!ok) {
        yield* q("ROLLBACK TO SAVEPOINT df_segment")
        for (const w of pending) yield* (isPassed(w) ? writePassed(w) : writeBatchRows(w))
      }
      yield* q("RELEASE SAVEPOINT df_segment")
      segment = false
      if (pending.length > 0) replayable = false
      pending = []
      pendingRows = 0
    })
  const redoCarefully = Effect.gen(function*() {
    yield* q("ROLLBACK")
    inTx = false
    careful = true
    yield* begin
  })
  const recover = (error: unknown) =>
    isConnectionLoss(error) ? disconnect : inTx ? q("ROLLBACK").pipe(
        Effect.ignore,
        Effect.andThen(Effect.sync(() => {
          inTx = false
        }))
      ) : Effect.void
  const retrying = <A>(operation: string, effect: Effect.Effect<A, unknown>): Effect.Effect<A, ConnectorError | RecordError> =>
    effect.pipe(
      Effect.tapError(recover),
      Effect.retry({
        schedule: Schedule.exponential(delay),
        times: attempts,
        while: (e: unknown) => !(e instanceof RecordError) && isRetryable(e)
      }),
      Effect.mapError((e) => (e instanceof RecordError ? e : classify(CONNECTOR, operation)(e)))
    )
  /** `retrying` for operations that write no rows themselves (a row error there is a rejection). */
  const retryingTx = <A>(operation: string, effect: Effect.Effect<A, unknown>): Effect.Effect<A, ConnectorError> =>
    retrying(operation, effect).pipe(
      Effect.mapError((e) =>
        e instanceof RecordError
          ? new ConnectorError({ connector: CONNECTOR, operation, reason: new RejectedError({ message: e.message }) })
          : e
      )
    )

  const retryingCtl = <A>(operation: string, effect: Effect.Effect<A, unknown>): Effect.Effect<A, ConnectorError> =>
    effect.pipe(
      Effect.tapError((error) => (isConnectionLoss(error) ? disconnectCtl : cq("ROLLBACK").pipe(Effect.ignore))),
      Effect.retry({ schedule: Schedule.exponential(delay), times: attempts, while: isRetryable }),
      Effect.mapError((e) => classify(CONNECTOR, operation)(e))
    )

  const CHECKPOINT_DDL =
    `CREATE TABLE IF NOT EXISTS ${cpTable} (workflow text NOT NULL, node text NOT NULL, checkpoint_id bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (workflow, node))`
  const MARKS_DDL =
    `CREATE TABLE IF NOT EXISTS ${marksTable} (workflow text NOT NULL, node text NOT NULL, epoch bigint NOT NULL, checkpoint_id bigint NOT NULL, shapes jsonb NOT NULL, PRIMARY KEY (workflow, node, epoch))`
  const ensureCheckpointTable = q(CHECKPOINT_DDL)
  const lastCommitted = Effect.gen(function*() {
    yield* ensureCheckpointTable
    const r = yield* q(`SELECT checkpoint_id::text AS id FROM ${cpTable} WHERE workflow = $1 AND node = $2`, [workflow, nodeKey])
    return r.rows.length === 0 ? undefined : Number(r.rows[0].id)
  })

  /**
   * Removes the staged rows of `epochs` (inside the control transaction): a TRUNCATE when no
   * other session uses the staging table and nothing else is staged, a DELETE otherwise.
   */
  const clearStaged = (epochs: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      yield* cq("SAVEPOINT df_lock")
      const locked = yield* cq(`LOCK TABLE ${stageTable} IN ACCESS EXCLUSIVE MODE NOWAIT`).pipe(
        Effect.as(true),
        Effect.catchIf((e) => sqlState(e) === "55P03", () => Effect.succeed(false))
      )
      if (!locked) {
        yield* cq("ROLLBACK TO SAVEPOINT df_lock")
      }
      yield* cq("RELEASE SAVEPOINT df_lock")
      if (locked) {
        const other = yield* cq(`SELECT EXISTS (SELECT 1 FROM ${stageTable} WHERE NOT ("__df_epoch" = ANY($1::bigint[]))) AS other`, [epochs])
        if (other.rows[0].other !== true) return yield* cq(`TRUNCATE ${stageTable}`)
      }
      yield* cq(`DELETE FROM ${stageTable} WHERE "__df_epoch" = ANY($1::bigint[])`, [epochs])
    })

  /**
   * Inside the control transaction: moves the staged rows of every mark `<= n` into the target
   * (truncating it first in `replace` mode, once), deletes them and their marks, and records `n`
   * as applied. Running it again finds nothing left to move.
   */
  const applyUpTo = (n: number) =>
    Effect.gen(function*() {
      const marks = yield* cq(
        `SELECT epoch::text AS epoch, shapes FROM ${marksTable} WHERE workflow = $1 AND node = $2 AND checkpoint_id <= $3 ORDER BY epoch`,
        [workflow, nodeKey, n]
      )
      if (mode === "replace" && !replaced) yield* cq(`TRUNCATE ${target}`)
      if (marks.rows.length > 0) {
        const epochs = marks.rows.map((r) => String(r.epoch))
        // Shapes only grow within a run: the last mark lists all of them.
        const kinds = marks.rows[marks.rows.length - 1].shapes as ReadonlyArray<ReadonlyArray<string>>
        for (let i = 0; i < kinds.length; i++) {
          const list = kinds[i].map((c) => pg.escapeIdentifier(c)).join(", ")
          yield* cq(
            `INSERT INTO ${target} ${list.length > 0 ? `(${list}) ` : ""}SELECT ${list} FROM ${stageTable} WHERE "__df_epoch" = ANY($1::bigint[]) AND "__df_shape" = $2`,
            [epochs, i]
          )
        }
        yield* clearStaged(epochs)
        yield* cq(`DELETE FROM ${marksTable} WHERE workflow = $1 AND node = $2 AND checkpoint_id <= $3`, [workflow, nodeKey, n])
      }
      yield* cq(
        `INSERT INTO ${cpTable} AS c (workflow, node, checkpoint_id) VALUES ($1, $2, $3) ON CONFLICT (workflow, node) DO UPDATE SET checkpoint_id = GREATEST(c.checkpoint_id, EXCLUDED.checkpoint_id), committed_at = now()`,
        [workflow, nodeKey, n]
      )
    })

  /** Drops the staging table at a normal end when nothing staged is left to apply. */
  const dropStageIfDone = Effect.gen(function*() {
    const left = yield* cq(`SELECT 1 FROM ${marksTable} WHERE workflow = $1 AND node = $2 LIMIT 1`, [workflow, nodeKey])
    if (left.rows.length === 0) yield* cq(`DROP TABLE IF EXISTS ${stageTable}`)
  })

  const restoreStaged = (checkpointId: number | undefined) =>
    retryingCtl(
      "restore",
      Effect.gen(function*() {
        yield* cq("BEGIN")
        yield* cq(CHECKPOINT_DDL)
        yield* cq(MARKS_DDL)
        if (checkpointId === undefined) {
          // A run from the start: nothing staged or applied before counts.
          yield* cq(`DELETE FROM ${cpTable} WHERE workflow = $1 AND node = $2`, [workflow, nodeKey])
          replaced = false
        } else {
          const applied = yield* cq(`SELECT 1 FROM ${cpTable} WHERE workflow = $1 AND node = $2`, [workflow, nodeKey])
          replaced = applied.rows.length > 0
          // Pre-committed up to the completed checkpoint, but not applied before the crash.
          yield* applyUpTo(checkpointId)
        }
        // Everything else staged belongs to checkpoints that never completed.
        yield* cq(`DELETE FROM ${marksTable} WHERE workflow = $1 AND node = $2`, [workflow, nodeKey])
        yield* cq(`DROP TABLE IF EXISTS ${stageTable}`)
        yield* cq("COMMIT")
        replaced = checkpointId !== undefined
        staged = true
        epoch = 1
        epochCommitted = false
        shapes.length = 0
        shapeIndex.clear()
      })
    )

  /**
   * A `preCommit` retried after transient errors. When a retry finds the session lost (no open
   * transaction), the commit may have reached the server before the connection went: `landed`
   * checks that, and then `done` settles the writer's state instead of running `body` again.
   */
  const preCommitRetried = (landed: Effect.Effect<boolean, unknown>, done: () => void, body: Effect.Effect<void, unknown>) => {
    let first = true
    return retryingTx(
      "preCommit",
      Effect.gen(function*() {
        if (!first && !inTx && (yield* landed)) return done()
        first = false
        yield* body
      })
    )
  }

  /**
   * Prepared mode (`two_phase: prepared`): the rows since the last checkpoint are in one open
   * transaction on the target; `preCommit(n)` prepares it as `dataflare:<hash>:n` (durable, not
   * visible, the session free again); `commit(n)` commits every prepared id `<= n` on the control
   * session; `restore(k)` commits the prepared ids `<= k` a crash left behind and rolls back the
   * others. No row is written twice. The batches are streamed into the transaction's COPY in
   * segments of up to INTERMEDIATE_COMMIT_ROWS rows, each under a savepoint (see `endSegment`: a
   * rejected row rolls back only its segment); the open transaction is replayed after a lost
   * session only while it is in its first segment (beyond, the write fails and the task restarts
   * from the last checkpoint).
   */
  const preCommitPrepared = (checkpointId: number) =>
    preCommitRetried(
      // the PREPARE reached the server
      Effect.map(q(`SELECT 1 FROM pg_prepared_xacts WHERE gid = $1`, [gidOf(checkpointId)]), (r) => r.rows.length > 0),
      () => afterPrepare(checkpointId),
      Effect.gen(function*() {
        if (!inTx) yield* begin
        yield* settle
        yield* q(`PREPARE TRANSACTION '${gidOf(checkpointId)}'`)
        afterPrepare(checkpointId)
      })
    )
  const afterPrepare = (checkpointId: number) => {
    inTx = false
    pending = []
    pendingRows = 0
    replayable = true
    prepared.push(checkpointId)
    if (mode === "replace") replaced = true
  }
  /** Commits (`commit`) or rolls back prepared transactions of this instance, on the control session. */
  const finishPrepared = (ids: ReadonlyArray<number>, how: "COMMIT" | "ROLLBACK") =>
    Effect.forEach(ids, (id) =>
      cq(`${how} PREPARED '${gidOf(id)}'`).pipe(
        // already finished (a retry after the statement reached the server)
        Effect.catchIf((e) => sqlState(e) === "42704", () => Effect.void)
      ), { discard: true })
  const restorePrepared = (checkpointId: number | undefined) =>
    retryingCtl(
      "restore",
      Effect.gen(function*() {
        const left = yield* cq(`SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1)`, [gidPrefix])
        const ids = left.rows.map((r) => Number(String(r.gid).slice(gidPrefix.length))).filter((n) => Number.isSafeInteger(n))
        yield* finishPrepared(ids.filter((n) => checkpointId !== undefined && n <= checkpointId), "COMMIT")
        yield* finishPrepared(ids.filter((n) => checkpointId === undefined || n > checkpointId), "ROLLBACK")
        prepared = []
        replayable = true
        replaced = checkpointId !== undefined
      })
    )

  const preCommitStaged = (checkpointId: number) =>
    preCommitRetried(
      // the epoch's mark was committed
      Effect.map(
        q(`SELECT 1 FROM ${marksTable} WHERE workflow = $1 AND node = $2 AND epoch = $3`, [workflow, nodeKey, epoch]),
        (r) => r.rows.length > 0
      ),
      () => {
        pending = []
        pendingRows = 0
        epoch++
        epochCommitted = false
      },
      Effect.gen(function*() {
        if (!inTx && pending.length === 0 && !epochCommitted) return
        if (!inTx) yield* begin
        yield* settle
        yield* q(`INSERT INTO ${marksTable} (workflow, node, epoch, checkpoint_id, shapes) VALUES ($1, $2, $3, $4, $5)`, [
          workflow,
          nodeKey,
          epoch,
          checkpointId,
          JSON.stringify(shapes)
        ])
        yield* commitTx
        epoch++
        epochCommitted = false
      })
    )

  /**
   * Writes a batch in the open transaction. With checkpoints (`insert` / `replace`), streamed into
   * the transaction's COPY and kept for a replay; a rejected row makes the transaction be written
   * again carefully (one COPY per batch under a savepoint). Without, one COPY under a savepoint.
   */
  const write = (w: Written) =>
    Effect.gen(function*() {
      if (!inTx) yield* begin
      const n = sizeOf(w)
      if (checkpointing && mode !== "upsert" && !careful && n > 0) {
        if (twoPhase && !segment) {
          yield* q("SAVEPOINT df_segment")
          segment = true
        }
        let streamed: Effect.Effect<void, unknown>
        if (isPassed(w)) streamed = streamPassed(w)
        else {
          const cols = batchColumns(w)
          if (typeof cols === "string") return yield* configurationError(CONNECTOR, "write", cols)
          streamed = streamRows(w, cols)
        }
        const ok = yield* streamed.pipe(Effect.as(true), Effect.catchIf(isRowRejection, () => Effect.succeed(false)))
        if (!ok && twoPhase) {
          // a rejected row in this segment: write its batches again one by one
          pending.push(w)
          yield* endSegment(true)
          return { written: n }
        }
        if (!ok) {
          // This batch or an earlier one of the transaction has a rejected row.
          yield* Effect.ignore(endCopy)
          yield* redoCarefully
          yield* (isPassed(w) ? writePassed(w) : writeBatchRows(w))
        }
        pending.push(w)
        pendingRows += n
        if (pendingRows >= INTERMEDIATE_COMMIT_ROWS && twoPhase) {
          // Bound the rows kept for a replay: the transaction stays open until the checkpoint,
          // the segment ends (its rows checked) and a new one starts.
          yield* endSegment(false)
        } else if (pendingRows >= INTERMEDIATE_COMMIT_ROWS) {
          // Bound the rows kept for a replay: commit what is streamed so far. Staged, the
          // rows stay invisible until the epoch's mark; at-least-once, they become visible.
          yield* settle
          yield* commitTx
          if (staged) epochCommitted = true
        }
        return { written: n }
      }
      const written = yield* (isPassed(w) ? writePassed(w) : writeBatchRows(w))
      if (checkpointing) pending.push(w)
      else yield* commitTx
      return { written }
    })

  return {
    writeBatch: (batch: Batch.Batch<Row>) =>
      Effect.suspend(() => {
        const encoded = Batch.encodedOf(batch)
        const csv = encoded?.format === "text/csv" ? encoded : undefined
        if (csv !== undefined && canPass(csv)) return retrying("write", write({ csv, batch }))
        const records = Batch.decodeRecords(batch)
        if ("error" in records) {
          return records.error instanceof RecordError ? Effect.fail(records.error) : Effect.die(records.error)
        }
        const p = prepare(records)
        if (p.ops !== undefined && mode !== "upsert") {
          return Effect.fail(configurationError(CONNECTOR, "write", "change records need mode: upsert"))
        }
        return retrying(
          "write",
          Effect.gen(function*() {
            if (columns.length === 0) yield* createTable(p.images)
            return yield* write(p)
          })
        )
      }),
    flush: Effect.suspend(() => (checkpointing || !inTx ? Effect.void : retryingTx("flush", commitTx))),
    preCommit: (checkpointId: number) =>
      Effect.suspend(() => {
        checkpointing = true
        if (staged) return preCommitStaged(checkpointId)
        if (twoPhase) return preCommitPrepared(checkpointId)
        return preCommitRetried(
          // the checkpoint id was committed with the rows
          Effect.map(lastCommitted, (id) => id === checkpointId),
          () => {
            pending = []
            pendingRows = 0
          },
          Effect.gen(function*() {
            if (!inTx) yield* begin
            yield* settle
            yield* ensureCheckpointTable
            yield* q(
              `INSERT INTO ${cpTable} (workflow, node, checkpoint_id) VALUES ($1, $2, $3) ON CONFLICT (workflow, node) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id, committed_at = now()`,
              [workflow, nodeKey, checkpointId]
            )
            yield* commitTx
          })
        )
      }),
    // Staged: move what was pre-committed up to the completed checkpoint into the target. Otherwise
    // the rows and the checkpoint id were committed together in `preCommit`; nothing is left.
    commit: (checkpointId: number) =>
      Effect.suspend(() =>
        twoPhase
          ? retryingCtl(
            "commit",
            Effect.suspend(() => {
              const due = prepared.filter((n) => n <= checkpointId)
              return finishPrepared(due, "COMMIT").pipe(Effect.andThen(Effect.sync(() => {
                prepared = prepared.filter((n) => n > checkpointId)
              })))
            })
          )
          : !staged ? Effect.void : retryingCtl(
          "commit",
          Effect.gen(function*() {
            yield* cq("BEGIN")
            yield* applyUpTo(checkpointId)
            yield* cq("COMMIT")
            replaced = true
          })
        )
      ),
    restore: (checkpointId: number | undefined) =>
      Effect.suspend(() => {
        checkpointing = true
        pending = []
        pendingRows = 0
        return retryingTx(
          "restore",
          Effect.gen(function*() {
            if (inTx) {
              yield* q("ROLLBACK")
              inTx = false
            }
            if (staging || twoPhase) return
            // Not staged: the replay writes every record after the checkpoint again (upsert
            // overwrites; insert may duplicate what a later, never completed, checkpoint committed).
            // A replace that committed before is not truncated again.
            const committed = checkpointId === undefined ? undefined : yield* lastCommitted
            replaced = committed !== undefined
          })
        ).pipe(Effect.andThen(staging ? restoreStaged(checkpointId) : twoPhase ? restorePrepared(checkpointId) : Effect.void))
      })
  }
})

const slicePrepared = (p: Prepared, from: number, to: number): Prepared => ({
  images: p.images.slice(from, to),
  ops: p.ops === undefined ? undefined : p.ops.slice(from, to)
})

const sameKeys = (a: Row, b: Row): boolean => {
  let n = 0
  for (const k in b) {
    if (!(k in a)) return false
    n++
  }
  let m = 0
  for (const _ in a) m++
  return n === m
}
