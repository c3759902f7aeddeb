/**
 * What the PostgreSQL connectors read and write, as `Connector.Resource`s, so that `validate`
 * refuses a workflow that reads a table it truncates, or streams the changes of a table it writes
 * (it would read its own writes forever). A table is named by its server, database and
 * schema-qualified name (`127.0.0.1:5432/shop public.orders`), never with the user or password.
 * Only `postgres://` URLs are understood; for another form of connection string nothing is
 * declared (no check, rather than a wrong one). Two spellings of one server (`localhost` and
 * `127.0.0.1`) are not recognised as one.
 */
import { Redacted } from "effect"
import type { Resource } from "../../../Connector.ts"

/** `host:port/database` of a `postgres://` URL, or `undefined` for anything else. */
const serverOf = (connectionString: string): string | undefined => {
  let url: URL
  try {
    url = new URL(connectionString)
  } catch {
    return undefined
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") return undefined
  const host = (url.searchParams.get("host") ?? (url.hostname.length > 0 ? url.hostname : "localhost")).toLowerCase()
  const port = url.searchParams.get("port") ?? (url.port.length > 0 ? url.port : "5432")
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || decodeURIComponent(url.username)
  return database.length > 0 ? `${host}:${port}/${database}` : undefined
}

/** `schema.table`, unquoted names folded to lower case as PostgreSQL does, `public` by default. */
const qualified = (table: string): string => {
  if (table.includes("\"")) return table
  const name = table.toLowerCase()
  return name.includes(".") ? name : `public.${name}`
}

/** The resource of `table` on the server of `connectionString` (see the module doc). */
export const tableResource = (
  connectionString: Redacted.Redacted<string>,
  table: string,
  key: ReadonlyArray<PropertyKey>,
  shared: boolean
): ReadonlyArray<Resource> => {
  const server = serverOf(Redacted.value(connectionString))
  return server === undefined ? [] : [{ kind: "postgres-table", name: `${server} ${qualified(table)}`, key, ...(shared ? { shared } : {}) }]
}
