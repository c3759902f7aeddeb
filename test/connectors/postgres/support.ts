/**
 * Helpers for the PostgreSQL integration tests: every test file works in its own schema of the
 * `test` database (created and dropped here), against the local server.
 */
import { Effect, Redacted, Schema, type Scope } from "effect"
import pg from "pg"
import type * as Connector from "../../../src/Connector.ts"
import { decodeAll } from "../../../src/internal/decode.ts"

/** The test server. */
export const URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** A fresh schema, dropped (with everything in it) when the scope closes. */
export const withSchema = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`
      await query(`CREATE SCHEMA ${pg.escapeIdentifier(name)}`)
      return name
    }),
    (name) => Effect.promise(() => query(`DROP SCHEMA ${pg.escapeIdentifier(name)} CASCADE`))
  )

/** A fresh schema (dropped with the scope) holding a table `t` created with `columns`: both names. */
export const withTable = (prefix: string, columns: string): Effect.Effect<{ readonly schema: string; readonly table: string }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const schema = yield* withSchema(prefix)
    const table = `${schema}.t`
    yield* Effect.promise(() => query(`CREATE TABLE ${table} ${columns}`))
    return { schema, table }
  })

/** Runs one statement on a short-lived connection. */
export const query = async <R extends pg.QueryResultRow = { [k: string]: unknown }>(
  text: string,
  params?: ReadonlyArray<unknown>
): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  try {
    return (await client.query<R>(text, params as Array<unknown>)).rows
  } finally {
    await client.end()
  }
}

/** `query` as an Effect. */
export const sql = <R extends pg.QueryResultRow = { [k: string]: unknown }>(text: string, params?: ReadonlyArray<unknown>) =>
  Effect.promise(() => query<R>(text, params))

/** Decodes a raw config with the definition's Schema (as the registry does), or dies. */
export const decode = <C>(schema: Schema.Decoder<C>, raw: unknown): C => {
  const r = decodeAll(schema, raw)
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.value
}

/** An OpenContext for instance `instance` of `parallelism`. */
export const context = (node: string, batchSize = 1000, instance = 0, parallelism = 1): Connector.OpenContext => ({
  node,
  batchSize,
  instance,
  parallelism
})

/** Reads a source to its end, returning all records. */
export const readAll = <A>(reader: Connector.SourceReader<A>, max = 1000) =>
  Effect.gen(function*() {
    const out: Array<A> = []
    for (;;) {
      const batch = yield* reader.readBatch(max)
      if (batch === undefined) return out
      for (let i = batch.start; i < batch.end; i++) out.push(batch.records[i])
    }
  })

export { Redacted, Schema }
