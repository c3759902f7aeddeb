/**
 * The write path of the protocols that keep one transaction open on the target from one
 * checkpoint to the next (`prepared`, and `insert` / `replace` at-least-once): the batches are
 * streamed into the transaction's COPY in *segments* of up to INTERMEDIATE_COMMIT_ROWS rows, each
 * under a savepoint `df_segment`. When a segment ends (its COPY completes) a row the server
 * rejected rolls back only that segment, whose batches are written again one COPY each under a
 * savepoint of their own (row isolation, dead letters); the segment's batches then leave the
 * replay buffer, so the memory kept stays bounded without committing early. The open transaction
 * is replayed after a lost session only while it is in its first segment; beyond, the write fails
 * and the task restarts from the last checkpoint (nothing is half-replayed).
 */
import { Effect } from "effect"
import { ConnectorError, RejectedError } from "../../../Errors.ts"
import { sizeOf, type Written } from "./rows.ts"
import type { Destination } from "./stream.ts"
import { CONNECTOR, INTERMEDIATE_COMMIT_ROWS, type WriteTx } from "./transaction.ts"

/** The segmented transaction of a protocol. */
export class Segments {
  private readonly tx: WriteTx
  /** How the first transaction empties the target in `replace` mode. */
  private readonly empty: "DELETE" | "TRUNCATE"
  /** The protocol's name, for messages. */
  private readonly label: string
  readonly dest: Destination
  /** The open transaction's batches are all in `pending` (a lost session can be replayed). */
  replayable = true
  /** A savepoint `df_segment` opens the transaction's current streamed segment. */
  private segment = false
  /** The target was emptied by a finished transaction (`replace`). */
  replaced = false

  constructor(tx: WriteTx, empty: "DELETE" | "TRUNCATE", label: string) {
    this.tx = tx
    this.empty = empty
    this.label = label
    this.dest = { into: Effect.succeed(tx.target.quoted), tag: () => undefined }
  }

  /** `BEGIN`, the `replace` emptying, and the replay of the kept batches. */
  readonly begin: Effect.Effect<void, unknown> = Effect.suspend(() => {
    const tx = this.tx
    const t = tx.target
    if (!this.replayable) {
      // The lost transaction held more rows than are kept for a replay.
      return Effect.fail(
        new ConnectorError({
          connector: CONNECTOR,
          operation: "write",
          reason: new RejectedError({
            message: `the open transaction (more than ${INTERMEDIATE_COMMIT_ROWS} rows since the last checkpoint) was lost and cannot be written again here; the task restarts from the last checkpoint (${this.label})`
          })
        })
      )
    }
    return Effect.gen({ self: this }, function*() {
      yield* tx.beginTx
      this.segment = false
      if (t.mode === "replace" && !this.replaced) yield* tx.q(`${this.empty === "DELETE" ? "DELETE FROM" : "TRUNCATE"} ${t.quoted}`)
      yield* tx.replay(this.dest)
      if (tx.pending.length > 0) {
        // replayed outside any segment: a second loss in this transaction cannot be replayed
        tx.clearPending()
        this.replayable = false
      }
    })
  })

  /** The transaction is finished (committed or prepared): nothing is open, nothing kept. */
  finished(): void {
    this.tx.session.inTx = false
    this.tx.clearPending()
    this.replayable = true
    if (this.tx.target.mode === "replace") this.replaced = true
  }

  /** `COMMIT` of a transaction written outside checkpoints. */
  readonly commitTx: Effect.Effect<void, unknown> = Effect.suspend(() => this.tx.commitTx).pipe(Effect.tap(() =>
    Effect.sync(() => this.finished())
  ))

  /**
   * Ends the open segment — its COPY, then `RELEASE SAVEPOINT`. When a row was rejected
   * (`failed`, or at the end of the COPY), the segment is rolled back to its savepoint and its
   * batches are written again one COPY each under a savepoint of their own. The segment's
   * batches then leave `pending`.
   */
  endSegment(failed: boolean): Effect.Effect<void, unknown> {
    return Effect.gen({ self: this }, function*() {
      const tx = this.tx
      if (!this.segment) return
      let ok = !failed
      if (tx.session.stream !== undefined) ok = (yield* tx.endStream) && ok
      if (!ok) {
        yield* tx.q("ROLLBACK TO SAVEPOINT df_segment")
        for (const w of tx.pending) yield* tx.writeOne(this.dest, w)
      }
      yield* tx.q("RELEASE SAVEPOINT df_segment")
      this.segment = false
      if (tx.pending.length > 0) this.replayable = false
      tx.clearPending()
    })
  }

  /** Writes a batch: streamed into the open segment with checkpoints, one committed COPY without. */
  write(w: Written): Effect.Effect<number, unknown> {
    return Effect.gen({ self: this }, function*() {
      const tx = this.tx
      if (!tx.session.inTx) yield* this.begin
      const n = sizeOf(w)
      if (tx.checkpointing && n > 0) {
        if (!this.segment) {
          yield* tx.q("SAVEPOINT df_segment")
          this.segment = true
        }
        const ok = yield* tx.stream(this.dest, w)
        tx.pending.push(w)
        if (!ok) {
          // a rejected row in this segment: write its batches again one by one
          yield* this.endSegment(true)
          return n
        }
        tx.pendingRows += n
        // Bound the rows kept for a replay: the transaction stays open until the checkpoint,
        // the segment ends (its rows checked) and a new one starts.
        if (tx.pendingRows >= INTERMEDIATE_COMMIT_ROWS) yield* this.endSegment(false)
        return n
      }
      const written = yield* tx.writeOne(this.dest, w)
      if (tx.checkpointing) tx.pending.push(w)
      else yield* this.commitTx
      return written
    })
  }
}
