/**
 * Every built-in type read exactly (docs/connectors/postgres.md, "Types"): a table of 70 columns of
 * every type family with extreme values and NULLs (typeTable.ts), read by the `postgres` source,
 * each value written back as text the way the contract says a sink writes it and compared, by the
 * server, with the column's own text; the encoded batches against `COPY ... TO STDOUT` itself; and
 * PostgreSQL → PostgreSQL through the runtime in every mode (records, records through a map, COPY
 * text passed through) and guarantee (at-least-once, exactly-once staged and prepared), compared
 * column by column with `md5`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type pg from "pg"
import * as Batch from "../../../src/Batch.ts"
import { connectForReading } from "../../../src/connectors/postgres/internal/client.ts"
import { definitions } from "../../../src/connectors/postgres/index.ts"
import { discover, PostgresSource } from "../../../src/connectors/postgres/PostgresSource.ts"
import { MapDefinition } from "../../../src/processors/map.ts"
import type { Definition } from "../../../src/Registry.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as StateBackend from "../../../src/StateBackend.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"
import { context, decode, readAll, Redacted, sql, URL } from "./support.ts"
import { COLUMNS, createTypeTable, typeTableSchema } from "./typeTable.ts"

const registry = Registry.layer([...definitions, MapDefinition as Definition])

const open = (raw: object, ctx = context("pg")) =>
  PostgresSource.open(decode(PostgresSource.config, { connection_string: URL, ...raw }), ctx)

/** A reading session (fixed output settings), ended with the scope. */
const session = Effect.acquireRelease(
  Effect.promise(() => connectForReading(Redacted.make(URL))),
  (c) => Effect.promise(() => c.end())
)

const run = (client: pg.Client, text: string, params?: ReadonlyArray<unknown>) =>
  Effect.promise(async () => (await client.query(text, params as Array<unknown>)).rows as Array<{ [k: string]: unknown }>)

/** A value as the text a sink writes for it (the contract's sink side), `null` for NULL. */
const toText = (v: unknown, delimiter = ","): string | null => {
  if (v === null) return null
  if (typeof v === "string") return v
  if (typeof v === "boolean") return v ? "t" : "f"
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v)
  if (typeof v === "bigint") return String(v)
  if (v instanceof Uint8Array) return "\\x" + Buffer.from(v).toString("hex")
  if (Array.isArray(v)) {
    return "{" + v.map((e: unknown) =>
      e === null ? "NULL" : Array.isArray(e) ? toText(e, delimiter) : `"${toText(e)!.replace(/["\\]/g, "\\$&")}"`
    ).join(delimiter) + "}"
  }
  throw new Error(`not a value of the contract: ${String(v)}`)
}

const typeIn = (schema: string, type: string) =>
  type === "%ENUM%" ? `${schema}.mood` : type === "%DOMAIN%" ? `${schema}.positive` : type === "%COMPOSITE%" ? `${schema}.pair` : type

describe("PostgreSQL type fidelity", () => {
  it.effect("the source reads every built-in type into the contract's values, exactly", () =>
    Effect.gen(function*() {
      const schema = yield* typeTableSchema("df_types", "t")
      const rows = yield* readAll(yield* open({ table: `${schema}.t` }))
      assert.strictEqual(rows.length, 4)
      assert.isAbove(COLUMNS.length, 40)
      const client = yield* session
      const mismatches: Array<string> = []
      for (const [name, type] of COLUMNS) {
        const texts = rows.map((r) => toText(r[name], type === "box[]" ? ";" : ","))
        const check = yield* run(
          client,
          `SELECT t.id, t.${name}::text AS expected, (($1::text[])[t.id]::${typeIn(schema, type)})::text AS got FROM ${schema}.t t ORDER BY t.id`,
          [texts]
        )
        for (const c of check) {
          if (c.expected !== c.got) mismatches.push(`${name} row ${c.id}: expected ${String(c.expected)}, read as ${String(c.got)}`)
        }
      }
      assert.deepStrictEqual(mismatches, [])

      // The representations themselves.
      const [r1, r2, r3, r4] = rows
      assert.strictEqual(r1.c_bool, true)
      assert.strictEqual(r1.c_int4, -2147483648)
      assert.strictEqual(r2.c_int8, 9223372036854775807n)
      assert.isTrue(Object.is(r1.c_float4, -0) && Object.is(r1.c_float8, -0))
      assert.isTrue(Number.isNaN(r2.c_float4) && r2.c_float8 === Infinity)
      assert.strictEqual(r1.c_float8b, 0.1)
      assert.strictEqual(r1.c_numeric, "12345678901234567890.123456789012345678901234567890")
      assert.strictEqual(r1.c_numeric2, "2.50")
      assert.strictEqual(r2.c_numeric, "NaN")
      assert.strictEqual(r1.c_date, "infinity")
      assert.strictEqual(r2.c_date, "4713-01-01 BC")
      assert.strictEqual(r3.c_time, "12:34:56.789012")
      assert.strictEqual(r2.c_timestamptz, "2024-05-06 05:08:09.123456+00")
      assert.strictEqual(r1.c_interval, "1 year 2 mons 3 days 04:05:06.789012")
      assert.strictEqual(r2.c_interval, "00:00:00.000001")
      assert.strictEqual(r1.c_json, '{"a" : 1,  "a": 2 }')
      assert.strictEqual(r2.c_json, "null")
      assert.strictEqual(r3.c_json, "[12345678901234567890, 1e400, 2.50]")
      assert.strictEqual(r1.c_jsonb, `{"d": 2.50, "e": ${"1" + "0".repeat(400)}, "n": 12345678901234567890}`)
      assert.strictEqual(r2.c_jsonb, "null")
      assert.deepStrictEqual(r1.c_bytea, new Uint8Array([0, 255, 0x5c, 0x0a, 0x0d, 0x09]))
      assert.strictEqual(r1.c_text, "tab\there\nnew line \\ back\\slash \r cr")
      assert.strictEqual(r3.c_varchar, "\\N")
      assert.strictEqual(r1.c_char, "ab   ")
      assert.strictEqual(r1.c_macaddr, "08:00:2b:01:02:03")
      assert.strictEqual(r1.c_int4range, "[1,10)")
      assert.strictEqual(r1.c_tsvector, "'a' 'cat':2A 'fat':1")
      assert.strictEqual(r1.c_domain, 42)
      assert.strictEqual(r1.c_enum, "sad")
      assert.deepStrictEqual(r1.c_int4_arr, [1, null, 3])
      assert.deepStrictEqual(r1.c_int4_2d, [[1, 2], [3, 4]])
      assert.deepStrictEqual(r2.c_int4_arr, [])
      assert.strictEqual(r1.c_int4_bounds, "[0:1]={7,8}")
      assert.deepStrictEqual(r3.c_int4_bounds, [5])
      assert.deepStrictEqual(r1.c_int8_arr, [9223372036854775807n, -9223372036854775808n])
      assert.deepStrictEqual(r1.c_text_arr, ["a,b", 'c"d', "NULL", null, "", "x", "back\\slash", "{}", " sp "])
      assert.deepStrictEqual(r1.c_box_arr, ["(1,1),(0,0)", "(2,2),(1,1)"])
      assert.deepStrictEqual(r1.c_bytea_arr, [new Uint8Array([0, 255]), null, new Uint8Array([])])
      assert.deepStrictEqual(r1.c_jsonb_arr, ['{"a": 1}', null, "2.50"])
      assert.deepStrictEqual(r1.c_tstz_arr, ["infinity", "2024-01-01 00:00:00.000001+00"])
      for (const [name] of COLUMNS) assert.strictEqual(r4[name], null, name)

      // discover prints what the source gives: a domain as its base type, arrays, text with a note
      const printed = yield* discover(URL, `${schema}.t`)
      assert.include(printed, "  c_domain: Schema.NullOr(Schema.Int), //")
      assert.include(printed, "  c_int8_arr: Schema.NullOr(Schema.Array(Schema.BigInt)), // bigint[] (more dimensions nest arrays")
      assert.include(printed, "  c_jsonb: Schema.NullOr(Schema.String /* jsonb: the document's text */), // jsonb")
      assert.include(printed, "  c_bytea: Schema.NullOr(Schema.Uint8Array), // bytea")
      assert.include(printed, "  c_macaddr: Schema.NullOr(Schema.String /* macaddr: the server's text */), // macaddr")

      // bigint: string gives the digits
      const asString = yield* readAll(yield* open({ table: `${schema}.t`, bigint: "string" }))
      assert.strictEqual(asString[1].c_int8, "9223372036854775807")
      assert.deepStrictEqual(asString[0].c_int8_arr, ["9223372036854775807", "-9223372036854775808"])
    }).pipe(Effect.scoped), 60_000)

  it.effect("a query reads the same values as its table", () =>
    Effect.gen(function*() {
      const schema = yield* typeTableSchema("df_types_q", "t")
      const fromTable = yield* readAll(yield* open({ table: `${schema}.t` }))
      const fromQuery = yield* readAll(yield* open({ query: `SELECT * FROM ${schema}.t ORDER BY id` }))
      assert.deepStrictEqual(fromQuery, fromTable)
    }).pipe(Effect.scoped), 60_000)

  it.effect("encoded batches hold the rows exactly as COPY TO STDOUT writes them, and decode to the records", () =>
    Effect.gen(function*() {
      const schema = yield* typeTableSchema("df_types_enc", "t")
      yield* sql(`INSERT INTO ${schema}.t (id, c_text, c_int8) SELECT g, 'row ' || g, g FROM generate_series(5, 2500) g`)
      const table = `${schema}.t`
      const plain = yield* readAll(yield* open({ table }), 700)
      const reader = yield* open({ table }, { ...context("pg"), encoding: "application/x-postgres-copy" })
      const chunks: Array<Buffer> = []
      const decoded: Array<unknown> = []
      const positions: Array<unknown> = []
      for (;;) {
        const batch = yield* reader.readBatch(700)
        if (batch === undefined) break
        const encoded = Batch.encodedOf(batch)
        assert.isDefined(encoded)
        if (encoded?.format !== "application/x-postgres-copy") throw new Error("not a COPY batch")
        assert.strictEqual(encoded.relation, table)
        assert.strictEqual(encoded.columns.length, COLUMNS.length + 1)
        assert.strictEqual(encoded.types[0], "integer")
        assert.strictEqual(encoded.types[encoded.columns.indexOf("c_numeric2")], "numeric(10,2)")
        chunks.push(Buffer.from(encoded.bytes))
        positions.push(batch.origin?.position)
        for (const r of Batch.toArray(batch)) decoded.push(r)
      }
      assert.deepStrictEqual(positions, [700, 1400, 2100, 2500].map((k) => ({ key: [String(k)], range: null })))
      assert.deepStrictEqual(decoded, plain)
      // The bytes are what the server's own COPY writes.
      const client = yield* session
      const expected = yield* Effect.promise(async () => {
        const { to } = await import("pg-copy-streams")
        const stream = client.query(to(`COPY (SELECT * FROM ${table} ORDER BY id) TO STDOUT`))
        const parts: Array<Buffer> = []
        for await (const chunk of stream) parts.push(chunk as Buffer)
        return Buffer.concat(parts)
      })
      assert.isTrue(Buffer.concat(chunks).equals(expected))
      // A resumed encoded reader continues after the key of its position.
      const resumed = yield* open({ table }, { ...context("pg"), encoding: "application/x-postgres-copy" })
      yield* resumed.seek(positions[1] as Batch.Position)
      const rest = yield* readAll(resumed, 1000)
      assert.deepStrictEqual(rest, plain.slice(1400))
    }).pipe(Effect.scoped), 60_000)

  it.live("PostgreSQL → PostgreSQL through the runtime is exact for every type, in every mode and guarantee (md5 per column)", () =>
    Effect.gen(function*() {
      const schema = yield* typeTableSchema("df_types_wf", "src")
      // More rows than a batch, so batches and checkpoints have boundaries.
      for (let copy = 1; copy <= 3; copy++) {
        yield* sql(`INSERT INTO ${schema}.src SELECT id + ${copy * 10}, ${COLUMNS.map(([n]) => n).join(", ")} FROM ${schema}.src WHERE id <= 4`)
      }
      const client = yield* session
      const md5 = (table: string) =>
        Effect.map(
          run(
            client,
            `SELECT ${
              ["id", ...COLUMNS.map(([n]) => n)].map((n) => `md5(string_agg(coalesce(${n}::text, '<NULL>'), '|' ORDER BY id)) AS ${n}`).join(", ")
            }, count(*)::int AS n FROM ${schema}.${table}`
          ),
          (rows) => rows[0]
        )
      const expected = yield* md5("src")
      assert.strictEqual(expected.n, 16)
      const modes = ["records", "map", "encoded"] as const
      const guarantees = [
        { name: "at-least-once", config: { guarantee: "at-least-once" } },
        { name: "exactly-once staged", config: { guarantee: "exactly-once", two_phase: "staged" } },
        { name: "exactly-once prepared", config: { guarantee: "exactly-once", two_phase: "prepared" } }
      ] as const
      const mismatches: Array<string> = []
      for (const mode of modes) {
        for (const guarantee of guarantees) {
          const target = `dst_${mode}_${guarantee.name.replace(/[^a-z]/g, "_")}`
          yield* createTypeTable(schema, target, false)
          const graph = WorkflowGraph.make({
            name: `fidelity-${mode}-${target}`,
            execution: { batch_size: 5, checkpoint_interval: "50ms" },
            nodes: [
              {
                kind: "source",
                id: "src",
                type: "postgres",
                // parallelism 2: batches are records (the COPY text goes only to a sole sink of one source instance)
                parallelism: mode === "records" ? 2 : 1,
                config: { connection_string: URL, table: `${schema}.src` },
                inputs: []
              },
              ...(mode === "map"
                ? [{ kind: "processor" as const, id: "copy", type: "map", config: { fn: (r: object) => ({ ...r }) }, inputs: ["src"] }]
                : []),
              {
                kind: "sink",
                id: "dst",
                type: "postgres",
                parallelism: 1,
                config: { connection_string: URL, table: `${schema}.${target}`, checkpoint_table: `${schema}.checkpoints`, ...guarantee.config },
                inputs: [mode === "map" ? "copy" : "src"]
              }
            ]
          })
          const layer = Layer.mergeAll(registry, Layer.succeed(StateBackend.StateBackend, StateBackend.makeMemory()))
          const prepared = yield* Runtime.prepare(graph).pipe(Effect.provide(layer))
          const source = Runtime.plan(prepared).tasks.find((t) => t.id === "src")
          assert.strictEqual(source?._tag === "Source" ? source.encoding : undefined, mode === "encoded" ? "application/x-postgres-copy" : undefined)
          yield* Runtime.run(graph).pipe(Effect.provide(layer))
          const got = yield* md5(target)
          for (const [name] of [["id"], ...COLUMNS]) {
            if (got[name] !== expected[name]) mismatches.push(`${mode}, ${guarantee.name}: column ${name}`)
          }
          if (got.n !== expected.n) mismatches.push(`${mode}, ${guarantee.name}: ${String(got.n)} rows`)
        }
      }
      assert.deepStrictEqual(mismatches, [])
    }).pipe(Effect.scoped), 180_000)
})
