/**
 * The writer of the `mysql` sink. One protocol, two commit steps:
 *
 * - **Transactions**: the rows written between two checkpoints go into one transaction on a
 *   write session (`READ COMMITTED`, so a `replace`'s delete does not lock the gaps later rows go
 *   into), together with the instance's row in the checkpoint table. A transient failure
 *   (connection lost, deadlock, lock wait timeout) rolls it back and writes it again — the
 *   statements since the last checkpoint are kept for that — after a backoff.
 * - **Exactly-once** (`insert` / `replace`): the transaction is an XA transaction. `preCommit(n)`
 *   records which XA transaction holds checkpoint `n` (in `<checkpoint_table>_xa`), then
 *   `XA PREPARE`s it; the next transaction starts on a new session. `commit(n)` — the checkpoint
 *   record is written — runs `XA COMMIT` on the session that prepared it (the server keeps a
 *   prepared XA transaction across disconnects and restarts: if that session was lost, or after a
 *   crash, another session commits it). `restore(n)` commits what a crash left prepared up to `n` and rolls back the
 *   rest. Each row is written once; a run that crashes leaves its last prepared transaction
 *   (and its locks) until it is resumed.
 * - **At-least-once** (`guarantee: at-least-once`) and **upsert**: `preCommit(n)` commits. After a
 *   crash, the rows of a checkpoint pre-committed but never completed are written again (an upsert
 *   overwrites them: exactly-once by idempotence).
 * - **Refusal**: a restore from a checkpoint older than the one the checkpoint table holds is
 *   refused (`checkRestore` before the run, and here), unless the run starts from scratch.
 * - **Without checkpoints** (the writer used outside a run: `restore` never called) every batch
 *   commits by itself.
 * - **Rejected rows**: when the server refuses a statement (a value that does not fit, a
 *   duplicate key; the statement is rolled back by itself, the transaction goes on), its rows are
 *   written again in halves down to single rows (the kit's `bisect`) to isolate the refused ones:
 *   `on_error: fail` fails the write with a `RecordError` naming the first, its key and the
 *   server's reason; `on_error: dead_letter` sets them aside in the dead-letter file and writes
 *   the others once (`isolate.ts`). Retries use the kit's `Retry` (backoff with jitter).
 *
 * The parts: `statements.ts` (records into SQL), `isolate.ts` (refused rows), `checkpoints.ts`
 * (the checkpoint table, the refusal of an older state), `client.ts` (sessions).
 */
import { Effect, type Scope } from "effect"
import type mysql from "mysql2"
import { createHash, randomBytes } from "node:crypto"
import * as Batch from "../../../Batch.ts"
import type * as Connector from "../../../Connector.ts"
import { type ConnectorError, RecordError } from "../../../Errors.ts"
import * as CheckpointTable from "../../kit/CheckpointTable.ts"
import * as DeadLetter from "../../kit/DeadLetter.ts"
import * as Retry from "../../kit/Retry.ts"
import type { SinkConfig } from "../MysqlConfig.ts"
import { classify, configurationError, errorCodes, isConnectionLoss, reasonOf } from "../MysqlError.ts"
import { tableInfo, targetProblem } from "./catalog.ts"
import { checkpointDdl, checkpointTableOf, committedCheckpoint, slackOf } from "./checkpoints.ts"
import { close, connect, databaseOf, quoteIdent, run } from "./client.ts"
import { execIsolating, RowRejected, toRecordError } from "./isolate.ts"
import { isChange, type Row, type Shape, type Statement, statements } from "./statements.ts"

const CONNECTOR = "mysql"

/** An XA transaction the server does not list yet: its session's quit is still being processed. */
class StillAttached extends Error {
  constructor(gtrid: string) {
    super(`XA transaction ${gtrid} is not yet released by the session that prepared it`)
  }
}

/** Opens the writer of one sink instance. */
export const makeWriter = Effect.fnUntraced(function*(
  config: SinkConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SinkWriter<Row>, ConnectorError, Scope.Scope> {
  const mode = config.mode ?? "insert"
  const xa = mode !== "upsert" && config.guarantee !== "at-least-once"
  const cpTable = checkpointTableOf(config)
  const xaTable = quoteIdent(`${cpTable}_xa`)
  const cp = quoteIdent(cpTable)
  const workflow = config.workflow ?? context.workflow ?? "default"
  const node = `${context.node}#${context.instance}`
  const policy = Retry.policy(config.retry)
  const onError = config.on_error ?? "fail"
  const deadLetters = config.dead_letter === undefined
    ? undefined
    : DeadLetter.writer({
      connector: CONNECTOR,
      node: context.node,
      config: config.dead_letter,
      context: { table: config.table },
      describe: `table '${config.table}'`,
      report: context.onDeadLetters
    })
  const openFail = classify(CONNECTOR, "open")

  let ctrl: mysql.Connection | undefined
  const control = async (): Promise<mysql.Connection> => {
    if (ctrl === undefined) ctrl = await connect(config)
    return ctrl
  }
  yield* Effect.addFinalizer(() => Effect.promise(() => (ctrl === undefined ? Promise.resolve() : close(ctrl))))
  const c0 = yield* Effect.tryPromise({ try: control, catch: openFail })
  const info = yield* Effect.tryPromise({ try: () => tableInfo(c0, config.table), catch: openFail })
  const problem = targetProblem(config.table, info, config.key, mode === "upsert")
  if (problem !== undefined) return yield* configurationError(CONNECTOR, "open", problem)
  const names = info.columns.map((c) => c.name)
  const key = config.key ?? info.primaryKey
  for (const ddl of checkpointDdl(cpTable)) yield* Effect.tryPromise({ try: () => run(c0, ddl), catch: openFail })

  const shape: Shape = { table: quoteIdent(config.table), columns: new Set(names), key, upsert: mode === "upsert" }
  // XA ids are server-wide: the prefix names the instance and its table with the table's database
  const qualified = config.table.includes(".") ? config.table : `${databaseOf(config) ?? ""}.${config.table}`
  const prefix = `df-${createHash("sha256").update(`${workflow}\u0000${node}\u0000${qualified}`).digest("hex").slice(0, 16)}-`
  const nonce = randomBytes(4).toString("hex")
  let seq = 0

  let tx: mysql.Connection | undefined
  let gtrid: string | undefined
  let inTx = false
  let checkpointing = false
  let replaced = false
  let pending: Array<Statement> = []
  /** Prepared XA transactions not yet committed, with the session that prepared each (while it lives). */
  let prepared: Array<{ readonly id: number; readonly gtrid: string; conn?: mysql.Connection | undefined }> = []
  /**
   * Ends the sessions of prepared transactions (they stay prepared, for the next restore), and
   * waits until the server has let them go: a restore in this process (a task restarted) must
   * not commit a transaction the server is still detaching.
   */
  const detachPrepared = async () => {
    for (const p of prepared) {
      const c = p.conn
      p.conn = undefined
      if (c === undefined) continue
      const id = c.threadId
      await close(c)
      // (a lost control session only means not waiting)
      if (id !== null) await gone(id).catch(() => undefined)
    }
  }
  /** Waits (at most 10 s) until the server lists no session `id`. */
  const gone = async (id: number) => {
    for (let i = 0; i < 500; i++) {
      const rows = await run<Array<{ n: number | string }>>(await control(), "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?", [id])
      if (Number(rows[0].n) === 0) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  yield* Effect.addFinalizer(() => Effect.promise(detachPrepared))

  /** Drops the write session (an open transaction is rolled back; a prepared one stays). */
  const drop = async () => {
    const c = tx
    tx = undefined
    inTx = false
    gtrid = undefined
    if (c !== undefined) c.destroy()
  }
  yield* Effect.addFinalizer(() => Effect.promise(drop))

  /** Drops the control session (a lost one is opened again by the next `control()`). */
  const dropControl = () => {
    const c = ctrl
    ctrl = undefined
    c?.destroy()
  }

  const begin = async () => {
    if (tx === undefined) {
      tx = await connect(config)
      await run(tx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    }
    if (xa && checkpointing) {
      gtrid = `${prefix}${nonce}-${seq++}`
      await run(tx, `XA START '${gtrid}'`)
    } else {
      await run(tx, "START TRANSACTION")
    }
    inTx = true
    if (mode === "replace" && !replaced) await run(tx, `DELETE FROM ${shape.table}`)
    for (const s of pending) await run(tx, s.sql)
  }

  /** Retries `effect` while it fails transiently; `reset` between attempts (the kit's `Retry`). */
  const retrying = <A>(effect: Effect.Effect<A, unknown>, reset: () => Promise<void>): Effect.Effect<A, unknown> =>
    Retry.retrying(effect, {
      policy,
      classify: (e) =>
        e instanceof StillAttached || (!(e instanceof RowRejected) && !(e instanceof RecordError) && reasonOf(e).isRetryable) ? "retry" : "fail",
      recover: () => Effect.promise(reset)
    })

  /** A promise as an Effect failing with what it throws. */
  const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, unknown> => Effect.tryPromise({ try: f, catch: (e) => e })

  const recordError = (batch: Batch.Batch<Row>, records: ReadonlyArray<Row>, e: unknown): RecordError | ConnectorError =>
    toRecordError(config.table, key, batch, records, e) ?? (e instanceof RecordError ? e : classify(CONNECTOR, "write")(e))

  const writeBatch = (batch: Batch.Batch<Row>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
    Effect.suspend(() => {
      const decoded = Batch.decodeRecords(batch)
      if ("error" in decoded) return decoded.error instanceof RecordError ? Effect.fail(decoded.error) : Effect.die(decoded.error)
      const records = decoded
      if (records.length === 0) return Effect.succeed({ written: 0 })
      if (mode !== "upsert" && records.some(isChange)) {
        return Effect.fail(configurationError(CONNECTOR, "write", "change records need mode: upsert"))
      }
      let stmts: Array<Statement>
      try {
        stmts = statements(records, shape)
      } catch (e) {
        return Effect.fail(recordError(batch, records, e))
      }
      return retrying(
        Effect.gen(function*() {
          if (!inTx) yield* attempt(begin)
          const { executed, rejected } = yield* execIsolating(tx!, stmts, records, shape, onError === "fail")
          if (rejected.length > 0 && (onError === "fail" || deadLetters === undefined)) {
            return yield* Effect.fail(new RowRejected(rejected[0].index, rejected[0].error))
          }
          if (checkpointing) {
            pending.push(...executed)
          } else {
            yield* attempt(() => run(tx!, "COMMIT"))
            inTx = false
            if (mode === "replace") replaced = true
          }
          if (rejected.length > 0 && deadLetters !== undefined) {
            yield* deadLetters(rejected.map((r) => ({ record: records[r.index], error: reasonOf(r.error).message })))
          }
          return { written: records.length - rejected.length }
        }),
        drop
      ).pipe(Effect.mapError((e) => recordError(batch, records, e)))
    })

  const upsertCheckpoint = (id: number) =>
    run(
      tx!,
      `INSERT INTO ${cp} (workflow, node, checkpoint_id) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE checkpoint_id = VALUES(checkpoint_id), committed_at = CURRENT_TIMESTAMP(6)`,
      [workflow, node, id]
    )

  /** The prepared XA transactions of this instance (any run). */
  const recover = async (): Promise<ReadonlyArray<string>> => {
    const rows = await run<Array<{ data: unknown }>>(await control(), "XA RECOVER")
    return rows.map((r) => (Buffer.isBuffer(r.data) ? r.data.toString("latin1") : String(r.data))).filter((g) => g.startsWith(prefix))
  }

  /** A gtrid being prepared: if the session is lost around `XA PREPARE`, the retry looks whether it happened. */
  let preparing: { readonly id: number; readonly gtrid: string } | undefined
  /** preCommit failed once since it began: a retry first looks whether its COMMIT happened. */
  let retried = false

  const preCommit = (id: number): Effect.Effect<void, ConnectorError> =>
    retrying(attempt(async () => {
      checkpointing = true
      if (preparing !== undefined) {
        const p = preparing
        preparing = undefined
        if ((await recover()).includes(p.gtrid)) {
          prepared.push(p)
          pending = []
          if (mode === "replace") replaced = true
          return
        }
      }
      if (!xa && retried) {
        // a COMMIT whose answer was lost may have happened: then the checkpoint id says so
        retried = false
        const committed = await committedCheckpoint(await control(), cpTable, workflow, node)
        if (committed === id) {
          pending = []
          if (mode === "replace") replaced = true
          return
        }
      }
      if (!inTx) await begin()
      await upsertCheckpoint(id)
      if (xa) {
        const g = gtrid!
        await run(await control(), `INSERT INTO ${xaTable} (gtrid, workflow, node, checkpoint_id) VALUES (?, ?, ?, ?)`, [g, workflow, node, id])
        preparing = { id, gtrid: g }
        await run(tx!, `XA END '${g}'`)
        await run(tx!, `XA PREPARE '${g}'`)
        preparing = undefined
        // the session that prepared it commits it (a prepared transaction committed from another
        // session while its own is still disconnecting can hang the server's XA COMMIT): it is
        // kept aside, and the next transaction starts on a new session
        prepared.push({ id, gtrid: g, conn: tx! })
        tx = undefined
        inTx = false
        gtrid = undefined
      } else {
        await run(tx!, "COMMIT")
        inTx = false
      }
      pending = []
      if (mode === "replace") replaced = true
    }), async () => {
      retried = true
      await drop()
      dropControl()
    }).pipe(Effect.mapError(classify(CONNECTOR, "preCommit")))

  const commit = (id: number): Effect.Effect<void, ConnectorError> =>
    retrying(attempt(async () => {
      while (prepared.length > 0 && prepared[0].id <= id) {
        const p = prepared[0]
        const own = p.conn
        if (own !== undefined) {
          p.conn = undefined
          try {
            await run(own, `XA COMMIT '${p.gtrid}'`)
            await run(await control(), `DELETE FROM ${xaTable} WHERE gtrid = ?`, [p.gtrid])
            prepared.shift()
            continue
          } catch (e) {
            // its session was lost: the server keeps the transaction prepared; commit it below
            if (!isConnectionLoss(e)) throw e
          } finally {
            void close(own)
          }
        }
        const c = await control()
        try {
          await run(c, `XA COMMIT '${p.gtrid}'`)
        } catch (e) {
          // XAER_NOTA: a retried commit that had happened (the checkpoint row says so)
          if (errorCodes(e).errno !== 1397) throw e
          const committed = await committedCheckpoint(c, cpTable, workflow, node)
          // still attached to the session that prepared it (its quit not yet processed): again
          if (committed === undefined || committed < p.id) throw new StillAttached(p.gtrid)
        }
        await run(c, `DELETE FROM ${xaTable} WHERE gtrid = ?`, [p.gtrid])
        prepared.shift()
      }
    }), async () => dropControl()).pipe(Effect.mapError(classify(CONNECTOR, "commit")))

  const restore = (id: number | undefined): Effect.Effect<void, ConnectorError> =>
    retrying(attempt(async () => {
      checkpointing = true
      await drop()
      pending = []
      await detachPrepared()
      prepared = []
      const c = await control()
      const mapping = new Map(
        (await run<Array<{ gtrid: string; id: string }>>(c, `SELECT gtrid, CAST(checkpoint_id AS CHAR) AS id FROM ${xaTable} WHERE workflow = ? AND node = ?`, [workflow, node]))
          .map((r) => [r.gtrid, Number(r.id)])
      )
      for (const g of await recover()) {
        const held = mapping.get(g)
        await run(c, held !== undefined && id !== undefined && held <= id ? `XA COMMIT '${g}'` : `XA ROLLBACK '${g}'`)
      }
      await run(c, `DELETE FROM ${xaTable} WHERE workflow = ? AND node = ?`, [workflow, node])
      const committed = await committedCheckpoint(c, cpTable, workflow, node)
      if (mode !== "upsert") {
        const ahead = CheckpointTable.aheadOf(
          { table: config.table, workflow, node, checkpointTable: cpTable },
          committed,
          id,
          slackOf(config),
          context.fromScratch === true
        )
        if (ahead !== undefined) throw configurationError(CONNECTOR, "restore", `${ahead.reason}. ${ahead.remedy}`)
      }
      // a run from the start forgets what earlier runs committed
      if (id === undefined && committed !== undefined) await run(c, `DELETE FROM ${cp} WHERE workflow = ? AND node = ?`, [workflow, node])
      // a replace that committed before is not emptied again
      replaced = id !== undefined && committed !== undefined
    }), async () => {
      await drop()
      dropControl()
    }).pipe(Effect.mapError(classify(CONNECTOR, "restore")))

  return {
    writeBatch,
    flush: Effect.void,
    preCommit,
    commit,
    restore
  }
})
