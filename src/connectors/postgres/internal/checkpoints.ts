/**
 * The checkpoint table of the `postgres` sink (`checkpoint_table`): one row per sink instance
 * with the last checkpoint whose rows it committed to the target — in the same transaction as
 * those rows. The run's state backend and this table must agree: a run that restores a checkpoint
 * older than the one the table holds (the newest state damaged, the state directory deleted)
 * would write the rows after it a second time, so `restore` refuses it unless the user asked to
 * start over (the rule is the kit's, `kit/CheckpointTable.ts`).
 */
import { Effect } from "effect"
import type { RestoreError } from "../../../Checkpoint.ts"
import type * as Connector from "../../../Connector.ts"
import { ConfigurationError, ConnectorError } from "../../../Errors.ts"
import * as CheckpointTable from "../../kit/CheckpointTable.ts"
import type { SinkConfig } from "../PostgresConfig.ts"
import { classify, sqlState } from "../PostgresError.ts"
import { pgSession, quoteIdent } from "./client.ts"
import { protocolOf } from "./protocol.ts"
import type { Session } from "./session.ts"
import { CONNECTOR, type Target } from "./transaction.ts"

/** SQLSTATEs of two sessions creating one table at once (see {@link ensureTable}). */
const CATALOG_RACE = new Set(["23505", "42P07", "42710"])

/**
 * Runs a `CREATE TABLE IF NOT EXISTS` outside any transaction. Two sessions creating the same
 * table at once (the instances of a sink of parallelism 2) race in the catalog: the loser gets
 * SQLSTATE 23505 (unique violation in pg_type/pg_class), 42P07 (duplicate table) or 42710 (the
 * table's row type "already exists", seen in a CI run) and runs it again, finding the table.
 */
export const ensureTable = (session: Session, ddl: string) =>
  session.query(ddl).pipe(
    Effect.catchIf((e) => CATALOG_RACE.has(sqlState(e) ?? ""), () => session.query(ddl)),
    Effect.asVoid
  )

/** The last checkpoint id this instance committed (`undefined`: none); the table exists. */
export const committedCheckpoint = (session: Session, t: Target) =>
  Effect.gen(function*() {
    const r = yield* session.query(`SELECT checkpoint_id::text AS id FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
    return r.rows.length === 0 ? undefined : Number(r.rows[0].id)
  })

const holderOf = (t: Target): CheckpointTable.Holder => ({
  table: t.table,
  workflow: t.workflow,
  node: t.nodeKey,
  checkpointTable: t.config.checkpoint_table ?? "dataflare_checkpoints"
})

/** `CheckpointTable.aheadOf` in `restore` (the writer used outside a run's pre-flight phase), as a configuration error. */
export const refuseIfAhead = (t: Target, committed: number | undefined, restored: number | undefined, slack: 0 | 1) => {
  const ahead = CheckpointTable.aheadOf(holderOf(t), committed, restored, slack, t.context.fromScratch === true)
  if (ahead === undefined) return Effect.void
  return Effect.fail(
    new ConnectorError({ connector: CONNECTOR, operation: "restore", reason: new ConfigurationError({ message: `${ahead.reason}. ${ahead.remedy}` }) })
  )
}

/**
 * The sink's pre-flight check (`SinkDefinition.checkRestore`), before any connector of the run
 * opens: reads the instance's row of the checkpoint table (nothing when the table does not exist)
 * and refuses with a `RestoreError` what `CheckpointTable.aheadOf` refuses (slack 1 for the direct
 * protocol, 0 for staged and prepared). An `upsert` replays harmlessly and is never refused.
 */
export const checkAhead = (config: SinkConfig, context: Connector.SinkRestoreContext): Effect.Effect<void, RestoreError | ConnectorError> => {
  if (config.mode === "upsert") return Effect.void
  const checkpointTable = config.checkpoint_table ?? "dataflare_checkpoints"
  return Effect.scoped(
    CheckpointTable.check({
      holder: CheckpointTable.holderOf(config, checkpointTable, context),
      committed: (holder) =>
        Effect.gen(function*() {
          const client = yield* pgSession(CONNECTOR, config.connection_string)
          const query = (text: string, params: ReadonlyArray<unknown>) =>
            Effect.tryPromise({ try: () => client.query(text, params as Array<unknown>), catch: classify(CONNECTOR, "restore") })
          const exists = yield* query(`SELECT to_regclass($1) IS NOT NULL AS e`, [quoteIdent(checkpointTable)])
          if (exists.rows[0].e !== true) return undefined
          const r = yield* query(`SELECT checkpoint_id::text AS id FROM ${quoteIdent(checkpointTable)} WHERE workflow = $1 AND node = $2`, [
            holder.workflow,
            holder.node
          ])
          return r.rows.length === 0 ? undefined : Number(r.rows[0].id)
        }),
      slack: protocolOf(config) === "direct" ? 1 : 0,
      context
    })
  )
}
