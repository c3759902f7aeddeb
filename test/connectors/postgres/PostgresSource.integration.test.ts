import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { discover, PostgresSource } from "../../../src/connectors/postgres/PostgresSource.ts"
import { context, decode, readAll, sql, URL, withSchema, withTable } from "./support.ts"

const open = (raw: object, ctx = context("pg")) =>
  PostgresSource.open(decode(PostgresSource.config, { connection_string: URL, ...raw }), ctx)

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

describe("PostgresSource", () => {
  it.effect("streams a 1M-row table in batches with flat memory", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_src_big")
      const table = `${schema}.big`
      // Unlogged and without an index: the test is about streaming, not about loading the table.
      yield* sql(`CREATE UNLOGGED TABLE ${schema}.big (id bigint, name text, amount numeric(12,2), at timestamptz)`)
      yield* sql(
        `INSERT INTO ${schema}.big SELECT g, 'name-' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 1000000) g`
      )
      const reader = yield* open({ table, batch_size: 10000 })
      gc()
      const base = process.memoryUsage().heapUsed
      let peak = 0
      let count = 0
      let sum = 0n
      let batches = 0
      for (;;) {
        const batch = yield* reader.readBatch(10000)
        if (batch === undefined) break
        batches++
        for (let i = batch.start; i < batch.end; i++) sum += batch.records[i].id as bigint
        count += batch.end - batch.start
        if (batches % 10 === 0) {
          gc()
          peak = Math.max(peak, process.memoryUsage().heapUsed - base)
        }
      }
      assert.strictEqual(count, 1_000_000)
      assert.strictEqual(sum, 500000500000n)
      // The whole table as objects takes well over 150 MB; a batch of 10,000 rows a few MB.
      assert.isBelow(peak, 40 * 1024 * 1024, `heap grew by ${Math.round(peak / 1048576)} MB`)
    }).pipe(Effect.scoped), 60_000)

  it.effect("maps column types", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_src_types")
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY, big bigint, n numeric, ts timestamptz, j jsonb, arr int[], u uuid, b bytea, s text)`)
      yield* sql(
        `INSERT INTO ${schema}.t VALUES (1, 9007199254740993, 12.345, '2024-05-06T07:08:09.123Z', '{"a":[1,2]}', '{1,2,3}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x0102ff', 'x')`
      )
      const rows = yield* readAll(yield* open({ table: `${schema}.t` }))
      const r = rows[0]
      assert.strictEqual(r.id, 1)
      assert.strictEqual(r.big, 9007199254740993n)
      assert.strictEqual(r.n, "12.345")
      // timestamps and json are the server's text (exact: microseconds, whitespace, big numbers)
      assert.strictEqual(r.ts, "2024-05-06 07:08:09.123+00")
      assert.strictEqual(r.j, '{"a": [1, 2]}')
      assert.deepStrictEqual(r.arr, [1, 2, 3])
      assert.strictEqual(r.u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
      assert.deepStrictEqual(Array.from(r.b as Uint8Array), [1, 2, 255])
      const asString = yield* readAll(yield* open({ table: `${schema}.t`, bigint: "string" }))
      assert.strictEqual(asString[0].big, "9007199254740993")
      const text = yield* discover(URL, `${schema}.t`)
      assert.include(text, "export const T = Schema.Struct({")
      assert.include(text, "id: Schema.Int, // integer (primary key)")
      assert.include(text, "big: Schema.NullOr(Schema.BigInt)")
      assert.include(text, "arr: Schema.NullOr(Schema.Array(Schema.Int))")
      assert.include(text, "b: Schema.NullOr(Schema.Uint8Array)")
    }).pipe(Effect.scoped))

  it.effect("incremental rerun reads only new rows, including rows sharing a cursor value", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_src_inc")
      const table = `${schema}.events`
      yield* sql(`CREATE TABLE ${table} (id int PRIMARY KEY, updated_at timestamptz NOT NULL)`)
      // Five rows share one microsecond-precise timestamp; the batch boundary falls inside them.
      yield* sql(`INSERT INTO ${table} SELECT g, '2024-01-01 00:00:00.000001+00' FROM generate_series(1, 5) g`)
      yield* sql(`INSERT INTO ${table} SELECT g, '2024-01-02 00:00:00.000002+00' FROM generate_series(6, 7) g`)
      const config = { table, incremental: { column: "updated_at", initial_value: "2023-01-01T00:00:00Z" } }
      const first = yield* open(config)
      const a = yield* first.readBatch(3)
      const position = yield* first.position
      assert.deepStrictEqual(a!.records.map((r) => r.id), [1, 2, 3])
      // A second run restored from the position: rows 4..7, then the new ones.
      yield* sql(`INSERT INTO ${table} VALUES (8, '2024-01-01 00:00:00.000001+00'), (9, '2024-01-03+00')`)
      const second = yield* open(config)
      yield* second.seek(position)
      const rest = yield* readAll(second, 2)
      assert.deepStrictEqual(rest.map((r) => r.id), [4, 5, 8, 6, 7, 9])
      const end = yield* second.position
      // A rerun from the end reads only rows inserted afterwards.
      yield* sql(`INSERT INTO ${table} VALUES (10, '2024-01-03+00'), (11, '2024-02-01+00')`)
      const third = yield* open(config)
      yield* third.seek(end)
      assert.deepStrictEqual((yield* readAll(third)).map((r) => r.id), [10, 11])
      const again = yield* open(config)
      yield* again.seek(yield* third.position)
      assert.deepStrictEqual(yield* readAll(again), [])
    }).pipe(Effect.scoped))

  it.effect("incremental with a nullable cursor: NULL cursors sort first, are read once and never re-read", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_src_incnull")
      const table = `${schema}.events`
      yield* sql(`CREATE TABLE ${table} (id int PRIMARY KEY, updated_at timestamptz)`)
      yield* sql(`INSERT INTO ${table} VALUES (1, NULL), (2, '2024-01-01+00'), (3, NULL), (4, NULL), (5, '2024-01-02+00')`)
      const config = { table, incremental: { column: "updated_at" } }
      const first = yield* open(config)
      // The batch boundary falls among the NULL rows: the position is a place among them.
      const a = yield* first.readBatch(2)
      assert.deepStrictEqual(a!.records.map((r) => r.id), [1, 3])
      const inNulls = yield* first.position
      assert.deepStrictEqual(inNulls, { cursor: null, key: ["3"], range: null })
      const resumed = yield* open(config)
      yield* resumed.seek(inNulls)
      assert.deepStrictEqual((yield* readAll(resumed)).map((r) => r.id), [4, 2, 5])
      const end = yield* resumed.position
      assert.deepStrictEqual(end, { cursor: "2024-01-02 00:00:00+00", key: ["5"], range: null })
      // A rerun from the end reads nothing (it used to read the whole table again) ...
      const rerun = yield* open(config)
      yield* rerun.seek(end)
      assert.deepStrictEqual(yield* readAll(rerun), [])
      // ... and then only rows whose cursor is past the position: a new NULL cursor is behind it.
      yield* sql(`INSERT INTO ${table} VALUES (6, NULL), (7, '2024-01-03+00')`)
      const next = yield* open(config)
      yield* next.seek(end)
      assert.deepStrictEqual((yield* readAll(next)).map((r) => r.id), [7])
      // With initial_value (exclusive), NULL cursors are never read.
      const fromInitial = yield* open({ table, incremental: { column: "updated_at", initial_value: "2024-01-01T00:00:00Z" } })
      assert.deepStrictEqual((yield* readAll(fromInitial)).map((r) => r.id), [5, 7])
    }).pipe(Effect.scoped))

  it.live("reads in key order through the primary key's index, even where the planner would sort the table whole", () =>
    Effect.gen(function*() {
      const { schema, table } = yield* withTable("df_src_order", `(id int PRIMARY KEY, v text)`)
      yield* sql(`INSERT INTO ${table} SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 100000) g ORDER BY random()`)
      yield* sql(`ANALYZE ${table}`)
      // Costs that make a sort of the whole table look cheaper than the index (as on a server with
      // default costs and a large, unordered table): the session still reads through the index.
      const pessimistic = `${URL}${URL.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c random_page_cost=40 -c effective_cache_size=1MB")}`
      const scans = sql<{ idx: number; seq: number }>(
        `SELECT coalesce(idx_scan, 0)::int AS idx, seq_scan::int AS seq FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 't'`,
        [schema]
      ).pipe(Effect.map((rows) => rows[0]))
      const before = yield* scans
      // (the session ends with the inner scope, which flushes its statistics)
      const ids = yield* Effect.scoped(
        Effect.flatMap(
          PostgresSource.open(decode(PostgresSource.config, { connection_string: pessimistic, table }), context("pg")),
          (reader) => readAll(reader, 10000)
        )
      )
      assert.strictEqual(ids.length, 100000)
      assert.isTrue(ids.every((r, i) => r.id === i + 1))
      let after = before
      for (let i = 0; i < 100 && after.idx === before.idx; i++) {
        yield* Effect.sleep(100)
        after = yield* scans
      }
      // one index scan, no sequential scan (which a sort of the whole table would take)
      assert.deepStrictEqual(after, { idx: before.idx + 1, seq: before.seq })
    }).pipe(Effect.scoped), 60_000)

  it.effect("a parallel snapshot equals the serial snapshot", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_src_par")
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY, code text NOT NULL)`)
      yield* sql(`INSERT INTO ${schema}.t SELECT g, md5(g::text) FROM generate_series(1, 20011) g`)
      const serial = (yield* readAll(yield* open({ table: `${schema}.t` }))).map((r) => r.id as number)
      for (const extra of [{}, { partition_column: "code" }]) {
        const parts = yield* Effect.forEach([0, 1, 2, 3], (i) =>
          Effect.flatMap(open({ table: `${schema}.t`, ...extra }, context("pg", 1000, i, 4)), (r) => readAll(r)), {
          concurrency: 4
        })
        for (const part of parts) assert.isAbove(part.length, 2000)
        const all = parts.flat().map((r) => r.id as number).sort((x, y) => x - y)
        assert.deepStrictEqual(all, serial)
      }
    }).pipe(Effect.scoped))

  it.effect("a query snapshot seeks by row count", () =>
    Effect.gen(function*() {
      const reader = yield* open({ query: "SELECT g AS n FROM generate_series(1, 10) g ORDER BY g" })
      yield* reader.readBatch(4)
      const position = yield* reader.position
      const again = yield* open({ query: "SELECT g AS n FROM generate_series(1, 10) g ORDER BY g" })
      yield* again.seek(position)
      assert.deepStrictEqual((yield* readAll(again)).map((r) => r.n), [5, 6, 7, 8, 9, 10])
    }).pipe(Effect.scoped))

  it.effect("a missing table is a configuration error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(open({ table: "no_such_table_here" }))
      assert.strictEqual(error.reason._tag, "ConfigurationError")
      assert.notInclude(error.message, "postgres://")
    }).pipe(Effect.scoped))
})
