import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import pg from "pg"
import * as PostgresBackend from "../../src/backends/PostgresBackend.ts"
import { StateBackendError } from "../../src/StateBackend.ts"
import { backendSuite } from "../../src/testing/vitest.ts"
import { checkRewind, entriesOf, record, withWarnings } from "./support.ts"

const URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `state_suite_${process.pid}_${Math.floor(Math.random() * 1e9)}`

const query = async <R extends pg.QueryResultRow>(text: string, params: Array<unknown> = []): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  try {
    return (await client.query<R>(text, params)).rows
  } finally {
    await client.end()
  }
}
const sql = <R extends pg.QueryResultRow>(text: string, params: Array<unknown> = []) => Effect.promise(() => query<R>(text, params))

afterAll(() => query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`))

backendSuite("postgres backend", PostgresBackend.make({ url: URL, schema }))

describe("postgres backend", () => {
  it.live("creates <prefix>_checkpoints in the schema, and reuses it", () =>
    Effect.gen(function*() {
      // several processes starting at once all find (or create) the one table
      const backends = yield* Effect.all(Array.from({ length: 4 }, () => PostgresBackend.make({ url: URL, schema, tablePrefix: "custom" })), {
        concurrency: "unbounded"
      })
      const columns = yield* sql<{ column_name: string; data_type: string }>(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'custom_checkpoints' ORDER BY ordinal_position",
        [schema]
      )
      assert.deepStrictEqual(columns.map((c) => [c.column_name, c.data_type]), [
        ["workflow", "text"],
        ["id", "bigint"],
        ["full_snapshot", "boolean"],
        ["record", "json"],
        ["info", "json"],
        ["completed_at", "timestamp with time zone"]
      ])
      yield* backends[0].write(record("layout", 7, true, [["a", 1]]))
      const rows = yield* sql<{ id: string; full_snapshot: boolean; completed: string }>(
        `SELECT id, full_snapshot, (extract(epoch from completed_at) * 1000)::bigint AS completed FROM ${pg.escapeIdentifier(schema)}.custom_checkpoints WHERE workflow = 'layout'`
      )
      assert.deepStrictEqual(rows, [{ id: "7", full_snapshot: true, completed: "7003" }])
      assert.deepStrictEqual(yield* entriesOf(backends[3], "layout"), [["a", 1]])
    }))

  it.live("two processes share state: one takes over where the other stopped", () =>
    Effect.gen(function*() {
      const first = yield* PostgresBackend.make({ url: URL, schema })
      const second = yield* PostgresBackend.make({ url: URL, schema })
      for (let id = 1; id <= 3; id++) yield* first.write(record("shared", id, id === 1, [[`k${id}`, id]]))
      assert.strictEqual((yield* second.latest("shared"))?.id, 3)
      yield* second.write(record("shared", 4, false, [["k4", 4]], ["k1"]))
      assert.deepStrictEqual(yield* entriesOf(first, "shared"), [["k2", 2], ["k3", 3], ["k4", 4]])
      assert.deepStrictEqual((yield* first.list("shared", 10)).map((i) => i.id), [4, 3, 2, 1])
      // both writing their own workflows at the same time
      yield* Effect.all([
        Effect.forEach([1, 2, 3, 4, 5], (id) => first.write(record("p1", id, id === 1, [[`a${id}`, id]]))),
        Effect.forEach([1, 2, 3, 4, 5], (id) => second.write(record("p2", id, id === 1, [[`b${id}`, id]])))
      ], { concurrency: 2 })
      assert.strictEqual((yield* second.latest("p1"))?.operators.get("op/0")?.entries.length, 5)
      assert.strictEqual((yield* first.latest("p2"))?.operators.get("op/0")?.entries.length, 5)
    }))

  it.live("a record that does not decode is skipped with a warning; the next write discards the abandoned timeline", () =>
    Effect.gen(function*() {
      const backend = yield* PostgresBackend.make({ url: URL, schema })
      const { warnings } = yield* withWarnings(checkRewind(backend, "rewind", (id) =>
        Effect.asVoid(sql(`UPDATE ${pg.escapeIdentifier(schema)}.dataflare_checkpoints SET record = '{"format":2}' WHERE workflow = 'rewind' AND id = $1`, [id]))))
      assert.isTrue(warnings.some((w) => w.includes("ignoring checkpoint 3 of 'rewind'")), warnings.join("\n"))
    }))

  it.live("a server that cannot be reached is a StateBackendError without the password", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(PostgresBackend.make({ url: "postgres://postgres:s3cret-pw@127.0.0.1:1/test" }))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.flatMap((r) => (r._tag === "Fail" ? [r.error] : []))[0] : undefined
      assert.instanceOf(error, StateBackendError)
      assert.include(error?.message, "ECONNREFUSED")
      assert.notInclude(error?.message, "s3cret-pw")
    }))
})
