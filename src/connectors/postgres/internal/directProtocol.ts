/**
 * The `direct` commit protocol of `upsert`: each batch is merged into the target (one COPY and
 * merge under a savepoint) in one transaction per checkpoint, committed in `preCommit` together
 * with the checkpoint id (in `checkpoint_table`); exactly-once because a replayed row overwrites
 * itself. (`insert` / `replace` at-least-once use `atLeastOnceProtocol.ts`.)
 */
import { Effect } from "effect"
import { committedCheckpoint, ensureTable, refuseIfAhead } from "./checkpoints.ts"
import { checkpointDdl } from "./ddl.ts"
import { type CommitProtocol, settle, type TxSteps, writeThrough } from "./protocol.ts"
import type { Destination } from "./stream.ts"
import type { WriteTx } from "./transaction.ts"

/** The last checkpoint id committed by this instance. */
const lastCommitted = (tx: WriteTx) =>
  Effect.andThen(ensureTable(tx.session, checkpointDdl(tx.target.cpTable)), committedCheckpoint(tx.session, tx.target))

/** Opens the `direct` protocol on the writer's transaction. */
export const directProtocol = (tx: WriteTx): CommitProtocol => {
  const t = tx.target
  /** The table was truncated by a committed transaction (`replace`). */
  let replaced = false
  const dest: Destination = { into: Effect.succeed(t.quoted), tag: () => undefined }
  const steps: TxSteps = {
    dest,
    begin: Effect.gen(function*() {
      yield* tx.beginTx
      if (t.mode === "replace" && !replaced) yield* tx.q(`TRUNCATE ${t.quoted}`)
      yield* tx.replay(dest)
    }),
    commit: Effect.gen(function*() {
      yield* tx.commitTx
      if (t.mode === "replace") replaced = true
    })
  }
  // Bound the rows kept for a replay: commit what is streamed so far (they become visible).
  const early = Effect.gen(function*() {
    yield* settle(tx, steps)
    yield* steps.commit
  })
  return {
    write: (w) => writeThrough(tx, steps, w, early),
    flush: Effect.suspend(() => (tx.checkpointing || !tx.session.inTx ? Effect.void : tx.retryingTx("flush", steps.commit))),
    preCommit: (checkpointId) =>
      tx.preCommitRetried(
        // the checkpoint id was committed with the rows
        Effect.map(lastCommitted(tx), (id) => id === checkpointId),
        () => tx.clearPending(),
        Effect.gen(function*() {
          if (!tx.session.inTx) yield* steps.begin
          yield* settle(tx, steps)
          yield* tx.q(checkpointDdl(t.cpTable))
          yield* tx.q(
            `INSERT INTO ${t.cpTable} (workflow, node, checkpoint_id) VALUES ($1, $2, $3) ON CONFLICT (workflow, node) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id, committed_at = now()`,
            [t.workflow, t.nodeKey, checkpointId]
          )
          yield* steps.commit
        })
      ),
    // the rows and the checkpoint id were committed together in `preCommit`: nothing is left
    commit: () => Effect.void,
    restore: (checkpointId) =>
      tx.retryingTx(
        "restore",
        Effect.gen(function*() {
          // The replay writes every record after the checkpoint again (upsert overwrites; insert
          // may duplicate what a later, never completed, checkpoint committed). A replace that
          // committed before is not truncated again.
          const committed = yield* lastCommitted(tx)
          // The rows of checkpoint k + 1 commit before k + 1 completes (one checkpoint is in
          // flight at a time): more is a state older than the table. An upsert replays harmlessly.
          if (t.mode !== "upsert") yield* refuseIfAhead(t, committed, checkpointId, 1)
          if (checkpointId === undefined && committed !== undefined) {
            // a run from the start forgets what earlier runs committed
            yield* tx.q(`DELETE FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
          }
          replaced = checkpointId !== undefined && committed !== undefined
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
