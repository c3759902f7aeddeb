/**
 * The at-least-once commit protocol of `insert` / `replace` (`guarantee: at-least-once`): the rows
 * since the last checkpoint go straight into the target in one open transaction (streamed in
 * segments, see `segments.ts`), committed in `preCommit(n)` together with `n` in the checkpoint
 * table. Nothing commits before the checkpoint, so after a crash the restored run writes again
 * only what a checkpoint that was pre-committed and never completed committed — the rows of one
 * checkpoint, in the moment between its `preCommit` and the coordinator's record — instead of
 * every row committed early since the last checkpoint (up to hundreds of thousands, measured, when
 * the transaction committed every 200,000 rows). A session lost after the first segment fails the
 * task, which restarts from the last checkpoint.
 */
import { Effect } from "effect"
import { committedCheckpoint, ensureTable, refuseIfAhead } from "./checkpoints.ts"
import { checkpointDdl } from "./ddl.ts"
import type { CommitProtocol } from "./protocol.ts"
import { Segments } from "./segments.ts"
import type { WriteTx } from "./transaction.ts"

/** Opens the at-least-once protocol of `insert` / `replace` on the writer's transaction. */
export const atLeastOnceProtocol = (tx: WriteTx): CommitProtocol => {
  const t = tx.target
  // (TRUNCATE: the table is emptied once, in the first transaction; its lock is held until the first checkpoint commits)
  const segments = new Segments(tx, "TRUNCATE", "guarantee: at-least-once")
  const lastCommitted = Effect.andThen(ensureTable(tx.session, checkpointDdl(t.cpTable)), committedCheckpoint(tx.session, t))
  return {
    write: (w) => segments.write(w),
    flush: Effect.suspend(() => (tx.checkpointing || !tx.session.inTx ? Effect.void : tx.retryingTx("flush", segments.commitTx))),
    preCommit: (checkpointId) =>
      tx.preCommitRetried(
        // the checkpoint id was committed with the rows
        Effect.map(lastCommitted, (id) => id === checkpointId),
        () => segments.finished(),
        Effect.gen(function*() {
          if (!tx.session.inTx) yield* segments.begin
          yield* segments.endSegment(false)
          yield* tx.q(checkpointDdl(t.cpTable))
          yield* tx.q(
            `INSERT INTO ${t.cpTable} (workflow, node, checkpoint_id) VALUES ($1, $2, $3) ON CONFLICT (workflow, node) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id, committed_at = now()`,
            [t.workflow, t.nodeKey, checkpointId]
          )
          yield* tx.commitTx
          segments.finished()
        })
      ),
    // the rows and the checkpoint id were committed together in `preCommit`: nothing is left
    commit: () => Effect.void,
    restore: (checkpointId) =>
      tx.retryingTx(
        "restore",
        Effect.gen(function*() {
          const committed = yield* lastCommitted
          // The rows of checkpoint k + 1 commit before k + 1 completes (one checkpoint is in
          // flight at a time): more is a state older than the table.
          yield* refuseIfAhead(t, committed, checkpointId, 1)
          if (checkpointId === undefined && committed !== undefined) {
            // a run from the start forgets what earlier runs committed
            yield* tx.q(`DELETE FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
          }
          // a replace that committed before is not emptied again
          segments.replaced = checkpointId !== undefined && committed !== undefined
          segments.replayable = true
        })
      ),
    close: (success) =>
      Effect.gen(function*() {
        // A normal end commits the tail; a failure or interruption leaves it to the rollback.
        if (tx.session.inTx) yield* tx.q(success ? "COMMIT" : "ROLLBACK").pipe(Effect.ignore)
        yield* tx.session.disconnect
      })
  }
}
