/**
 * The `postgres` sink: bulk writes with COPY, `insert` / `upsert` / `replace` modes, change
 * records applied as upserts and deletes, and exactly-once delivery through checkpoint ids
 * committed in the same transaction as the rows.
 *
 * - **COPY** (text format) streams each batch through `pg-copy-streams` on a `pg` session:
 *   `@effect/sql-pg` speaks the extended query protocol but not the COPY sub-protocol, and the
 *   COPY, the merge and the checkpoint row must share one session and one transaction.
 * - **upsert** COPYs a run of records with the same fields into a temporary table, deletes the
 *   keys deleted in the run (change records), then keeps the last row per `key` and runs one
 *   `INSERT ... ON CONFLICT (key) DO UPDATE` of the run's columns: a field a record leaves out
 *   keeps its column (insert: the default), whatever the batching.
 * - **Values**: every value of the PostgreSQL JavaScript representation (strings for numerics,
 *   timestamps, intervals, JSON, ...) arrives exact; a value that cannot go into its column is a
 *   row error naming it.
 * - **replace** truncates the table in the first transaction (not again after a restore).
 * - **Exactly-once** (`insert` / `replace`, the default `guarantee`): a staged two-phase commit,
 *   since PostgreSQL's `PREPARE TRANSACTION` is off by default (`max_prepared_transactions = 0`).
 *   Rows written since the last checkpoint go to a staging table owned by the connector (one per
 *   sink instance, next to the target); `preCommit(id)` commits them with a mark for `id`;
 *   `commit(id)` (the checkpoint record is written) moves every staged row up to `id` into the
 *   target and records `id` as applied in `checkpoint_table`, in one transaction; `restore(id)`
 *   applies what a crash left staged up to `id` and drops the rest. `guarantee: at-least-once`
 *   COPYs straight into the target instead, committing the rows with the checkpoint id in
 *   `preCommit`; a restore writes every record after the checkpoint again.
 *   `upsert` writes straight into the target and is exactly-once because it is idempotent.
 *   `two_phase: prepared` uses PostgreSQL's own `PREPARE TRANSACTION` instead of staging, where
 *   the server allows it: each row written once.
 * - **Bytes passed through**: a `csv` source feeding this sink directly hands it the file's bytes
 *   (see `SinkCapabilities.accepts`), which go to `COPY ... (FORMAT csv)` as they are; a `postgres`
 *   source hands it COPY text, which goes to `COPY ... FROM STDIN` as it is when the columns'
 *   names and types match; a batch the server rejects is decoded and written as records.
 * - **A state older than the table** (`checkRestore`, and `restore`): a run that would resume from
 *   a checkpoint older than the one the checkpoint table says was committed is refused, unless
 *   the user asked to start over.
 *   Without checkpoints (the writer used outside the runtime), every batch commits by itself.
 * - **Errors**: transient failures (connection loss, serialization failure, deadlock) roll back
 *   and replay the open transaction with exponential backoff; a row the server rejects (SQLSTATE
 *   22xxx/23xxx) is isolated by bisection under savepoints and either fails the workflow with a
 *   `RecordError` naming the row and the reason (default) or goes to the `dead_letter` NDJSON file.
 *
 * @since 0.1.0
 */
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import { COLUMNS_SQL } from "./internal/catalog.ts"
import { pgSession, splitName } from "./internal/client.ts"
import { checkAhead } from "./internal/checkpoints.ts"
import { tableResource } from "./internal/resources.ts"
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
  capabilities: (config) => ({
    ...Capabilities.tableSink(config, 10000),
    // CSV bytes go to COPY (FORMAT csv) as they are (insert / replace; upsert merges records)
    ...(config.mode === "upsert" ? {} : { accepts: ["text/csv", "application/x-postgres-copy"] })
  }),
  // the table (inserts and upserts add beside other writers; replace truncates it) and the dead letters
  resources: (config) => ({
    writes: [
      ...tableResource(config.connection_string, config.table, ["table"], config.mode !== "replace"),
      ...DeadLetter.resources(config)
    ]
  }),
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
        const names = result.rows.map((r) => String(r.name))
        const missing = result.rows.length === 0 ? undefined : config.key?.find((k) => !names.includes(k))
        if (missing !== undefined) {
          return yield* configurationError("postgres", "check", `key column '${missing}' is not a column of table '${config.table}' (its columns: ${names.join(", ")})`)
        }
      })
    ),
  open: (config, context) => makeWriter(config, context),
  // a run that would resume from a checkpoint older than the one the table holds is refused
  // before anything opens (restore checks the same for a writer used outside a run)
  checkRestore: (config, context) => checkAhead(config, context)
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
