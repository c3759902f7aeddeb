/**
 * The `postgres` sink: bulk writes with COPY, `insert` / `upsert` / `replace` modes, change
 * records applied as upserts and deletes, and exactly-once delivery through checkpoint ids
 * committed in the same transaction as the rows.
 *
 * - **COPY** (text format) streams each batch through `pg-copy-streams` on a `pg` session:
 *   `@effect/sql-pg` speaks the extended query protocol but not the COPY sub-protocol, and the
 *   COPY, the merge and the checkpoint row must share one session and one transaction.
 * - **upsert** COPYs into a temporary staging table, keeps the last row per `key`, then runs one
 *   `INSERT ... ON CONFLICT (key) DO UPDATE` (deletes of change records in the same statement).
 * - **replace** truncates the table in the first transaction (not again after a restore).
 * - **Exactly-once**: the rows written since the last checkpoint stay in one open transaction;
 *   `preCommit(id)` stores `(workflow, node, id)` in `checkpoint_table` and commits both together.
 *   PostgreSQL's two-phase commit (`PREPARE TRANSACTION`) is off by default
 *   (`max_prepared_transactions = 0`), so `commit(id)` has nothing left to do; instead, when
 *   `restore(id)` finds a stored id newer than `id` (the sink committed a checkpoint the
 *   coordinator never completed), the replayed writes are dropped until `preCommit` reaches the
 *   stored id, so nothing is written twice. Without checkpoints, every batch commits by itself.
 * - **Errors**: transient failures (connection loss, serialization failure, deadlock) roll back
 *   and replay the open transaction with exponential backoff; a row the server rejects (SQLSTATE
 *   22xxx/23xxx) is isolated by bisection under savepoints and either fails the workflow with a
 *   `RecordError` naming the row and the reason (default) or goes to the `dead_letter` NDJSON file.
 *
 * @since 0.1.0
 */
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import { COLUMNS_SQL } from "./internal/catalog.ts"
import { pgSession, splitName } from "./internal/client.ts"
import { makeWriter } from "./internal/writer.ts"
import { SinkConfig } from "./PostgresConfig.ts"
import { classify, configurationError } from "./PostgresError.ts"
import { Effect } from "effect"

/**
 * A record the sink accepts: a row (field per column), or a change record
 * `{ op, before, after }` as produced by the `postgres-cdc` source (with `mode: upsert`).
 *
 * @category models
 * @since 0.1.0
 */
export type SinkRecord = { readonly [column: string]: unknown }

/**
 * The `postgres` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   warehouse:
 *     type: postgres
 *     inputs: [orders]
 *     config:
 *       connection_string: "${PG_CONNECTION}"
 *       table: analytics.orders
 *       mode: upsert
 *       key: [order_id]
 * ```
 * @category definitions
 * @since 0.1.0
 */
export const PostgresSink = Connector.sink<SinkConfig, SinkRecord>({
  type: "postgres",
  description: "Writes to a PostgreSQL table with COPY (insert, upsert, replace), exactly-once with checkpoint ids",
  config: SinkConfig,
  capabilities: () => ({ guarantee: "exactly-once", transactional: true, preferredBatchSize: 10000 }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const client = yield* pgSession("postgres", config.connection_string)
        const [schema, name] = splitName(config.table)
        const result = yield* Effect.tryPromise({
          try: () => client.query(COLUMNS_SQL, [name, schema ?? null]),
          catch: classify("postgres", "check")
        })
        if (result.rows.length === 0 && config.create_table !== true) {
          return yield* configurationError("postgres", "check", `table '${config.table}' does not exist (set create_table: true to create it)`)
        }
      })
    ),
  open: (config, context) => makeWriter(config, context)
})

/**
 * A typed DSL spec of the `postgres` sink accepting records of type `A` (rows, or change records
 * with `mode: upsert`).
 *
 * @category specs
 * @since 0.1.0
 */
export const spec = <A extends SinkRecord = SinkRecord>(config: typeof SinkConfig.Encoded): Spec.SinkSpec<A> =>
  Spec.sink<A>("postgres", config)
