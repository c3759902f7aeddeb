/**
 * Opening sessions: an `@effect/sql-pg` client on one connection (queries, cursors), and a `pg`
 * client (COPY, replication), both released with the task's scope. Connection strings stay
 * `Redacted` until the driver gets them.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, type Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import pg from "pg"
import type { ConnectorError } from "../../../Errors.ts"
import { classify } from "../PostgresError.ts"
import { OUTPUT_SETTINGS_SQL } from "./values.ts"

/**
 * How long opening a connection may take: a server that accepts TCP but never answers must fail
 * the connect (and `dataflare check`) instead of hanging it.
 */
export const CONNECT_TIMEOUT_MS = 10_000

/** A single-connection `@effect/sql-pg` client, closed with the scope. */
export const sqlSession = (
  connector: string,
  connectionString: Redacted.Redacted<string>
): Effect.Effect<PgClient.PgClient, ConnectorError, Scope.Scope> =>
  PgClient.makeClient({ url: connectionString, applicationName: "dataflare", connectTimeout: CONNECT_TIMEOUT_MS }).pipe(
    Effect.provide(Reactivity.layer),
    Effect.mapError(classify(connector, "connect"))
  )

/** Options for {@link pgSession}. */
export interface PgSessionOptions {
  readonly replication?: boolean
}

/** Builds a `pg` client config without printing the connection string anywhere. */
export const pgConfig = (connectionString: Redacted.Redacted<string>, options?: PgSessionOptions): pg.ClientConfig => ({
  connectionString: Redacted.value(connectionString),
  application_name: "dataflare",
  connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  ...(options?.replication === true ? { replication: "database" } : {})
})

/** A connected `pg` client, ended with the scope. */
export const pgSession = (
  connector: string,
  connectionString: Redacted.Redacted<string>,
  options?: PgSessionOptions
): Effect.Effect<pg.Client, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new pg.Client(pgConfig(connectionString, options))
        // An idle client whose server goes away emits 'error'; the next query reports it.
        client.on("error", () => {})
        await client.connect()
        return client
      },
      catch: classify(connector, "connect")
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/** Splits `schema.table` (or `table`) into its parts. */
export const splitName = (name: string): readonly [schema: string | undefined, table: string] => {
  const dot = name.indexOf(".")
  return dot < 0 ? [undefined, name] : [name.slice(0, dot), name.slice(dot + 1)]
}

/** Quotes an identifier with `pg`'s escaping (`schema.table` quoted part by part, as `@effect/sql-pg` does). */
export const quoteIdent = (name: string): string => name.split(".").map((part) => pg.escapeIdentifier(part)).join(".")

/**
 * Connects a `pg` client for reading values (see `values.ts`): the session's output settings are
 * fixed so that every type's text output is canonical. The caller ends it.
 */
export const connectForReading = async (connectionString: Redacted.Redacted<string>): Promise<pg.Client> => {
  const client = new pg.Client(pgConfig(connectionString))
  client.on("error", () => {})
  await client.connect()
  try {
    await client.query(OUTPUT_SETTINGS_SQL)
  } catch (e) {
    await client.end().catch(() => undefined)
    throw e
  }
  return client
}

/** {@link connectForReading} as a scoped resource. */
export const pgReadSession = (
  connector: string,
  connectionString: Redacted.Redacted<string>
): Effect.Effect<pg.Client, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => connectForReading(connectionString), catch: classify(connector, "connect") }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )
