/**
 * The commit protocols of the `postgres` sink: how the rows written between two checkpoints
 * become durable and visible. One is chosen when the writer opens:
 *
 * - `direct` (`directProtocol.ts`, `upsert`): each batch merged into the target, committed with the
 *   checkpoint id in `preCommit` — exactly-once by idempotence;
 * - at-least-once `insert` / `replace` (`atLeastOnceProtocol.ts`): one transaction on the target
 *   per checkpoint, streamed in segments (`segments.ts`), committed with the checkpoint id;
 * - `staged` (`stagedProtocol.ts`): exactly-once by a staged two-phase commit (the default);
 * - `prepared` (`preparedProtocol.ts`): exactly-once by PostgreSQL's `PREPARE TRANSACTION`, on the
 *   same segmented transaction as at-least-once.
 *
 * This module has their common interface and the write path that `direct` and `staged` share
 * (`protocolOf` names the family: `direct` covers both at-least-once protocols).
 */
import { Effect } from "effect"
import type { ConnectorError } from "../../../Errors.ts"
import type { SinkConfig } from "../PostgresConfig.ts"
import { sizeOf, type Written } from "./rows.ts"
import type { Destination } from "./stream.ts"
import { INTERMEDIATE_COMMIT_ROWS, type WriteTx } from "./transaction.ts"

/** The commit protocol of a config. */
export const protocolOf = (config: SinkConfig): "direct" | "staged" | "prepared" =>
  config.mode === "upsert" || config.guarantee === "at-least-once"
    ? "direct"
    : config.two_phase === "prepared"
    ? "prepared"
    : "staged"

/** One commit protocol, driving the writer's transaction. */
export interface CommitProtocol {
  /** Writes a batch in the open transaction (beginning one if needed); resolves with the rows written. */
  readonly write: (w: Written) => Effect.Effect<number, unknown>
  /** Outside checkpoints: commits what was written. */
  readonly flush: Effect.Effect<void, ConnectorError>
  readonly preCommit: (checkpointId: number) => Effect.Effect<void, ConnectorError>
  readonly commit: (checkpointId: number) => Effect.Effect<void, ConnectorError>
  /** The protocol's part of `restore`, after the writer rolled back its open transaction. */
  readonly restore: (checkpointId: number | undefined) => Effect.Effect<void, ConnectorError>
  /** At the end of the writer's scope: commit or roll back what is open, close the sessions. */
  readonly close: (success: boolean) => Effect.Effect<void>
}

/** The steps of a transaction that `direct` and `staged` do their own way. */
export interface TxSteps {
  /** `BEGIN` and what the protocol does at the start of a transaction, then the replay. */
  readonly begin: Effect.Effect<void, unknown>
  /** `COMMIT` and what the protocol records about it. */
  readonly commit: Effect.Effect<void, unknown>
  readonly dest: Destination
}

/**
 * Rolls the transaction back and begins it again carefully: its batches are written again one
 * COPY each under a savepoint, where a rejected row is isolated.
 */
export const redoCarefully = (tx: WriteTx, steps: TxSteps) =>
  Effect.gen(function*() {
    yield* tx.q("ROLLBACK")
    tx.session.inTx = false
    tx.careful = true
    yield* steps.begin
  })

/**
 * Ends the open COPY before the transaction commits. If the server rejected a streamed row, the
 * transaction is written again carefully (see {@link redoCarefully}).
 */
export const settle = (tx: WriteTx, steps: TxSteps) =>
  Effect.gen(function*() {
    if (tx.session.stream === undefined) return
    if (!(yield* tx.endStream)) yield* redoCarefully(tx, steps)
  })

/**
 * The write of `direct` and `staged`. With checkpoints (`insert` / `replace`), a batch is streamed
 * into the transaction's COPY and kept for a replay; a rejected row makes the transaction be
 * written again carefully; past INTERMEDIATE_COMMIT_ROWS kept rows, `early` commits what was
 * streamed so far. Without checkpoints (or in `upsert` mode), one COPY under a savepoint.
 */
export const writeThrough = (tx: WriteTx, steps: TxSteps, w: Written, early: Effect.Effect<void, unknown>) =>
  Effect.gen(function*() {
    if (!tx.session.inTx) yield* steps.begin
    const n = sizeOf(w)
    if (tx.checkpointing && tx.target.mode !== "upsert" && !tx.careful && n > 0) {
      if (!(yield* tx.stream(steps.dest, w))) {
        // This batch or an earlier one of the transaction has a rejected row.
        yield* Effect.ignore(tx.session.endCopy)
        yield* redoCarefully(tx, steps)
        yield* tx.writeOne(steps.dest, w)
      }
      tx.pending.push(w)
      tx.pendingRows += n
      // Bound the rows kept for a replay.
      if (tx.pendingRows >= INTERMEDIATE_COMMIT_ROWS) yield* early
      return n
    }
    const written = yield* tx.writeOne(steps.dest, w)
    if (tx.checkpointing) tx.pending.push(w)
    else yield* steps.commit
    return written
  })
