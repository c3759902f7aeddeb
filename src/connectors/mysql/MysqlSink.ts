/**
 * The `mysql` sink: multi-row `INSERT`s into a MySQL or MariaDB table, `insert` / `upsert` /
 * `replace` modes, change records applied as upserts and deletes, and exactly-once delivery with
 * the checkpoint id committed in the same transaction as the rows.
 *
 * - **Modes**: `insert`; `upsert` (`INSERT ... ON DUPLICATE KEY UPDATE` of the fields a record
 *   has — a field it leaves out keeps its column, whatever the batching); `replace` (the table is
 *   emptied in the first transaction, with `DELETE`, so it is part of the same commit, then
 *   rows are inserted).
 * - **Exactly-once** (`insert` / `replace`, the default): each checkpoint's rows are one XA
 *   transaction, prepared at the checkpoint barrier and committed when the checkpoint is
 *   recorded; a restore commits or rolls back what a crash left prepared (see
 *   `internal/writer.ts`). `guarantee: at-least-once` commits at the barrier instead (a crash
 *   writes the rows of the checkpoint in flight again). `upsert` is exactly-once either way.
 * - **A state older than the table** (`checkRestore`): a run that would resume from a checkpoint
 *   older than the one the checkpoint table holds is refused before anything opens.
 * - **Values** exact: the session is strict (a value that does not fit is refused, never
 *   truncated) and in UTC; bigints, decimal strings, dates as text, bytes, JSON (objects) as
 *   `internal/statements.ts` says. A record field that is not a column is refused.
 * - **Errors**: transient failures are retried with backoff, writing the open transaction again;
 *   a refused row fails the write with a `RecordError` naming the row, its key and the reason.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import { tableInfo, targetProblem } from "./internal/catalog.ts"
import { checkAhead } from "./internal/checkpoints.ts"
import { session, tableResourceName } from "./internal/client.ts"
import type { Row } from "./internal/statements.ts"
import { makeWriter } from "./internal/writer.ts"
import { SinkConfig } from "./MysqlConfig.ts"
import { classify, configurationError } from "./MysqlError.ts"

const CONNECTOR = "mysql"

/**
 * A record the sink accepts: a row (field per column), or a change record `{ op, before, after }`
 * (with `mode: upsert`).
 *
 * @category models
 * @since 0.4.0
 */
export type SinkRecord = Row

/**
 * The `mysql` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   warehouse:
 *     type: mysql
 *     inputs: [orders]
 *     config:
 *       connection_string: "mysql://etl@db.internal:3306/dwh"
 *       password: "${MYSQL_PASSWORD}"
 *       table: orders
 *       mode: upsert
 *       key: [order_id]
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const MysqlSink = Connector.sink<SinkConfig, SinkRecord>({
  type: CONNECTOR,
  description: "Writes to a MySQL/MariaDB table (insert, upsert, replace), exactly-once with XA transactions and checkpoint ids",
  config: SinkConfig,
  capabilities: (config) => Capabilities.tableSink(config, 5000),
  resources: (config) => {
    const name = tableResourceName(config, config.table)
    return { writes: name === undefined ? [] : [{ kind: "mysql-table", name, key: ["table"], ...(config.mode !== "replace" ? { shared: true } : {}) }] }
  },
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const conn = yield* session(CONNECTOR, "check", config)
        const info = yield* Effect.tryPromise({ try: () => tableInfo(conn, config.table), catch: classify(CONNECTOR, "check") })
        const problem = targetProblem(config.table, info, config.key, config.mode === "upsert")
        if (problem !== undefined) return yield* configurationError(CONNECTOR, "check", problem)
      })
    ),
  open: (config, context) => makeWriter(config, context),
  checkRestore: (config, context) => checkAhead(config, context)
})

/**
 * A typed DSL spec of the `mysql` sink accepting records of type `A`.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A extends SinkRecord = SinkRecord>(config: typeof SinkConfig.Encoded): Spec.SinkSpec<A> => Spec.sink<A>(CONNECTOR, config)
