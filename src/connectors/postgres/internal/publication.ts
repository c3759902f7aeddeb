/**
 * The `postgres-cdc` source's tables and publication: the configured `tables` resolved to
 * `schema.table`, and the publication made to stream exactly them.
 *
 * - Missing publication: created (`create_publication: true`) for the tables (or all tables when
 *   no list is given); otherwise refused.
 * - Existing publication with a table list different from `tables`: with `create_publication:
 *   true` it is set to `tables` (`ALTER PUBLICATION ... SET TABLE`: added tables are streamed from
 *   then on, removed ones no longer); otherwise a table of `tables` missing from it is refused
 *   (it would silently never be streamed). Tables of the publication that are not in `tables` are
 *   left out by the source either way, also for changes decoded from WAL written before the change.
 * - A `FOR ALL TABLES` publication streams everything; the source keeps `tables`.
 */
import pg from "pg"
import type { SnapshotTable } from "./cdcSnapshot.ts"

/** A publication or table that does not fit the config (a configuration error, with the way out). */
export class PublicationError extends Error {}

const RESOLVE_SQL = `SELECT n.nspname::text AS schema, c.relname::text AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`

/** Resolves each configured table name to `schema.table`; throws {@link PublicationError} for a missing one. */
export const resolveTables = async (client: pg.Client, names: ReadonlyArray<string>): Promise<Array<SnapshotTable>> => {
  const out: Array<SnapshotTable> = []
  for (const name of names) {
    const rows = (await client.query(RESOLVE_SQL, [name])).rows as Array<{ schema: string; name: string }>
    if (rows.length === 0) throw new PublicationError(`table '${name}' of 'tables' does not exist`)
    out.push({ name, qualified: `${rows[0].schema}.${rows[0].name}` })
  }
  return out
}

const quoted = (qualified: string): string => {
  const dot = qualified.indexOf(".")
  return `${pg.escapeIdentifier(qualified.slice(0, dot))}.${pg.escapeIdentifier(qualified.slice(dot + 1))}`
}

/** What {@link applyPublication} did. */
export type PublicationChange = "created" | "altered" | "unchanged"

/**
 * Makes `publication` stream `tables` (undefined: whatever it streams), creating or altering it
 * when `manage`; throws {@link PublicationError} when it cannot be used as it is.
 */
export const applyPublication = async (
  client: pg.Client,
  publication: string,
  tables: ReadonlyArray<SnapshotTable> | undefined,
  manage: boolean
): Promise<PublicationChange> => {
  const pub = (await client.query(`SELECT puballtables FROM pg_publication WHERE pubname = $1`, [publication])).rows as Array<
    { puballtables: boolean }
  >
  const list = tables === undefined || tables.length === 0 ? "FOR ALL TABLES" : `FOR TABLE ${tables.map((t) => quoted(t.qualified)).join(", ")}`
  if (pub.length === 0) {
    if (!manage) {
      throw new PublicationError(
        `publication '${publication}' does not exist: create it (CREATE PUBLICATION ${publication} ${list}) or set create_publication: true`
      )
    }
    await client.query(`CREATE PUBLICATION ${pg.escapeIdentifier(publication)} ${list}`)
    return "created"
  }
  if (pub[0].puballtables || tables === undefined || tables.length === 0) return "unchanged"
  const current = new Set(
    ((await client.query(`SELECT schemaname::text AS s, tablename::text AS t FROM pg_publication_tables WHERE pubname = $1`, [publication]))
      .rows as Array<{ s: string; t: string }>).map((r) => `${r.s}.${r.t}`)
  )
  const wanted = new Set(tables.map((t) => t.qualified))
  const missing = [...wanted].filter((t) => !current.has(t))
  const extra = [...current].filter((t) => !wanted.has(t))
  if (missing.length === 0 && extra.length === 0) return "unchanged"
  if (!manage) {
    if (missing.length === 0) return "unchanged"
    throw new PublicationError(
      `publication '${publication}' does not publish ${missing.map((t) => `'${t}'`).join(", ")} of 'tables': its changes would never be streamed. ` +
        `Add them (ALTER PUBLICATION ${publication} ADD TABLE ...) or set create_publication: true to make the publication follow 'tables'`
    )
  }
  await client.query(`ALTER PUBLICATION ${pg.escapeIdentifier(publication)} SET TABLE ${tables.map((t) => quoted(t.qualified)).join(", ")}`)
  return "altered"
}
