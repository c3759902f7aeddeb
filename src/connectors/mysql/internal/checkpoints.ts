/**
 * The checkpoint table of the `mysql` sink: one row per sink instance (`workflow`, `node`) with the
 * last checkpoint id whose rows are committed, written in the same transaction as the rows; and,
 * beside it (`<table>_xa`), which XA transaction holds which checkpoint, so a restore knows which
 * prepared transactions to commit and which to roll back.
 *
 * Whether a run may resume from a checkpoint (not when the table already holds rows of a later
 * one: they would be written twice) is the kit's rule, `kit/CheckpointTable.ts`.
 */
import { Effect } from "effect"
import type mysql from "mysql2"
import type { RestoreError } from "../../../Checkpoint.ts"
import type * as Connector from "../../../Connector.ts"
import type { ConnectorError } from "../../../Errors.ts"
import * as CheckpointTable from "../../kit/CheckpointTable.ts"
import type { SinkConfig } from "../MysqlConfig.ts"
import { classify } from "../MysqlError.ts"
import { quoteIdent, run, session, splitName } from "./client.ts"

/** The checkpoint table of a config: `checkpoint_table` (default `dataflare_checkpoints`), in the target's database unless qualified. */
export const checkpointTableOf = (config: SinkConfig): string => {
  const name = config.checkpoint_table ?? "dataflare_checkpoints"
  if (name.includes(".")) return name
  const [db] = splitName(config.table)
  return db === undefined ? name : `${db}.${name}`
}

/** `CREATE TABLE IF NOT EXISTS` of the checkpoint table and its XA table. */
export const checkpointDdl = (cpTable: string): ReadonlyArray<string> => [
  `CREATE TABLE IF NOT EXISTS ${quoteIdent(cpTable)} (workflow VARCHAR(191) NOT NULL, node VARCHAR(191) NOT NULL, ` +
  `checkpoint_id BIGINT NOT NULL, committed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (workflow, node)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${quoteIdent(`${cpTable}_xa`)} (gtrid VARCHAR(64) NOT NULL PRIMARY KEY, workflow VARCHAR(191) NOT NULL, ` +
  `node VARCHAR(191) NOT NULL, checkpoint_id BIGINT NOT NULL) ENGINE=InnoDB`
]

/** The last checkpoint id committed by an instance (`undefined`: none, or no table). */
export const committedCheckpoint = async (conn: mysql.Connection, cpTable: string, workflow: string, node: string): Promise<number | undefined> => {
  try {
    const rows = await run<Array<{ id: string }>>(
      conn,
      `SELECT CAST(checkpoint_id AS CHAR) AS id FROM ${quoteIdent(cpTable)} WHERE workflow = ? AND node = ?`,
      [workflow, node]
    )
    return rows.length === 0 ? undefined : Number(rows[0].id)
  } catch (e) {
    if ((e as { errno?: number }).errno === 1146) return undefined
    throw e
  }
}

/** How far an instance's table may be ahead of the checkpoint after an ordinary crash (`CheckpointTable`'s slack: 1 at-least-once, 0 with XA). */
export const slackOf = (config: SinkConfig): 0 | 1 => (config.guarantee === "at-least-once" ? 1 : 0)

/**
 * The sink's pre-flight check (`SinkDefinition.checkRestore`): reads the instance's row of the
 * checkpoint table and refuses with a `RestoreError` what `CheckpointTable.aheadOf` refuses. An
 * `upsert` replays harmlessly and is never refused.
 */
export const checkAhead = (config: SinkConfig, context: Connector.SinkRestoreContext): Effect.Effect<void, RestoreError | ConnectorError> => {
  if (config.mode === "upsert") return Effect.void
  const checkpointTable = checkpointTableOf(config)
  return Effect.scoped(
    CheckpointTable.check({
      holder: CheckpointTable.holderOf(config, checkpointTable, context),
      committed: (holder) =>
        Effect.flatMap(session("mysql", "restore", config), (conn) =>
          Effect.tryPromise({
            try: () => committedCheckpoint(conn, checkpointTable, holder.workflow, holder.node),
            catch: classify("mysql", "restore")
          })),
      slack: slackOf(config),
      context
    })
  )
}
