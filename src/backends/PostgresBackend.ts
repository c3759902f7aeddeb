/**
 * The PostgreSQL state backend: checkpoint records in a table, for several processes that share
 * state (or state that must outlive the machine).
 *
 * One table, `<prefix>_checkpoints (workflow, id, full_snapshot, record json, info json, completed_at)`
 * with primary key `(workflow, id)`, created if missing. A checkpoint is written in one
 * transaction (records after its id — a timeline abandoned by a restore — are deleted in the same
 * transaction, and records outside `StateBackend.retained` are pruned), so a crash leaves the
 * previous checkpoint in place. Writers of one workflow are serialized by an advisory lock.
 *
 * Single writer: `lock` (taken by the runtime before any connector opens) holds a session
 * advisory lock per workflow on a connection of its own for the whole run, and bumps the
 * workflow's epoch in `<prefix>_writers (workflow, epoch, holder, since)`. Every `write` and
 * `clear` checks, in its transaction, that the epoch is still the one this lease got: if the
 * lock's session was lost and another process took the state over, the old writer is fenced off
 * (`Fenced`) instead of writing beside the new one. A second process is refused (`LockHeld`) with
 * the holder's pid, host and start time.
 *
 * Records are `json`, not `jsonb`: they are stored verbatim and never queried inside, `json`
 * is cheaper to insert, and `jsonb` refuses strings JavaScript state may hold (`\u0000`, lone
 * surrogates).
 *
 * @since 0.1.0
 */
import * as os from "node:os"
import { Effect, Layer, Redacted, type Scope } from "effect"
import pg from "pg"
import { type Backend, StateBackend, StateBackendError } from "../StateBackend.ts"
import { latestChain, readRecord, retainedIds, validId } from "./internal/chain.ts"
import { decodeInfo, encodeRecord } from "./internal/encode.ts"

/**
 * Options of the PostgreSQL backend.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The server (`postgres://user@host:port/database`); ignored when `pool` is given. */
  readonly url?: Redacted.Redacted<string> | string | undefined
  /** An existing `pg` pool to use (it is not ended by the backend). */
  readonly pool?: pg.Pool | undefined
  /** The schema of the table (created if missing); default: the connection's `search_path`. */
  readonly schema?: string | undefined
  /** The table is `<prefix>_checkpoints` (default prefix `dataflare_state`). */
  readonly tablePrefix?: string | undefined
  /** Pool size when the backend opens its own pool (default 3: one is held by a run's writer lease). */
  readonly maxConnections?: number | undefined
}

/**
 * The default table prefix: the tables are `dataflare_state_checkpoints` and
 * `dataflare_state_writers`. Not `dataflare`: `dataflare_checkpoints` is the `postgres` sink's
 * default checkpoint table, with other columns, and both often live in one database.
 *
 * @category constants
 * @since 0.3.0
 */
export const DEFAULT_PREFIX = "dataflare_state"

/**
 * A PostgreSQL backend, its pool closed with the scope. The table (and schema) are created if
 * missing.
 *
 * **Example**
 * ```ts
 * const backend = yield* PostgresBackend.make({ url: Redacted.make(process.env.PG_URL!), schema: "dataflare" })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Backend, StateBackendError, Scope.Scope> =>
  Effect.gen(function*() {
    const pool = options.pool ?? (yield* openPool(options))
    const tableName = `${options.tablePrefix ?? DEFAULT_PREFIX}_checkpoints`
    const table = options.schema === undefined
      ? pg.escapeIdentifier(tableName)
      : `${pg.escapeIdentifier(options.schema)}.${pg.escapeIdentifier(tableName)}`
    const lockKey = `dataflare:${options.schema ?? ""}.${tableName}`
    const writersName = `${options.tablePrefix ?? DEFAULT_PREFIX}_writers`
    const writers = options.schema === undefined
      ? pg.escapeIdentifier(writersName)
      : `${pg.escapeIdentifier(options.schema)}.${pg.escapeIdentifier(writersName)}`
    const leaseKey = `dataflare-writer:${options.schema ?? ""}.${tableName}`
    /** workflow → the epoch of the lease this backend holds. */
    const epochs = new Map<string, number>()

    const transaction = <A>(operation: string, body: (client: pg.PoolClient) => Promise<A>) =>
      Effect.tryPromise({
        try: async () => {
          const client = await pool.connect()
          try {
            await client.query("BEGIN")
            const result = await body(client)
            await client.query("COMMIT")
            return result
          } catch (error) {
            await client.query("ROLLBACK").catch(() => undefined)
            throw error
          } finally {
            client.release()
          }
        },
        catch: (cause) =>
          cause instanceof Fenced
            ? new StateBackendError({ backend: "postgres", operation, reason: "Fenced", message: cause.message })
            : new StateBackendError({ backend: "postgres", operation, message: `${operation} on ${table} failed: ${errorText(cause)}`, cause })
      })

    yield* transaction("create table", async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [lockKey])
      if (options.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(options.schema)}`)
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
          workflow text NOT NULL,
          id bigint NOT NULL,
          full_snapshot boolean NOT NULL,
          record json NOT NULL,
          info json NOT NULL,
          completed_at timestamptz NOT NULL,
          PRIMARY KEY (workflow, id)
        )`
      )
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${writers} (
          workflow text PRIMARY KEY,
          epoch bigint NOT NULL,
          holder text NOT NULL,
          since timestamptz NOT NULL
        )`
      )
    })

    /** Throws a Fenced refusal unless this backend's lease of `workflow` (if any) is still current. */
    const checkEpoch = async (client: pg.PoolClient, workflow: string): Promise<void> => {
      const mine = epochs.get(workflow)
      if (mine === undefined) return
      const rows = await client.query<{ epoch: string; holder: string }>(
        `SELECT epoch, holder FROM ${writers} WHERE workflow = $1 FOR UPDATE`,
        [workflow]
      )
      const row = rows.rows[0]
      if (row === undefined || Number(row.epoch) !== mine) {
        epochs.delete(workflow)
        throw new Fenced(
          `this process lost its writer lease of workflow '${workflow}' in ${table}${
            row === undefined ? "" : ` (${row.holder} took it over)`
          }; it stops writing checkpoints`
        )
      }
    }

    const backend: Backend = {
      name: "postgres",
      write: (record) =>
        Effect.gen(function*() {
          if (!validId(record.id)) {
            return yield* new StateBackendError({ backend: "postgres", operation: "write", message: `invalid checkpoint id ${record.id}` })
          }
          const json = yield* Effect.try({
            try: () => {
              const encoded = encodeRecord(record)
              return { record: encoded.json, info: JSON.stringify(encoded.info) }
            },
            catch: (cause) =>
              new StateBackendError({ backend: "postgres", operation: "write", message: `checkpoint ${record.id} is not JSON: ${String(cause)}`, cause })
          })
          yield* transaction("write", async (client) => {
            await client.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [lockKey, record.workflow])
            await checkEpoch(client, record.workflow)
            // later ids belong to a timeline abandoned by a restore
            await client.query(`DELETE FROM ${table} WHERE workflow = $1 AND id >= $2`, [record.workflow, record.id])
            await client.query(
              `INSERT INTO ${table} (workflow, id, full_snapshot, record, info, completed_at)
               VALUES ($1, $2, $3, $4::json, $5::json, to_timestamp($6::float8 / 1000))`,
              [record.workflow, record.id, record.full, json.record, json.info, record.completedAt]
            )
            const rows = await client.query<{ id: string; full_snapshot: boolean }>(
              `SELECT id, full_snapshot FROM ${table} WHERE workflow = $1 ORDER BY id`,
              [record.workflow]
            )
            const keep = retainedIds(rows.rows.map((r) => ({ id: Number(r.id), full: r.full_snapshot })))
            const oldest = keep.size === 0 ? record.id : Math.min(...keep)
            await client.query(`DELETE FROM ${table} WHERE workflow = $1 AND id < $2`, [record.workflow, oldest])
          })
        }),
      latest: (workflow) => latestIn(workflow),
      list: (workflow, limit) =>
        Effect.flatMap(
          transaction("list", (client) =>
            client.query<{ info: unknown }>(`SELECT info FROM ${table} WHERE workflow = $1 ORDER BY id DESC LIMIT $2`, [
              workflow,
              Math.max(0, Math.floor(limit))
            ])),
          (result) =>
            Effect.forEach(result.rows, (row) =>
              Effect.mapError(
                decodeInfo(row.info),
                (cause) =>
                  new StateBackendError({ backend: "postgres", operation: "list", message: `checkpoint metadata in ${table} does not decode: ${String(cause)}` })
              ))
        ),
      clear: (workflow) =>
        transaction("clear", async (client) => {
          await client.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [lockKey, workflow])
          await checkEpoch(client, workflow)
          await client.query(`DELETE FROM ${table} WHERE workflow = $1`, [workflow])
        }),
      lock: (workflow) =>
        Effect.acquireRelease(
          Effect.tryPromise({
            try: () => takeLease(workflow),
            catch: (cause) =>
              cause instanceof LockHeld
                ? new StateBackendError({ backend: "postgres", operation: "lock", reason: "LockHeld", message: cause.message })
                : new StateBackendError({ backend: "postgres", operation: "lock", message: `cannot lock workflow '${workflow}' in ${table}: ${errorText(cause)}`, cause })
          }),
          (client) => Effect.promise(() => dropLease(workflow, client))
        ).pipe(Effect.asVoid)
    }

    /**
     * Takes the session advisory lock of `workflow` on a connection kept for the lease, and a new
     * epoch. Throws LockHeld naming the holder when another session has the lock.
     */
    const takeLease = async (workflow: string): Promise<pg.PoolClient> => {
      const client = await pool.connect()
      try {
        const got = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok", [leaseKey, workflow])
        if (got.rows[0]?.ok !== true) {
          const holder = await client.query<{ holder: string; since: Date }>(`SELECT holder, since FROM ${writers} WHERE workflow = $1`, [workflow])
          const row = holder.rows[0]
          throw new LockHeld(
            `workflow '${workflow}' is being run by ${row === undefined ? "another session" : `${row.holder} (since ${row.since.toISOString()})`} ` +
              `with the state in ${table}; stop it first (a second writer is refused before anything is opened)`
          )
        }
        const me = `process ${process.pid} on ${os.hostname()}`
        const epoch = await client.query<{ epoch: string }>(
          `INSERT INTO ${writers} (workflow, epoch, holder, since) VALUES ($1, 1, $2, now())
           ON CONFLICT (workflow) DO UPDATE SET epoch = ${writers}.epoch + 1, holder = EXCLUDED.holder, since = EXCLUDED.since
           RETURNING epoch`,
          [workflow, me]
        )
        epochs.set(workflow, Number(epoch.rows[0].epoch))
        // a server that goes away ends the session (and the lock); the next write is fenced off
        client.on("error", () => {})
        return client
      } catch (error) {
        client.release()
        throw error
      }
    }

    const dropLease = async (workflow: string, client: pg.PoolClient): Promise<void> => {
      epochs.delete(workflow)
      try {
        await client.query("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", [leaseKey, workflow])
        client.release()
      } catch (error) {
        // the session is gone (and its lock with it): do not hand the connection back
        client.release(error instanceof Error ? error : true)
      }
    }

    /** Finds and rebuilds the newest complete chain, reading records newest first in one snapshot. */
    const latestIn = (workflow: string) =>
      Effect.acquireUseRelease(
        Effect.tryPromise({
          try: async () => {
            const client = await pool.connect()
            await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").catch((error: unknown) => {
              client.release()
              throw error
            })
            return client
          },
          catch: (cause) => new StateBackendError({ backend: "postgres", operation: "latest", message: `cannot read ${table}: ${errorText(cause)}`, cause })
        }),
        (client) =>
          Effect.gen(function*() {
            const query = <R extends pg.QueryResultRow>(text: string, params: ReadonlyArray<unknown>) =>
              Effect.tryPromise({
                try: () => client.query<R>(text, [...params]),
                catch: (cause) =>
                  new StateBackendError({ backend: "postgres", operation: "latest", message: `cannot read ${table}: ${errorText(cause)}`, cause })
              })
            const ids = yield* query<{ id: string }>(`SELECT id FROM ${table} WHERE workflow = $1`, [workflow])
            return yield* latestChain(ids.rows.map((r) => Number(r.id)), (id) =>
              Effect.gen(function*() {
                // the stored text as written (json keeps it verbatim): its checksum is checked before parsing
                const rows = yield* query<{ record: string }>(`SELECT record::text AS record FROM ${table} WHERE workflow = $1 AND id = $2`, [workflow, id])
                const decoded = readRecord(rows.rows[0]?.record ?? "")
                if (!decoded.ok) {
                  yield* Effect.logWarning(`ignoring checkpoint ${id} of '${workflow}' in ${table}: ${decoded.reason}`)
                  return undefined
                }
                return decoded.record
              }))
          }),
        (client) => Effect.promise(() => client.query("COMMIT").catch(() => undefined).finally(() => client.release()))
      )

    return backend
  })

/**
 * A Layer providing the PostgreSQL backend as the {@link StateBackend}.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<StateBackend, StateBackendError> => Layer.effect(StateBackend, make(options))

const openPool = (options: Options): Effect.Effect<pg.Pool, StateBackendError, Scope.Scope> => {
  const url = options.url
  if (url === undefined) {
    return Effect.fail(new StateBackendError({ backend: "postgres", operation: "connect", message: "neither a url nor a pool was given" }))
  }
  return Effect.acquireRelease(
    Effect.try({
      try: () => {
        const pool = new pg.Pool({
          connectionString: typeof url === "string" ? url : Redacted.value(url),
          application_name: "dataflare-state",
          max: options.maxConnections ?? 3
        })
        // an idle client whose server goes away emits 'error'; the next query reports it
        pool.on("error", () => {})
        return pool
      },
      catch: (cause) => new StateBackendError({ backend: "postgres", operation: "connect", message: errorText(cause), cause })
    }),
    (pool) => Effect.promise(() => pool.end().catch(() => undefined))
  )
}


/** Thrown inside a lease query when another session holds the lock. */
class LockHeld extends Error {}

/** Thrown inside a transaction when this process's lease was taken over. */
class Fenced extends Error {}

/** A driver error's message and SQLSTATE; never the connection string. */
const errorText = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = "code" in cause && typeof cause.code === "string" ? ` (SQLSTATE ${cause.code})` : ""
    return `${cause.message}${code}`
  }
  return String(cause)
}
