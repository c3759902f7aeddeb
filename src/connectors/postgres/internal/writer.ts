/**
 * The writer of the `postgres` sink: opens the target's description and the write transaction,
 * chooses the commit protocol once (`direct`, `staged` or `prepared`, see `protocol.ts`), and
 * turns batches into what the protocol writes: records into row images (change records into
 * upserts and deletes), CSV or PostgreSQL COPY bytes passed through as they are when the table
 * can take them.
 *
 * The parts: `session.ts` (a connection, its transaction and open COPY), `stream.ts` (COPY
 * statements and streaming), `isolate.ts` (row isolation, dead letters), `upsert.ts` (the merge),
 * `ddl.ts` (the tables the sink creates), `transaction.ts` (the write transaction shared by the
 * protocols, retries), `directProtocol.ts`, `stagedProtocol.ts`, `preparedProtocol.ts`.
 */
import { Effect, type Scope } from "effect"
import * as Batch from "../../../Batch.ts"
import type * as Connector from "../../../Connector.ts"
import { type ConnectorError, RecordError } from "../../../Errors.ts"
import type { SinkConfig } from "../PostgresConfig.ts"
import { classify, configurationError } from "../PostgresError.ts"
import { COLUMNS_SQL, primaryKey, toColumns } from "./catalog.ts"
import { quoteIdent, splitName } from "./client.ts"
import { encodingOf } from "./copy.ts"
import { createTableSql } from "./ddl.ts"
import { atLeastOnceProtocol } from "./atLeastOnceProtocol.ts"
import { directProtocol } from "./directProtocol.ts"
import { checkPreparedTransactions, preparedProtocol } from "./preparedProtocol.ts"
import { type CommitProtocol, protocolOf } from "./protocol.ts"
import { prepare, type Row } from "./rows.ts"
import { Session } from "./session.ts"
import { stagedProtocol } from "./stagedProtocol.ts"
import { CONNECTOR, type Target, WriteTx } from "./transaction.ts"

export { preparedPrefix } from "./preparedProtocol.ts"


/** Opens the writer for one sink instance. */
export const makeWriter = Effect.fnUntraced(function*(
  config: SinkConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SinkWriter<Row>, ConnectorError, Scope.Scope> {
  const mode = config.mode ?? "insert"
  const [schemaName, tableName] = splitName(config.table)
  const target: Target = {
    config,
    context,
    table: config.table,
    quoted: quoteIdent(config.table),
    schemaName,
    tableName,
    mode,
    workflow: config.workflow ?? context.workflow ?? "default",
    nodeKey: `${context.node}#${context.instance}`,
    format: config.copy_format ?? "text",
    cpTable: quoteIdent(config.checkpoint_table ?? "dataflare_checkpoints"),
    columns: [],
    key: []
  }
  const tx = new WriteTx(target, new Session(config.connection_string))
  const kind = protocolOf(config)
  const protocol: CommitProtocol = kind === "staged"
    ? stagedProtocol(tx)
    : kind === "prepared"
    ? preparedProtocol(tx)
    : mode === "upsert"
    ? directProtocol(tx)
    : atLeastOnceProtocol(tx)

  const loadColumns = Effect.gen(function*() {
    const result = yield* tx.q(COLUMNS_SQL, [tableName, schemaName ?? null])
    target.columns = toColumns(result.rows)
    target.key = config.key ?? primaryKey(target.columns)
  })

  // after a failure or an interruption, what still runs on the data session (a COPY or statement
  // waiting on a lock, say) is cancelled before the protocol rolls back and disconnects
  yield* Effect.addFinalizer((exit) =>
    exit._tag === "Success" ? protocol.close(true) : Effect.andThen(tx.session.abort, protocol.close(false))
  )
  yield* loadColumns.pipe(Effect.mapError(classify(CONNECTOR, "open")))
  if (kind === "prepared") yield* checkPreparedTransactions(tx)
  if (target.columns.length === 0 && config.create_table !== true) {
    return yield* configurationError(CONNECTOR, "open", `table '${config.table}' does not exist (set create_table: true to create it)`)
  }

  /** Creates the table from its columns and their types (never guessed from values), with `key` as its primary key. */
  const createTable = (columns: ReadonlyArray<{ readonly name: string; readonly type: string }>) =>
    Effect.gen(function*() {
      yield* tx.q(createTableSql(target.quoted, columns, config.key ?? []))
      yield* loadColumns
    })
  if (target.columns.length === 0 && config.columns !== undefined) {
    const declared = Object.entries(config.columns).map(([name, type]) => ({ name, type }))
    yield* createTable(declared).pipe(Effect.mapError(classify(CONNECTOR, "open")))
  }
  if (target.columns.length > 0) {
    const missing = target.key.find((k) => !target.columns.some((c) => c.name === k))
    if (missing !== undefined) {
      return yield* configurationError(
        CONNECTOR,
        "open",
        `key column '${missing}' is not a column of table '${config.table}' (its columns: ${target.columns.map((c) => c.name).join(", ")})`
      )
    }
  }
  if (mode === "upsert" && target.columns.length > 0 && target.key.length === 0) {
    return yield* configurationError(CONNECTOR, "open", `mode: upsert needs 'key' or a primary key on '${config.table}'`)
  }
  /** `create_table` without `columns`: the types come with the first batch of a postgres source, or the write is refused. */
  const createFromBatch = (encoded: Batch.Encoded | undefined) =>
    Effect.gen(function*() {
      if (encoded?.format === "application/x-postgres-copy") {
        return yield* createTable(encoded.columns.map((name, i) => ({ name, type: encoded.types[i] })))
      }
      return yield* configurationError(
        CONNECTOR,
        "write",
        `table '${config.table}' does not exist and the types of its columns are unknown: declare them in the sink's config (columns: { name: type, ... }); create_table does not guess types from values`
      )
    })

  /**
   * Whether a batch's bytes can be written as they are (`insert` / `replace` into an existing
   * table; otherwise the decoded records are written):
   * - CSV: every CSV column is a column of the table and none is `json` / `jsonb` (a string field
   *   goes there as a JSON string, not parsed);
   * - PostgreSQL COPY text: every column is a column of the table of the same type (as
   *   `format_type` prints it), so the server reads each value as the source's server wrote it.
   */
  const canPass = (encoded: Batch.Encoded): encoded is Batch.CsvEncoded | Batch.PostgresCopyEncoded => {
    if (mode === "upsert" || target.columns.length === 0) return false
    if (encoded.format === "text/csv") {
      return encoded.columns.every((name) => {
        const col = target.columns.find((c) => c.name === name)
        return col !== undefined && encodingOf(col) !== "json"
      })
    }
    if (encoded.format !== "application/x-postgres-copy") return false
    return encoded.columns.every((name, i) => target.columns.find((c) => c.name === name)?.type === encoded.types[i])
  }

  const writeBatch = (batch: Batch.Batch<Row>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
      Effect.suspend(() => {
        const encoded = Batch.encodedOf(batch)
        if (target.columns.length === 0) {
          return tx.retrying("write", Effect.andThen(createFromBatch(encoded), writeBatch(batch)))
        }
        if (encoded !== undefined && canPass(encoded)) {
          return tx.retrying("write", Effect.map(protocol.write({ encoded, batch }), (written) => ({ written })))
        }
        const records = Batch.decodeRecords(batch)
        if ("error" in records) {
          return records.error instanceof RecordError ? Effect.fail(records.error) : Effect.die(records.error)
        }
        const p = prepare(records)
        if (p.ops !== undefined && mode !== "upsert") {
          return Effect.fail(configurationError(CONNECTOR, "write", "change records need mode: upsert"))
        }
        return tx.retrying("write", Effect.map(protocol.write(p), (written) => ({ written })))
      })

  return {
    writeBatch,
    flush: protocol.flush,
    preCommit: (checkpointId: number) =>
      Effect.suspend(() => {
        tx.checkpointing = true
        return protocol.preCommit(checkpointId)
      }),
    commit: (checkpointId: number) => Effect.suspend(() => protocol.commit(checkpointId)),
    restore: (checkpointId: number | undefined) =>
      Effect.suspend(() => {
        tx.checkpointing = true
        tx.clearPending()
        return tx.retryingTx("restore", tx.rollbackTx).pipe(Effect.andThen(protocol.restore(checkpointId)))
      })
  }
})
