/**
 * The checkpoint table of the `postgres` sink (`checkpoint_table`): one row per sink instance
 * with the last checkpoint whose rows it committed to the target — in the same transaction as
 * those rows. The run's state backend and this table must agree: a run that restores a checkpoint
 * older than the one the table holds (the newest state damaged, the state directory deleted)
 * would write the rows after it a second time, so `restore` refuses it unless the user asked to
 * start over.
 */
import { Effect } from "effect"
import { RestoreError } from "../../../Checkpoint.ts"
import type * as Connector from "../../../Connector.ts"
import { ConfigurationError, ConnectorError } from "../../../Errors.ts"
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

/** Who committed what, for the message of a refusal. */
interface Holder {
  readonly table: string
  readonly workflow: string
  readonly nodeKey: string
  /** The checkpoint table as configured. */
  readonly checkpointTable: string
}

/**
 * Why resuming from `restored` is refused when this instance committed `committed`, or
 * `undefined` when it may go on. `slack` is how far the table may be ahead after an ordinary
 * crash: 1 where the rows commit with their checkpoint id before the checkpoint completes
 * (at-least-once; one checkpoint is in flight at a time), 0 where they are applied once it
 * completed (staged, prepared). A run from the start (`restored` undefined) with `fromScratch`
 * may go on.
 */
export const aheadOf = (
  h: Holder,
  committed: number | undefined,
  restored: number | undefined,
  slack: 0 | 1,
  fromScratch: boolean
): { readonly reason: string; readonly remedy: string } | undefined => {
  if (committed === undefined) return undefined
  if (restored === undefined && fromScratch) return undefined
  if (committed <= (restored ?? 0) + slack) return undefined
  const from = restored === undefined ? "from the start (the state holds no checkpoint: was it deleted?)" : `from checkpoint ${restored}`
  return {
    reason: `table '${h.table}' already holds the rows of checkpoint ${committed} (sink instance '${h.nodeKey}' of workflow '${h.workflow}' in ${h.checkpointTable}), ` +
      `but the run would resume ${from}: the rows written after ${restored === undefined ? "the start" : `checkpoint ${restored}`} would be written twice`,
    remedy: `restore the state that has checkpoint ${committed}, or run with --from-scratch to start over (the rows already in the table stay: empty it first, or use mode: replace)`
  }
}

const holderOf = (t: Target): Holder => ({
  table: t.table,
  workflow: t.workflow,
  nodeKey: t.nodeKey,
  checkpointTable: t.config.checkpoint_table ?? "dataflare_checkpoints"
})

/** {@link aheadOf} in `restore` (the writer used outside a run's pre-flight phase), as a configuration error. */
export const refuseIfAhead = (t: Target, committed: number | undefined, restored: number | undefined, slack: 0 | 1) => {
  const ahead = aheadOf(holderOf(t), committed, restored, slack, t.context.fromScratch === true)
  if (ahead === undefined) return Effect.void
  return Effect.fail(
    new ConnectorError({ connector: CONNECTOR, operation: "restore", reason: new ConfigurationError({ message: `${ahead.reason}. ${ahead.remedy}` }) })
  )
}

/**
 * The sink's pre-flight check (`SinkDefinition.checkRestore`), before any connector of the run
 * opens: reads the instance's row of the checkpoint table (nothing when the table does not exist)
 * and refuses with a `RestoreError` what {@link aheadOf} refuses. An `upsert` replays harmlessly
 * and is never refused.
 */
export const checkAhead = (config: SinkConfig, context: Connector.SinkRestoreContext): Effect.Effect<void, RestoreError | ConnectorError> => {
  const kind = protocolOf(config)
  if (config.mode === "upsert") return Effect.void
  const checkpointTable = config.checkpoint_table ?? "dataflare_checkpoints"
  const holder: Holder = {
    table: config.table,
    workflow: config.workflow ?? context.workflow,
    nodeKey: `${context.node}#${context.instance}`,
    checkpointTable
  }
  return Effect.scoped(
    Effect.gen(function*() {
      const client = yield* pgSession(CONNECTOR, config.connection_string)
      const query = (text: string, params: ReadonlyArray<unknown>) =>
        Effect.tryPromise({ try: () => client.query(text, params as Array<unknown>), catch: classify(CONNECTOR, "restore") })
      const exists = yield* query(`SELECT to_regclass($1) IS NOT NULL AS e`, [quoteIdent(checkpointTable)])
      if (exists.rows[0].e !== true) return
      const r = yield* query(`SELECT checkpoint_id::text AS id FROM ${quoteIdent(checkpointTable)} WHERE workflow = $1 AND node = $2`, [
        holder.workflow,
        holder.nodeKey
      ])
      const committed = r.rows.length === 0 ? undefined : Number(r.rows[0].id)
      const ahead = aheadOf(holder, committed, context.checkpoint, kind === "direct" ? 1 : 0, context.fromScratch === true)
      if (ahead === undefined) return
      return yield* new RestoreError({
        node: context.node,
        ...(context.checkpoint !== undefined ? { checkpoint: context.checkpoint } : {}),
        reason: ahead.reason,
        remedy: ahead.remedy
      })
    })
  )
}
