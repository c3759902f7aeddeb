/**
 * The `prepared` commit protocol (`two_phase: prepared`): exactly-once `insert` / `replace` with
 * PostgreSQL's own two-phase commit. The rows since the last checkpoint are in one open
 * transaction on the target; `preCommit(n)` prepares it as `dataflare:<hash>:n` (durable, not
 * visible, the session free again); `commit(n)` commits every prepared id `<= n` on the control
 * session; `restore(k)` commits the prepared ids `<= k` a crash left behind and rolls back the
 * others. No row is written twice.
 *
 * The batches are streamed into the transaction's COPY in segments (see `segments.ts`).
 */
import { Effect } from "effect"
import { classify, configurationError, sqlState } from "../PostgresError.ts"
import { committedCheckpoint, ensureTable, refuseIfAhead } from "./checkpoints.ts"
import { checkpointDdl } from "./ddl.ts"
import type { CommitProtocol } from "./protocol.ts"
import { Segments } from "./segments.ts"
import { Session } from "./session.ts"
import { instanceHash } from "./stagedProtocol.ts"
import { CONNECTOR, type WriteTx } from "./transaction.ts"

/** The prefix of the global ids of a sink instance's prepared transactions. */
export const preparedPrefix = (workflow: string, nodeKey: string, table: string): string =>
  `dataflare:${instanceHash(workflow, nodeKey, table)}:`

/** Refuses a server that cannot prepare transactions (`max_prepared_transactions = 0`). */
export const checkPreparedTransactions = (tx: WriteTx) =>
  Effect.gen(function*() {
    const max = yield* tx.q("SHOW max_prepared_transactions").pipe(Effect.mapError(classify(CONNECTOR, "open")))
    if (Number(max.rows[0]?.max_prepared_transactions ?? 0) <= 0) {
      return yield* configurationError(
        CONNECTOR,
        "open",
        "two_phase: prepared needs max_prepared_transactions > 0 on the server (it is 0): set it in postgresql.conf and restart the server, or use two_phase: staged"
      )
    }
  })

/** Opens the `prepared` protocol on the writer's transaction. */
export const preparedProtocol = (tx: WriteTx): CommitProtocol => {
  const t = tx.target
  const ctl = new Session(t.config.connection_string)
  const gidPrefix = preparedPrefix(t.workflow, t.nodeKey, t.table)
  const gidOf = (checkpointId: number) => `${gidPrefix}${checkpointId}`
  /** Checkpoints this writer prepared and has not committed yet. */
  let prepared: Array<number> = []
  // A DELETE empties the target in `replace` mode, so that readers see the old rows, not wait on
  // a TRUNCATE's lock, while the transaction stays open and prepared until its checkpoint completes.
  const segments = new Segments(tx, "DELETE", "two_phase: prepared")

  const afterPrepare = (checkpointId: number) => {
    segments.finished()
    prepared.push(checkpointId)
  }

  /**
   * Commits (`commit`) or rolls back prepared transactions of this instance, on the control
   * session; after commits, records the newest committed id in the checkpoint table (after the
   * `COMMIT PREPARED`, not inside the prepared transaction: there its row lock would make the
   * next checkpoint's transaction wait for the commit). A crash in between leaves the table one
   * checkpoint behind, which only makes `refuseIfAhead` more lenient.
   */
  const finishPrepared = (ids: ReadonlyArray<number>, how: "COMMIT" | "ROLLBACK") =>
    Effect.gen(function*() {
      for (const id of ids) {
        yield* ctl.query(`${how} PREPARED '${gidOf(id)}'`).pipe(
          // already finished (a retry after the statement reached the server)
          Effect.catchIf((e) => sqlState(e) === "42704", () => Effect.void)
        )
      }
      if (how === "COMMIT" && ids.length > 0) {
        yield* ctl.query(
          `INSERT INTO ${t.cpTable} AS c (workflow, node, checkpoint_id) VALUES ($1, $2, $3) ON CONFLICT (workflow, node) DO UPDATE SET checkpoint_id = GREATEST(c.checkpoint_id, EXCLUDED.checkpoint_id), committed_at = now()`,
          [t.workflow, t.nodeKey, Math.max(...ids)]
        )
      }
    })

  return {
    write: (w) => segments.write(w),
    flush: Effect.suspend(() => (tx.checkpointing || !tx.session.inTx ? Effect.void : tx.retryingTx("flush", segments.commitTx))),
    preCommit: (checkpointId) =>
      tx.preCommitRetried(
        // the PREPARE reached the server
        Effect.map(tx.q(`SELECT 1 FROM pg_prepared_xacts WHERE gid = $1`, [gidOf(checkpointId)]), (r) => r.rows.length > 0),
        () => afterPrepare(checkpointId),
        Effect.gen(function*() {
          if (!tx.session.inTx) yield* segments.begin
          yield* segments.endSegment(false)
          yield* tx.q(`PREPARE TRANSACTION '${gidOf(checkpointId)}'`)
          afterPrepare(checkpointId)
        })
      ),
    commit: (checkpointId) =>
      tx.retryingOn(
        ctl,
        "commit",
        Effect.suspend(() => {
          const due = prepared.filter((n) => n <= checkpointId)
          return finishPrepared(due, "COMMIT").pipe(Effect.andThen(Effect.sync(() => {
            prepared = prepared.filter((n) => n > checkpointId)
          })))
        })
      ),
    restore: (checkpointId) =>
      tx.retryingOn(
        ctl,
        "restore",
        Effect.gen(function*() {
          // committed only once its checkpoint completed: a later one is a state older than the table
          yield* ensureTable(ctl, checkpointDdl(t.cpTable))
          const committed = yield* committedCheckpoint(ctl, t)
          yield* refuseIfAhead(t, committed, checkpointId, 0)
          const left = yield* ctl.query(`SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1)`, [gidPrefix])
          const ids = left.rows.map((r) => Number(String(r.gid).slice(gidPrefix.length))).filter((n) => Number.isSafeInteger(n))
          yield* finishPrepared(ids.filter((n) => checkpointId !== undefined && n <= checkpointId), "COMMIT")
          yield* finishPrepared(ids.filter((n) => checkpointId === undefined || n > checkpointId), "ROLLBACK")
          if (checkpointId === undefined && committed !== undefined) {
            // a run from the start forgets what earlier runs committed
            yield* ctl.query(`DELETE FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
          }
          prepared = []
          segments.replayable = true
          segments.replaced = checkpointId !== undefined
        })
      ),
    close: (success) =>
      Effect.gen(function*() {
        // Rows after the last prepared checkpoint belong to no checkpoint: rolled back.
        if (tx.session.inTx) yield* tx.q(success && !tx.checkpointing ? "COMMIT" : "ROLLBACK").pipe(Effect.ignore)
        yield* tx.session.disconnect
        yield* ctl.disconnect
      })
  }
}
