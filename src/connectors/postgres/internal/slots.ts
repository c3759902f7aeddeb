/**
 * Replication slots of the `postgres-cdc` source seen from a plain session: their lag (gauge and
 * on demand) and dropping one that is no longer used.
 */
import { Effect, Metric, Redacted } from "effect"
import type pg from "pg"
import type { ConnectorError } from "../../../Errors.ts"
import { classify } from "../PostgresError.ts"
import { pgReadSession } from "./client.ts"

const CONNECTOR = "postgres-cdc"

/**
 * Replication lag of a slot in bytes (`pg_current_wal_lsn() - confirmed_flush_lsn`).
 *
 * @category metrics
 * @since 0.1.0
 */
export const lagGauge = Metric.gauge("dataflare_postgres_cdc_lag_bytes", {
  description: "WAL bytes between the server's current LSN and the slot's confirmed flush LSN"
})

// A slot confirmed at a keepalive's LSN may be a few bytes past the current insert position: that is no lag.
const LAG_SQL =
  "SELECT greatest(pg_current_wal_lsn() - confirmed_flush_lsn, 0)::text AS lag FROM pg_replication_slots WHERE slot_name = $1"

/** The lag of `slot` in bytes on `client`, or `undefined` when the slot does not exist. */
export const lagOf = async (client: pg.Client, slot: string): Promise<bigint | undefined> => {
  const rows = (await client.query(LAG_SQL, [slot])).rows as Array<{ lag: string | null }>
  return rows.length === 0 || rows[0].lag === null ? undefined : BigInt(rows[0].lag.split(".")[0])
}

/**
 * The replication lag of `slot` in bytes, or `undefined` when the slot does not exist.
 *
 * @category metrics
 * @since 0.1.0
 */
export const replicationLag = (
  connectionString: Redacted.Redacted<string> | string,
  slot: string
): Effect.Effect<bigint | undefined, ConnectorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const url = typeof connectionString === "string" ? Redacted.make(connectionString) : connectionString
      const client = yield* pgReadSession(CONNECTOR, url)
      return yield* Effect.tryPromise({ try: () => lagOf(client, slot), catch: classify(CONNECTOR, "lag") })
    })
  )

/**
 * Drops a replication slot that is no longer used (the WAL it holds is then released).
 *
 * @category maintenance
 * @since 0.1.0
 */
export const dropSlot = (connectionString: Redacted.Redacted<string> | string, slot: string): Effect.Effect<void, ConnectorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const url = typeof connectionString === "string" ? Redacted.make(connectionString) : connectionString
      const client = yield* pgReadSession(CONNECTOR, url)
      yield* Effect.tryPromise({
        try: () => client.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot]),
        catch: classify(CONNECTOR, "dropSlot")
      })
    })
  )

