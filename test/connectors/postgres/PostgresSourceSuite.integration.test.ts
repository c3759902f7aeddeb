/**
 * The `postgres` source through the shared source conformance suite against the local
 * PostgreSQL: a keyed table (positions are keys), an incremental read (`{ cursor, key }`) and a
 * query (positions are row counts) — the same records whatever the batch size, a new reader
 * seeking to any batch's position continues exactly there, the end stays the end, and a slow
 * pipeline loses nothing (COPY reads the socket only while a block is asked for: nothing is held
 * ahead to measure).
 */
import { Effect } from "effect"
import { PostgresSource } from "../../../src/connectors/postgres/PostgresSource.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { context, decode, sql, URL, withSchema } from "./support.ts"

const open = (raw: object) => PostgresSource.open(decode(PostgresSource.config, { connection_string: URL, ...raw }), context("pg"))

/** A table of its own holding `rows` rows with keys (k, id) and a cursor column `at` shared by threes. */
const table = (prefix: string, rows: number) =>
  Effect.gen(function*() {
    const schema = yield* withSchema(prefix)
    const name = `${schema}.s`
    yield* sql(`CREATE TABLE ${name} (k int, id text, at int, v numeric(8,3), PRIMARY KEY (k, id))`)
    yield* sql(`INSERT INTO ${name} SELECT g % 7, 'k' || g, g / 3, g + 0.125 FROM generate_series(1, ${rows}) g`)
    return name
  })

for (const [name, config] of [
  ["keyed table", (t: string) => ({ table: t })],
  ["incremental", (t: string) => ({ table: t, incremental: { column: "at" } })],
  ["query", (t: string) => ({ query: `SELECT * FROM ${t} ORDER BY k, id` })]
] as const) {
  sourceSuite(
    `postgres source conformance (${name})`,
    Effect.map(table("df_pg_suite", 60), (t) => ({ open: open(config(t)) })),
    { seekTargets: 10, misconfigured: open({ table: "df_no_such_schema.t" }) }
  )
}
