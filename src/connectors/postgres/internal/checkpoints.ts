/**
 * The checkpoint table of the `postgres` sink (`checkpoint_table`): one row per sink instance
 * with the last checkpoint whose rows it committed to the target — in the same transaction as
 * those rows. The run's state backend and this table must agree: a run that restores a checkpoint
 * older than the one the table holds (the newest state damaged, the state directory deleted)
 * would write the rows after it a second time, so `restore` refuses it unless the user asked to
 * start over.
 */
import { Effect } from "effect"
import { ConfigurationError, ConnectorError } from "../../../Errors.ts"
import { sqlState } from "../PostgresError.ts"
import type { Session } from "./session.ts"
import { CONNECTOR, type Target } from "./transaction.ts"

/**
 * Runs a `CREATE TABLE IF NOT EXISTS` outside any transaction. Two sessions creating the same
 * table at once (the instances of a sink of parallelism 2) race in the catalog: the loser gets
 * SQLSTATE 23505 or 42P07 and runs it again, finding the table.
 */
export const ensureTable = (session: Session, ddl: string) =>
  session.query(ddl).pipe(
    Effect.catchIf((e) => sqlState(e) === "23505" || sqlState(e) === "42P07", () => session.query(ddl)),
    Effect.asVoid
  )

/** The last checkpoint id this instance committed (`undefined`: none); the table exists. */
export const committedCheckpoint = (session: Session, t: Target) =>
  Effect.gen(function*() {
    const r = yield* session.query(`SELECT checkpoint_id::text AS id FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
    return r.rows.length === 0 ? undefined : Number(r.rows[0].id)
  })

/**
 * Fails when the table holds rows of a checkpoint later than the one restored: `committed` is the
 * checkpoint the table holds, `newest` the newest it may hold after a crash when `restored` is the
 * last completed one (`restored`, or `restored + 1` where the rows commit before the checkpoint
 * completes). A run from the start (`restored` undefined) with `fromScratch` is allowed.
 */
export const refuseIfAhead = (t: Target, committed: number | undefined, restored: number | undefined, slack: 0 | 1) => {
  if (committed === undefined) return Effect.void
  if (restored === undefined && t.context.fromScratch === true) return Effect.void
  if (committed <= (restored ?? 0) + slack) return Effect.void
  const from = restored === undefined ? "from the start (the state holds no checkpoint: was it deleted?)" : `from checkpoint ${restored}`
  return Effect.fail(
    new ConnectorError({
      connector: CONNECTOR,
      operation: "restore",
      reason: new ConfigurationError({
        message:
          `table '${t.table}' already holds the rows of checkpoint ${committed} (sink instance '${t.nodeKey}' of workflow '${t.workflow}' in ${t.config.checkpoint_table ?? "dataflare_checkpoints"}), ` +
          `but the run would resume ${from}: the rows written after ${restored === undefined ? "the start" : `checkpoint ${restored}`} would be written twice. ` +
          `Restore the state that has checkpoint ${committed}, or run with --from-scratch to start over (the rows already in the table stay: empty it first, or use mode: replace)`
      })
    })
  )
}
