/**
 * The `staged` commit protocol: exactly-once `insert` / `replace` on any server, by a staged
 * two-phase commit (PostgreSQL's `PREPARE TRANSACTION` is off by default). Rows go to a
 * per-instance staging table tagged with the writer's *epoch* (the batches between two
 * checkpoints) and the batch's column set (*shape*); `preCommit(n)` commits them with a mark
 * `epoch → n`; `commit(n)`, on a second (control) session, moves the rows of marks `<= n` into
 * the target, deletes them and their marks, and records `n` as applied, in one transaction;
 * `restore(k)` applies marks `<= k` left by a crash and drops everything else.
 *
 * Until `restore` is called (the writer used outside the runtime), writes go straight to the
 * target as in the `direct` protocol.
 */
import { createHash } from "node:crypto"
import { Effect } from "effect"
import pg from "pg"
import { sqlState } from "../PostgresError.ts"
import { quoteIdent } from "./client.ts"
import type { StageTag } from "./copy.ts"
import { committedCheckpoint, ensureTable, refuseIfAhead } from "./checkpoints.ts"
import { checkpointDdl, marksDdl, stageDdl } from "./ddl.ts"
import { RecordError } from "../../../Errors.ts"
import { isRowRejection, rowError } from "./isolate.ts"
import type { Row } from "./rows.ts"
import { constrainStage, type UniqueKey, uniqueConflicts, uniqueKeys } from "./stageChecks.ts"
import { directProtocol } from "./directProtocol.ts"
import { type CommitProtocol, settle, type TxSteps, writeThrough } from "./protocol.ts"
import { Session } from "./session.ts"
import type { Destination } from "./stream.ts"
import type { WriteTx } from "./transaction.ts"

/** What names a sink instance's staging table and prepared transactions: a hash of workflow, node#instance and table. */
export const instanceHash = (workflow: string, nodeKey: string, table: string): string =>
  createHash("sha256").update(`${workflow}\0${nodeKey}\0${table}`).digest("hex").slice(0, 20)

/** Opens the `staged` protocol on the writer's transaction. */
export const stagedProtocol = (tx: WriteTx): CommitProtocol => {
  const t = tx.target
  const unstaged = directProtocol(tx)
  const ctl = new Session(t.config.connection_string)
  const marksName = quoteIdent(`${t.config.checkpoint_table ?? "dataflare_checkpoints"}_staged`)
  const stageBase = `dataflare_stage_${instanceHash(t.workflow, t.nodeKey, t.table)}`
  const stageTable = t.schemaName === undefined
    ? pg.escapeIdentifier(stageBase)
    : `${pg.escapeIdentifier(t.schemaName)}.${pg.escapeIdentifier(stageBase)}`

  /** Staging is on (after `restore`): rows of the open transaction go to the staging table. */
  let staged = false
  let epoch = 1
  /** The staging table exists in the open transaction. */
  let stageInTx = false
  /** Staged rows of this epoch were committed by an intermediate commit (they still need their mark). */
  let epochCommitted = false
  /** The target was truncated by an applied checkpoint (`replace`). */
  let replaced = false
  /** Column sets of staged batches (`__df_shape` indexes it), by their names joined with NUL. */
  const shapes: Array<ReadonlyArray<string>> = []
  const shapeIndex = new Map<string, number>()
  const shapeOf = (names: ReadonlyArray<string>): number => {
    const k = names.join("\0")
    let i = shapeIndex.get(k)
    if (i === undefined) {
      i = shapes.length
      shapes.push(names)
      shapeIndex.set(k, i)
    }
    return i
  }

  /** The target's unique keys, checked at `preCommit` (read once). */
  let keys: ReadonlyArray<UniqueKey> | undefined

  /**
   * Before the epoch's mark: its staged rows whose key is already in the target fail the write or
   * go to the dead letters (and leave the staging table), as the other modes do.
   */
  const checkUnique = Effect.gen(function*() {
    // (replace: the first apply empties the target before the rows go in)
    if (!stageInTx || (t.mode === "replace" && !replaced)) return
    if (keys === undefined) keys = yield* uniqueKeys(tx.session, t.quoted)
    if (keys.length === 0) return
    const refused = yield* uniqueConflicts(tx.session, stageTable, t.quoted, keys, epoch)
    if (refused.length === 0) return
    yield* tx.reject(refused)
    yield* tx.q(`DELETE FROM ${stageTable} WHERE ctid = ANY($1::tid[])`, [refused.map((r) => r.at)])
  })

  /**
   * Inside the control transaction: inserts the rows of one shape of `epochs` into the target.
   * When the server refuses one (a key staged twice, a foreign key, an exclusion constraint, a
   * trigger, a row a concurrent writer inserted: what the staging checks do not see), the rows
   * are inserted one by one under savepoints and the refused ones go to the dead letters, or
   * (`on_error: fail`) fail the commit naming the row: the checkpoint stays staged, and the next
   * run applies it again (with `on_error: dead_letter` it sets the row aside) — or `--from-scratch`
   * drops it.
   */
  const applyShape = (list: string, epochs: ReadonlyArray<string>, shape: number) =>
    Effect.gen(function*() {
      const insert = `INSERT INTO ${t.quoted} ${list.length > 0 ? `(${list}) ` : ""}SELECT ${list} FROM ${stageTable}`
      yield* cq("SAVEPOINT df_apply")
      const ok = yield* cq(`${insert} WHERE "__df_epoch" = ANY($1::bigint[]) AND "__df_shape" = $2`, [epochs, shape]).pipe(
        Effect.as(true),
        Effect.catchIf(isRowRejection, () => Effect.succeed(false))
      )
      if (ok) return yield* cq("RELEASE SAVEPOINT df_apply")
      yield* cq("ROLLBACK TO SAVEPOINT df_apply")
      yield* cq("RELEASE SAVEPOINT df_apply")
      const rows = yield* cq(
        `SELECT ctid::text AS at, to_jsonb(s) - '__df_epoch' - '__df_shape' AS rec FROM ${stageTable} s WHERE "__df_epoch" = ANY($1::bigint[]) AND "__df_shape" = $2 ORDER BY ctid`,
        [epochs, shape]
      )
      const refused: Array<{ row: Row; error: unknown }> = []
      for (const r of rows.rows) {
        yield* cq("SAVEPOINT df_apply")
        const error = yield* cq(`${insert} WHERE ctid = $1::tid`, [r.at]).pipe(
          Effect.as(undefined),
          Effect.catchIf(isRowRejection, (e) => Effect.succeed(e))
        )
        if (error !== undefined) {
          yield* cq("ROLLBACK TO SAVEPOINT df_apply")
          refused.push({ row: r.rec as Row, error })
          if (t.config.on_error !== "dead_letter") break
        }
        yield* cq("RELEASE SAVEPOINT df_apply")
      }
      if (refused.length > 0 && t.config.on_error !== "dead_letter") {
        const first = rowError(t.table, refused[0].row, refused[0].error)
        return yield* new RecordError({
          detail: `${first.detail}; found when its checkpoint was applied: it stays staged and the next run applies it again — run with on_error: dead_letter to set such rows aside, or --from-scratch to drop what is staged`,
          record: refused[0].row
        })
      }
      yield* tx.reject(refused)
    })

  /** A statement on the control session. */
  const cq = (text: string, params?: ReadonlyArray<unknown>) => ctl.query(text, params)

  /**
   * Creates the staging table if it does not exist. Run at the start of a staged transaction,
   * before any savepoint: created under a savepoint that a rejected row then rolls back, the table
   * would be gone while the writer believed it there.
   */
  const ensureStage = Effect.gen(function*() {
    const exists = yield* tx.q(`SELECT to_regclass($1) IS NOT NULL AS e`, [stageTable])
    if (exists.rows[0].e !== true) {
      for (const statement of stageDdl(stageTable, t.quoted)) yield* tx.q(statement)
      yield* constrainStage(tx.session, stageTable, t.quoted)
    }
    stageInTx = true
  })

  const dest: Destination = {
    into: Effect.suspend(() => (stageInTx ? Effect.succeed(stageTable) : Effect.as(ensureStage, stageTable))),
    tag: (names): StageTag => ({ epoch, shape: shapeOf(names) })
  }
  const steps: TxSteps = {
    dest,
    begin: Effect.gen(function*() {
      yield* tx.beginTx
      stageInTx = false
      // the staging table exists before any savepoint of the transaction (see ensureStage)
      if (t.columns.length > 0) yield* ensureStage
      yield* tx.replay(dest)
    }),
    commit: tx.commitTx
  }
  // Bound the rows kept for a replay: commit what is streamed so far (invisible until the epoch's mark).
  const early = Effect.gen(function*() {
    yield* settle(tx, steps)
    yield* tx.commitTx
    epochCommitted = true
  })

  /**
   * Removes the staged rows of `epochs` (inside the control transaction): a TRUNCATE when no
   * other session uses the staging table and nothing else is staged, a DELETE otherwise.
   */
  const clearStaged = (epochs: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      yield* cq("SAVEPOINT df_lock")
      const locked = yield* cq(`LOCK TABLE ${stageTable} IN ACCESS EXCLUSIVE MODE NOWAIT`).pipe(
        Effect.as(true),
        Effect.catchIf((e) => sqlState(e) === "55P03", () => Effect.succeed(false))
      )
      if (!locked) yield* cq("ROLLBACK TO SAVEPOINT df_lock")
      yield* cq("RELEASE SAVEPOINT df_lock")
      if (locked) {
        const other = yield* cq(`SELECT EXISTS (SELECT 1 FROM ${stageTable} WHERE NOT ("__df_epoch" = ANY($1::bigint[]))) AS other`, [epochs])
        if (other.rows[0].other !== true) return yield* cq(`TRUNCATE ${stageTable}`)
      }
      yield* cq(`DELETE FROM ${stageTable} WHERE "__df_epoch" = ANY($1::bigint[])`, [epochs])
    })

  /**
   * Inside the control transaction: moves the staged rows of every mark `<= n` into the target
   * (truncating it first in `replace` mode, once), deletes them and their marks, and records `n`
   * as applied. Running it again finds nothing left to move.
   */
  const applyUpTo = (n: number) =>
    Effect.gen(function*() {
      const marks = yield* cq(
        `SELECT epoch::text AS epoch, shapes FROM ${marksName} WHERE workflow = $1 AND node = $2 AND checkpoint_id <= $3 ORDER BY epoch`,
        [t.workflow, t.nodeKey, n]
      )
      if (t.mode === "replace" && !replaced) yield* cq(`TRUNCATE ${t.quoted}`)
      if (marks.rows.length > 0) {
        const epochs = marks.rows.map((r) => String(r.epoch))
        // Shapes only grow within a run: the last mark lists all of them.
        const kinds = marks.rows[marks.rows.length - 1].shapes as ReadonlyArray<ReadonlyArray<string>>
        for (let i = 0; i < kinds.length; i++) yield* applyShape(kinds[i].map((c) => pg.escapeIdentifier(c)).join(", "), epochs, i)
        yield* clearStaged(epochs)
        yield* cq(`DELETE FROM ${marksName} WHERE workflow = $1 AND node = $2 AND checkpoint_id <= $3`, [t.workflow, t.nodeKey, n])
      }
      yield* cq(
        `INSERT INTO ${t.cpTable} AS c (workflow, node, checkpoint_id) VALUES ($1, $2, $3) ON CONFLICT (workflow, node) DO UPDATE SET checkpoint_id = GREATEST(c.checkpoint_id, EXCLUDED.checkpoint_id), committed_at = now()`,
        [t.workflow, t.nodeKey, n]
      )
    })

  /** Drops the staging table at a normal end when nothing staged is left to apply. */
  const dropStageIfDone = Effect.gen(function*() {
    const left = yield* cq(`SELECT 1 FROM ${marksName} WHERE workflow = $1 AND node = $2 LIMIT 1`, [t.workflow, t.nodeKey])
    if (left.rows.length === 0) yield* cq(`DROP TABLE IF EXISTS ${stageTable}`)
  })

  const preCommit = (checkpointId: number) =>
    tx.preCommitRetried(
      // the epoch's mark was committed
      Effect.map(
        tx.q(`SELECT 1 FROM ${marksName} WHERE workflow = $1 AND node = $2 AND epoch = $3`, [t.workflow, t.nodeKey, epoch]),
        (r) => r.rows.length > 0
      ),
      () => {
        tx.clearPending()
        epoch++
        epochCommitted = false
      },
      Effect.gen(function*() {
        if (!tx.session.inTx && tx.pending.length === 0 && !epochCommitted) return
        if (!tx.session.inTx) yield* steps.begin
        yield* settle(tx, steps)
        yield* checkUnique
        yield* tx.q(`INSERT INTO ${marksName} (workflow, node, epoch, checkpoint_id, shapes) VALUES ($1, $2, $3, $4, $5)`, [
          t.workflow,
          t.nodeKey,
          epoch,
          checkpointId,
          JSON.stringify(shapes)
        ])
        yield* tx.commitTx
        epoch++
        epochCommitted = false
      })
    )

  const restore = (checkpointId: number | undefined) =>
    tx.retryingOn(
      ctl,
      "restore",
      Effect.gen(function*() {
        yield* ensureTable(ctl, checkpointDdl(t.cpTable))
        yield* ensureTable(ctl, marksDdl(marksName))
        yield* cq("BEGIN")
        // applied only once its checkpoint completed: a later one is a state older than the table
        yield* refuseIfAhead(t, yield* committedCheckpoint(ctl, t), checkpointId, 0)
        if (checkpointId === undefined) {
          // A run from the start: nothing staged or applied before counts.
          yield* cq(`DELETE FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
          replaced = false
        } else {
          const applied = yield* cq(`SELECT 1 FROM ${t.cpTable} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
          replaced = applied.rows.length > 0
          // Pre-committed up to the completed checkpoint, but not applied before the crash.
          yield* applyUpTo(checkpointId)
        }
        // Everything else staged belongs to checkpoints that never completed.
        yield* cq(`DELETE FROM ${marksName} WHERE workflow = $1 AND node = $2`, [t.workflow, t.nodeKey])
        yield* cq(`DROP TABLE IF EXISTS ${stageTable}`)
        yield* cq("COMMIT")
        replaced = checkpointId !== undefined
        staged = true
        epoch = 1
        epochCommitted = false
        shapes.length = 0
        shapeIndex.clear()
      })
    )

  return {
    write: (w) => (staged ? writeThrough(tx, steps, w, early) : unstaged.write(w)),
    flush: Effect.suspend(() => (staged ? Effect.void : unstaged.flush)),
    preCommit: (checkpointId) => (staged ? preCommit(checkpointId) : unstaged.preCommit(checkpointId)),
    commit: (checkpointId) =>
      !staged ? Effect.void : tx.retryingOn(
        ctl,
        "commit",
        Effect.gen(function*() {
          yield* cq("BEGIN")
          yield* applyUpTo(checkpointId)
          yield* cq("COMMIT")
          replaced = true
        })
      ),
    restore,
    close: (success) =>
      Effect.gen(function*() {
        // Staged rows not pre-committed belong to no checkpoint: always rolled back.
        if (!staged) yield* unstaged.close(success)
        else {
          if (tx.session.inTx) yield* tx.q("ROLLBACK").pipe(Effect.ignore)
          yield* tx.session.disconnect
          // (after a failure too: staged rows without a mark belong to no checkpoint)
          yield* dropStageIfDone.pipe(Effect.ignore)
        }
        yield* ctl.disconnect
      })
  }
}
