/**
 * Type fidelity of the `postgres` sink: a table of 60 columns of built-in types (and an enum and
 * domains), with extreme values and NULLs, inserted by SQL; the same rows written through the sink
 * from records in the JavaScript representation of the PostgreSQL values (docs/connectors/
 * postgres.md: numbers, bigints, booleans, Uint8Arrays, arrays, and the server's text output for
 * everything else) — and from the rows' COPY text as a postgres source hands it on — in every mode
 * and guarantee, then compared column by column with `md5` of the text output.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import { to as copyTo } from "pg-copy-streams"
import * as Batch from "../../../src/Batch.ts"
import type * as Connector from "../../../src/Connector.ts"
import { SESSION_OPTIONS } from "../../../src/connectors/postgres/internal/session.ts"
import { PostgresSink, type SinkRecord } from "../../../src/connectors/postgres/PostgresSink.ts"
import { context, decode, sql, URL, withSchema } from "./support.ts"

/** A column: its type, up to three SQL literals (missing ones are NULL), and how the JS value comes from the server's text output. */
interface Spec {
  readonly type: string
  readonly sql: ReadonlyArray<string>
  /** The JS representation from the text output (default: the text itself), or hand-written values. */
  readonly js?: ((text: string) => unknown) | ReadonlyArray<unknown>
  /** Written exactly by COPY binary (the other columns make a batch go as COPY text). */
  readonly binary?: boolean
}

const num = (t: string) => Number(t)
const bool = (t: string) => t === "t" || t === "true"
const hexBytes = (t: string) => new Uint8Array(Buffer.from(t.slice(2), "hex"))

const SPECS: ReadonlyArray<Spec> = [
  { type: "boolean", sql: ["true", "false"], js: bool, binary: true },
  { type: "smallint", sql: ["32767", "-32768", "0"], js: num, binary: true },
  { type: "integer", sql: ["2147483647", "-2147483648", "-1"], js: num, binary: true },
  { type: "bigint", sql: ["9223372036854775807", "-9223372036854775808", "0"], js: (t) => BigInt(t), binary: true },
  { type: "oid", sql: ["4294967295", "0"], js: num, binary: true },
  { type: "real", sql: ["'NaN'", "'-0'", "'3.4028235e38'"], js: num, binary: true },
  { type: "real", sql: ["'-Infinity'", "'1.4e-45'", "'0.1'"], js: num, binary: true },
  { type: "double precision", sql: ["'NaN'", "'-0'", "'1.7976931348623157e308'"], js: num, binary: true },
  { type: "double precision", sql: ["'Infinity'", "'5e-324'", "'0.1'"], js: num, binary: true },
  { type: "numeric", sql: ["'NaN'", "'12345678901234567890.123456789012345678901'", "'-0.000000000000000000001'"] },
  { type: "numeric", sql: ["'Infinity'", "'-Infinity'", "'1e-1000'"] },
  { type: "numeric(10,2)", sql: ["'12345678.90'", "'-0.10'", "'0'"] },
  { type: "money", sql: ["'1234.56'", "'-92233720368547758.08'", "'0'"] },
  { type: "text", sql: [`E'tab\\t nl\\n cr\\r bs\\\\ q" \\' \u00e9 \u{1F600}'`, "''", "'\\N'"], binary: true },
  { type: "varchar(5)", sql: ["'abcde'", "''"], binary: true },
  { type: "char(5)", sql: ["'ab'", "''"], binary: true },
  { type: "name", sql: ["'some_name'"], binary: true },
  { type: "uuid", sql: ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"] },
  { type: "xml", sql: [`'<a b="1">x &amp; y</a>'`] },
  { type: "mood", sql: ["'happy'", "'sad'"] },
  { type: "posint", sql: ["5", "2147483647"] },
  { type: "shorttext", sql: ["'ok'"] },
  { type: "date", sql: ["'2024-02-29'", "'infinity'", "'4713-01-01 BC'"] },
  { type: "date", sql: ["'-infinity'", "'5874897-12-31'", "'0001-01-01'"] },
  { type: "timestamp", sql: ["'2024-01-02 03:04:05.123456'", "'infinity'", "'4713-01-01 00:00:00 BC'"] },
  { type: "timestamp", sql: ["'-infinity'", "'294276-12-31 23:59:59.999999'", "'1999-12-31 23:59:59.999999'"] },
  { type: "timestamptz", sql: ["'2024-01-02 03:04:05.123456+05:30'", "'infinity'", "'4713-01-01 00:00:00+00 BC'"] },
  { type: "timestamptz", sql: ["'-infinity'", "'294276-12-31 23:59:59.999999+00'", "'2000-01-01 00:00:00.000001+00'"] },
  { type: "time", sql: ["'24:00:00'", "'00:00:00'", "'23:59:59.999999'"] },
  { type: "timetz", sql: ["'23:59:59.999999+15:59'", "'00:00:00-15:59'", "'12:00:00+00'"] },
  { type: "interval", sql: ["'1 year 2 mons 3 days 04:05:06.789012'", "'-178000000 years'", "'00:00:00.000001'"] },
  { type: "interval", sql: ["'-1 days +02:03:04'", "'1 mon -1 days'", "'2147483647 days 2562047788:00:54.775807'"] },
  { type: "json", sql: [`'{"a": 1,  "a": 2}'`, "'null'", "'[1e400, 12345678901234567890, 2.50]'"] },
  { type: "jsonb", sql: [`'{"a": 2.50, "b": 12345678901234567890}'`, "'null'", "'1e400'"] },
  { type: "bytea", sql: ["'\\x00ff5c0a09'", "'\\x'"], js: hexBytes, binary: true },
  { type: "inet", sql: ["'192.168.0.1/24'", "'::1'", "'::ffff:1.2.3.4'"] },
  { type: "cidr", sql: ["'10.0.0.0/8'", "'2001:db8::/32'"] },
  { type: "macaddr", sql: ["'08:00:2b:01:02:03'"] },
  { type: "macaddr8", sql: ["'08:00:2b:01:02:03:04:05'"] },
  { type: "bit(4)", sql: ["B'1010'"] },
  { type: "varbit", sql: ["B'10101'", "B''"] },
  { type: "point", sql: ["'(1.5,-2.25)'", "'(NaN,Infinity)'"] },
  { type: "line", sql: ["'{1,-1,0}'"] },
  { type: "lseg", sql: ["'[(0,0),(1,1)]'"] },
  { type: "box", sql: ["'(1,1),(0,0)'"] },
  { type: "path", sql: ["'[(0,0),(1,1),(2,0)]'", "'((0,0),(1,1))'"] },
  { type: "polygon", sql: ["'((0,0),(1,1),(1,0))'"] },
  { type: "circle", sql: ["'<(0,0),1.5>'"] },
  { type: "tsvector", sql: [`$$'a' 'b':1A 'c d':2B$$`] },
  { type: "tsquery", sql: [`$$'a' & !'b' | 'c':*$$`] },
  { type: "int4range", sql: ["'[1,5)'", "'empty'", "'(,)'"] },
  { type: "numrange", sql: ["'[1.5,2.5]'"] },
  { type: "tstzrange", sql: ["'[2024-01-01 00:00:00+00,infinity)'"] },
  { type: "daterange", sql: ["'[2024-01-01,2024-02-01)'"] },
  { type: "int8range", sql: ["'[9223372036854775806,)'"] },
  { type: "int4multirange", sql: ["'{[1,3),[5,7)}'", "'{}'"] },
  { type: "pg_lsn", sql: ["'16/B374D848'", "'0/0'"] },
  { type: "integer[]", sql: ["'{1,NULL,-2147483648}'", "'{}'", "'[0:1]={1,2}'"], js: [[1, null, -2147483648], [], "[0:1]={1,2}"] },
  { type: "integer[]", sql: ["'{{1,2},{3,NULL}}'"], js: [[[1, 2], [3, null]]] },
  {
    type: "text[]",
    sql: [`ARRAY['a', 'b"c', NULL, 'NULL', '', 'x,y', '{}', E'back\\\\slash', ' sp ', E'tab\\there']`],
    js: [["a", "b\"c", null, "NULL", "", "x,y", "{}", "back\\slash", " sp ", "tab\there"]]
  },
  { type: "double precision[]", sql: ["'{NaN,-0,Infinity,-Infinity,0.1}'"], js: [[Number.NaN, -0, Infinity, -Infinity, 0.1]] },
  { type: "numeric[]", sql: ["'{1.10,NaN}'"], js: [["1.10", "NaN"]] },
  { type: "boolean[]", sql: ["'{t,f,NULL}'"], js: [[true, false, null]] },
  { type: "bigint[]", sql: ["'{9223372036854775807,-1}'"], js: [[9223372036854775807n, -1n]] },
  { type: "bytea[]", sql: [`'{"\\\\x00ff",NULL}'`], js: [[new Uint8Array([0, 255]), null]] },
  { type: "jsonb[]", sql: [`ARRAY['{"a": 1}'::jsonb, 'null'::jsonb]`], js: [[`{"a": 1}`, "null"]] },
  { type: "timestamptz[]", sql: [`'{"2024-01-02 03:04:05.123456+00",infinity}'`], js: [["2024-01-02 03:04:05.123456+00", "infinity"]] },
  { type: "interval[]", sql: [`ARRAY['1 year 2 mons'::interval, '00:00:00.000001']`], js: [["1 year 2 mons", "00:00:00.000001"]] },
  { type: "date[]", sql: ["'{2024-02-29,-infinity}'"], js: [["2024-02-29", "-infinity"]] },
  { type: "point[]", sql: [`ARRAY['(1,2)'::point]`], js: [["(1,2)"]] },
  // box[] separates its elements with ';' (a box's text has commas)
  { type: "box[]", sql: ["'{(1,1),(0,0);(2,2),(1,1)}'", "'{}'"], js: [["(1,1),(0,0)", "(2,2),(1,1)"], []] }
]

const ROWS = 4 // three rows of values, then one of NULLs
const col = (i: number) => `c${i}`

/** Creates the enum and domains, the reference table `ref` (rows inserted by SQL) in `schema`. */
const createReference = (schema: string, specs: ReadonlyArray<Spec>) =>
  Effect.gen(function*() {
    const s = pg.escapeIdentifier(schema)
    yield* sql(`SET search_path TO ${s}`)
    yield* sql(`CREATE TYPE ${s}.mood AS ENUM ('sad', 'happy')`)
    yield* sql(`CREATE DOMAIN ${s}.posint AS integer CHECK (VALUE > 0)`)
    yield* sql(`CREATE DOMAIN ${s}.shorttext AS text CHECK (length(VALUE) < 10)`)
    const types = specs.map((spec) => spec.type === "mood" || spec.type === "posint" || spec.type === "shorttext" ? `${s}.${spec.type}` : spec.type)
    yield* sql(`CREATE TABLE ${s}.ref (id int PRIMARY KEY, ${specs.map((_, i) => `${col(i)} ${types[i]}`).join(", ")})`)
    for (let r = 0; r < ROWS; r++) {
      const values = specs.map((spec, i) => (spec.sql[r] === undefined ? "NULL" : `(${spec.sql[r]})::${types[i]}`))
      yield* sql(`INSERT INTO ${s}.ref VALUES (${r + 1}, ${values.join(", ")})`)
    }
  })

/** A session with the sink's fixed output settings (ISO dates, UTC, ...), as the postgres source reads. */
const session = Effect.acquireRelease(
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: URL, options: SESSION_OPTIONS })
    await client.connect()
    return client
  }),
  (client) => Effect.promise(() => client.end())
)

/** The reference rows as records in the JavaScript representation of their values. */
const recordsOf = (schema: string, specs: ReadonlyArray<Spec>) =>
  Effect.gen(function*() {
    const client = yield* session
    const text = yield* Effect.promise(() =>
      client.query({ text: `SELECT id, ${specs.map((_, i) => `${col(i)}::text`).join(", ")} FROM ${pg.escapeIdentifier(schema)}.ref ORDER BY id`, rowMode: "array" })
    )
    return text.rows.map((row: Array<string | null>, r) => {
      const record: { [k: string]: unknown } = { id: Number(row[0]) }
      specs.forEach((spec, i) => {
        const t = row[i + 1]
        record[col(i)] = t === null ? null : Array.isArray(spec.js) ? spec.js[r] : spec.js === undefined ? t : (spec.js as (text: string) => unknown)(t)
      })
      return record
    })
  })

/** The reference rows as `COPY ... TO STDOUT` writes them (text format), one Buffer. */
const copyTextOf = (schema: string) =>
  Effect.gen(function*() {
    const client = yield* session
    return yield* Effect.promise(async () => {
      const chunks: Array<Buffer> = []
      const stream = client.query(copyTo(`COPY ${pg.escapeIdentifier(schema)}.ref TO STDOUT`))
      for await (const chunk of stream) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    })
  })

/** Per column of `table`: md5 of the text output of every row, in id order. */
const digests = (table: string, columns: number) =>
  sql<{ [k: string]: string }>(
    `SELECT ${Array.from({ length: columns + 1 }, (_, i) => {
      const c = i === 0 ? "id" : col(i - 1)
      return `md5(string_agg(coalesce(${c}::text, '<NULL>'), E'\\n' ORDER BY id)) AS d${i}`
    }).join(", ")} FROM ${table}`
  ).pipe(Effect.map((rows) => rows[0]))

interface Variant {
  readonly mode: "insert" | "upsert" | "replace"
  readonly guarantee: "exactly-once" | "at-least-once"
  readonly two_phase?: "staged" | "prepared"
  readonly copy_format: "text" | "binary"
}

const VARIANTS: ReadonlyArray<Variant> = [
  ...(["text", "binary"] as const).flatMap((copy_format): ReadonlyArray<Variant> => [
    { mode: "insert", guarantee: "exactly-once", two_phase: "staged", copy_format },
    { mode: "insert", guarantee: "exactly-once", two_phase: "prepared", copy_format },
    { mode: "insert", guarantee: "at-least-once", copy_format },
    { mode: "upsert", guarantee: "exactly-once", copy_format },
    { mode: "replace", guarantee: "exactly-once", two_phase: "staged", copy_format },
    { mode: "replace", guarantee: "exactly-once", two_phase: "prepared", copy_format },
    { mode: "replace", guarantee: "at-least-once", copy_format }
  ])
]

const label = (v: Variant) => `${v.mode}, ${v.guarantee}${v.two_phase !== undefined ? ` (${v.two_phase})` : ""}, ${v.copy_format}`

/** Writes `batches` through a sink of `variant` into `table`, with one checkpoint in between and one at the end. */
const load = (schema: string, table: string, variant: Variant, batches: ReadonlyArray<Batch.Batch<SinkRecord>>, extra: object = {}) =>
  Effect.gen(function*() {
    const config = decode(PostgresSink.config, {
      connection_string: URL,
      table: `${schema}.${table}`,
      mode: variant.mode,
      guarantee: variant.guarantee,
      copy_format: variant.copy_format,
      checkpoint_table: `${schema}.cp`,
      workflow: `types-${table}`,
      ...(variant.two_phase !== undefined ? { two_phase: variant.two_phase } : {}),
      ...(variant.mode === "upsert" ? { key: ["id"] } : {}),
      ...extra
    })
    const writer: Connector.SinkWriter<SinkRecord> = yield* PostgresSink.open(config, context("out"))
    yield* writer.restore!(undefined)
    let id = 0
    for (const batch of batches) {
      yield* writer.writeBatch(batch)
      id++
      yield* writer.preCommit!(id)
      yield* writer.commit!(id)
    }
  }).pipe(Effect.scoped)

const check = (schema: string, table: string, columns: number) =>
  Effect.gen(function*() {
    const want = yield* digests(`${schema}.ref`, columns)
    const got = yield* digests(`${schema}.${table}`, columns)
    const wrong = Object.keys(want).filter((k) => want[k] !== got[k]).map((k) => (k === "d0" ? "id" : `${col(Number(k.slice(1)) - 1)}`))
    if (wrong.length > 0) {
      const detail = yield* sql(
        `SELECT r.id, ${wrong.map((c) => `r.${c}::text AS ref_${c}, t.${c}::text AS got_${c}`).join(", ")} FROM ${schema}.ref r LEFT JOIN ${schema}.${table} t USING (id) ORDER BY r.id`
      )
      assert.fail(`columns differ: ${wrong.join(", ")}\n${JSON.stringify(detail, null, 1)}`)
    }
  })

describe("PostgresSink: every value exact", () => {
  it.effect("the type table has 40+ types, each with extreme values and NULLs", () =>
    Effect.sync(() => {
      assert.isAtLeast(new Set(SPECS.map((s) => s.type)).size, 60)
    }))

  for (const specs of [SPECS, SPECS.filter((s) => s.binary === true)]) {
    const kind = specs === SPECS ? "all types" : "types with an exact binary form"
    it.effect(`records in the JavaScript representation arrive exact (${kind}), in every mode and guarantee`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_sink_types")
        yield* createReference(schema, specs)
        const records = yield* recordsOf(schema, specs)
        for (const [n, variant] of VARIANTS.entries()) {
          const table = `t${n}`
          yield* sql(`CREATE TABLE ${schema}.${table} (LIKE ${schema}.ref INCLUDING ALL)`)
          // replace: old rows that the first commit removes
          if (variant.mode !== "insert") yield* sql(`INSERT INTO ${schema}.${table} (id) VALUES (1), (99)`)
          yield* load(schema, table, variant, [Batch.make(records.slice(0, 2)), Batch.make(records.slice(2))]).pipe(
            Effect.mapError((e) => new Error(`${label(variant)}: ${e.message}`))
          )
          if (variant.mode === "upsert") yield* sql(`DELETE FROM ${schema}.${table} WHERE id = 99`)
          yield* check(schema, table, specs.length).pipe(Effect.mapError((e) => new Error(`${label(variant)}: ${String(e)}`)))
        }
      }).pipe(Effect.scoped), 120_000)
  }

  it.effect("COPY text rows of a postgres source are written as they are when the columns match, decoded when they do not", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_sink_types_pass")
      yield* createReference(schema, SPECS)
      const records = yield* recordsOf(schema, SPECS)
      const bytes = yield* copyTextOf(schema)
      const columns = (yield* sql<{ name: string; type: string }>(
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [`${schema}.ref`]
      ))
      let decoded = 0
      const encoded = (): Batch.Batch<SinkRecord> =>
        Batch.encoded<SinkRecord>(
          { format: "application/x-postgres-copy", bytes, columns: columns.map((c) => c.name), types: columns.map((c) => c.type), relation: `${schema}.ref` },
          records.length,
          () => {
            decoded++
            return records
          }
        )
      for (const [n, variant] of VARIANTS.filter((v) => v.mode !== "upsert" && v.copy_format === "text").entries()) {
        const table = `p${n}`
        yield* sql(`CREATE TABLE ${schema}.${table} (LIKE ${schema}.ref INCLUDING ALL)`)
        yield* load(schema, table, variant, [encoded()])
        yield* check(schema, table, SPECS.length)
      }
      assert.strictEqual(decoded, 0, "the bytes went to COPY as they are")
      // A column of another type: the records are written instead (still exact).
      yield* sql(`CREATE TABLE ${schema}.other (LIKE ${schema}.ref INCLUDING ALL)`)
      yield* sql(`ALTER TABLE ${schema}.other ALTER COLUMN c30 TYPE text`)
      yield* load(schema, "other", VARIANTS[0], [encoded()])
      yield* check(schema, "other", SPECS.length)
      assert.strictEqual(decoded, 1)
      // create_table: the table is created with the source's column types, then the bytes go as they are
      yield* load(schema, "created", VARIANTS[0], [encoded()], { create_table: true })
      yield* check(schema, "created", SPECS.length)
      assert.strictEqual(decoded, 1)
      const types = yield* sql<{ a: string; b: string }>(
        `SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FILTER (WHERE attrelid = $1::regclass) AS a, string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FILTER (WHERE attrelid = $2::regclass) AS b FROM pg_attribute WHERE attrelid IN ($1::regclass, $2::regclass) AND attnum > 0 AND NOT attisdropped`,
        [`${schema}.ref`, `${schema}.created`]
      )
      assert.strictEqual(types[0].b, types[0].a)
    }).pipe(Effect.scoped), 60_000)
})
