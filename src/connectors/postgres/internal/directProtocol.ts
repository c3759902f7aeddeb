/**
 * The `direct` commit protocol: rows go straight into the target in one transaction per
 * checkpoint, committed in `preCommit` together with the checkpoint id (in `checkpoint_table`).
 * At-least-once for `insert` / `replace` (a restore writes every record after the checkpoint
 * again), exactly-once for `upsert` (idempotent). `replace` truncates the table in the first
 * transaction, not again after a restore that finds a committed checkpoint.
 */
import { Effect } from "effect"
import { checkpointDdl } from "./ddl.ts"
import { type CommitProtocol, settle, type TxSteps, writeThrough } from "./protocol.ts"
import type { Destination } from "./stream.ts"
import type { WriteTx } from "./transaction.ts"

/** The last checkpoint id committed by this instance, read on `session`'s transaction. */
export const lastCommitted = (tx: WriteTx) =>
  Effect.gen(function*() {
    const t = tx.target
    yield* tx.q(checkpointDdl(t.cpTable))
    const r = yield* tx.q(`SELECT checkpoint_id::text AS id FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
    return r.rows.length === 0 ? undefined : Number(r.rows[0].id)
  })

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
          const committed = checkpointId === undefined ? undefined : yield* lastCommitted(tx)
          replaced = committed !== undefined
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
