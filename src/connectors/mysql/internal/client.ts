/**
 * Connections of the MySQL connectors (`mysql2`, callback API). Every session is set up the same
 * way so values are exact both ways:
 *
 * - results as the server's text: `BIGINT` and `DECIMAL` as strings (`supportBigNumbers`,
 *   `bigNumberStrings`), dates and times as strings (`dateStrings`: no time-zone shift in the
 *   driver), JSON as its text (`jsonStrings`), binary strings and `BIT` as bytes;
 * - `time_zone = '+00:00'`, so `TIMESTAMP` values read and written are UTC whatever the server's
 *   zone;
 * - `sql_mode` strict (`STRICT_ALL_TABLES`, `NO_AUTO_VALUE_ON_ZERO`, ...): a value that does not
 *   fit its column is refused, never truncated or replaced by a default.
 *
 * The connection string and password stay `Redacted` until the driver gets them; a connect is
 * bounded by {@link CONNECT_TIMEOUT_MS}.
 */
import { Effect, Redacted, type Scope } from "effect"
import mysql from "mysql2"
import type { ConnectorError } from "../../../Errors.ts"
import { classify } from "../MysqlError.ts"

/** How long a connect may take before it fails. */
export const CONNECT_TIMEOUT_MS = 10_000

/** What a connection needs: the URL and an optional password that overrides the URL's. */
export interface Credentials {
  readonly connection_string: Redacted.Redacted<string>
  readonly password?: Redacted.Redacted<string>
}

const SESSION_SQL = "SET time_zone = '+00:00', " +
  "sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', " +
  "group_concat_max_len = 1048576"

/** The driver options of a session (see the module doc). */
export const connectionOptions = (c: Credentials): mysql.ConnectionOptions => ({
  uri: Redacted.value(c.connection_string).replace(/^mariadb:/u, "mysql:"),
  ...(c.password !== undefined ? { password: Redacted.value(c.password) } : {}),
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  jsonStrings: true,
  connectTimeout: CONNECT_TIMEOUT_MS,
  multipleStatements: false,
  charset: "utf8mb4_bin"
})

/** The database the connection string names (`undefined` when it names none). */
export const databaseOf = (c: Credentials): string | undefined => {
  try {
    const name = decodeURIComponent(new URL(Redacted.value(c.connection_string)).pathname.replace(/^\//u, ""))
    return name.length > 0 ? name : undefined
  } catch {
    return undefined
  }
}

/** Runs one statement; resolves with its rows (or the OK packet). */
export const run = <T = ReadonlyArray<{ readonly [k: string]: unknown }>>(
  conn: mysql.Connection,
  sql: string,
  params?: ReadonlyArray<unknown>
): Promise<T> =>
  new Promise((resolve, reject) => {
    conn.query({ sql, values: params as Array<unknown> | undefined }, (err, rows) => {
      if (err !== null) reject(err)
      else resolve(rows as T)
    })
  })

/** Opens a session and sets it up (see the module doc). */
export const connect = async (c: Credentials): Promise<mysql.Connection> => {
  const conn = mysql.createConnection(connectionOptions(c))
  // errors after the connect (the server going away) are reported by the next query
  conn.on("error", () => undefined)
  try {
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err === null ? resolve() : reject(err))))
    await run(conn, SESSION_SQL)
  } catch (e) {
    conn.destroy()
    throw e
  }
  return conn
}

/** Closes a session, ignoring errors (a lost session is destroyed). */
export const close = (conn: mysql.Connection): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => {
      conn.destroy()
      resolve()
    }, 2000)
    conn.end(() => {
      clearTimeout(timer)
      resolve()
    })
  })

/** A session for the lifetime of the scope; failures classified for `operation`. */
export const session = (
  connector: string,
  operation: string,
  c: Credentials
): Effect.Effect<mysql.Connection, ConnectorError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => connect(c), catch: classify(connector, operation) }),
    (conn) => Effect.promise(() => close(conn))
  )

/** Quotes an identifier (`db.table` becomes `` `db`.`table` ``). */
export const quoteIdent = (name: string): string =>
  name.split(".").map((part) => "`" + part.replaceAll("`", "``") + "`").join(".")

/** Quotes one column name (dots are part of the name). */
export const quoteColumn = (name: string): string => "`" + name.replaceAll("`", "``") + "`"

/** `[database, table]` of `db.table`, or `[undefined, table]`. */
export const splitName = (name: string): readonly [database: string | undefined, table: string] => {
  const i = name.indexOf(".")
  return i < 0 ? [undefined, name] : [name.slice(0, i), name.slice(i + 1)]
}

/** A `Connector.Resource` name for a table: `host:port/database table`, never with credentials. */
export const tableResourceName = (c: Credentials, table: string): string | undefined => {
  try {
    const url = new URL(Redacted.value(c.connection_string))
    const [db, name] = splitName(table)
    const database = db ?? databaseOf(c)
    if (database === undefined) return undefined
    return `${url.hostname.toLowerCase()}:${url.port.length > 0 ? url.port : "3306"} ${database}.${name}`
  } catch {
    return undefined
  }
}
