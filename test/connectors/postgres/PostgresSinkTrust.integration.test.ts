/**
 * The `postgres` sink never changes or drops a value silently:
 * - a boolean into a text-like column is written as PostgreSQL's own cast writes it
 *   (`true::text` is `true`, as are `::varchar`, `::char(5)` and `::citext`; `true::name` is `t`),
 *   in every mode and COPY format — it used to be `t` / `f` everywhere;
 * - a record field that is not a column of the table is refused naming the field and the table,
 *   also when it is a later record of a batch, in every mode and COPY format.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type * as Connector from "../../../src/Connector.ts"
import { PostgresSink, type SinkRecord } from "../../../src/connectors/postgres/PostgresSink.ts"
import { context, decode, sql, URL, withSchema } from "./support.ts"

const open = (raw: object) => PostgresSink.open(decode(PostgresSink.config, { connection_string: URL, ...raw }), context("out"))

const write = (writer: Connector.SinkWriter<SinkRecord>, records: ReadonlyArray<SinkRecord>) => writer.writeBatch(Batch.make(records))

const modes = [
  { mode: "insert", copy_format: "text" },
  { mode: "insert", copy_format: "binary" },
  { mode: "upsert", copy_format: "text" },
  { mode: "upsert", copy_format: "binary" },
  { mode: "insert", copy_format: "text", guarantee: "at-least-once" }
] as const

describe("postgres sink: nothing changed or dropped silently", () => {
  for (const options of modes) {
    const label = Object.values(options).join(", ")
    it.effect(`booleans into text-like columns are written as PostgreSQL casts them (${label})`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_sink_bool")
        yield* sql(`CREATE EXTENSION IF NOT EXISTS citext SCHEMA ${schema}`)
        const table = `${schema}.t`
        yield* sql(
          `CREATE TABLE ${table} (id int PRIMARY KEY, t text, v varchar(10), c char(5), ci ${schema}.citext, n name, b boolean, ta text[], ba boolean[])`
        )
        const writer = yield* open({ table, ...options })
        yield* write(writer, [
          { id: 1, t: true, v: true, c: true, ci: true, n: true, b: true, ta: [true, false, null], ba: [true, false] },
          { id: 2, t: false, v: false, c: false, ci: false, n: false, b: false, ta: [false], ba: [false] }
        ])
        if (writer.preCommit !== undefined) yield* writer.preCommit(1)
        if (writer.commit !== undefined) yield* writer.commit(1)
        yield* writer.flush
        const rows = yield* sql(`SELECT id, t, v, c, ci::text AS ci, n::text AS n, b, ta, ba FROM ${table} ORDER BY id`)
        // what PostgreSQL itself gives
        const [cast] = yield* sql(
          `SELECT true::text AS t, true::varchar(10) AS v, true::char(5) AS c, true::${schema}.citext::text AS ci, true::name::text AS n, ARRAY[true, false, NULL]::text[] AS ta`
        )
        assert.deepStrictEqual(cast, { t: "true", v: "true", c: "true ", ci: "true", n: "t", ta: ["true", "false", null] })
        assert.deepStrictEqual(rows, [
          { id: 1, t: "true", v: "true", c: "true ", ci: "true", n: "t", b: true, ta: ["true", "false", null], ba: [true, false] },
          { id: 2, t: "false", v: "false", c: "false", ci: "false", n: "f", b: false, ta: ["false"], ba: [false] }
        ])
      }).pipe(Effect.scoped))

    it.effect(`a field that is not a column is refused naming it and the table, also in a later record (${label})`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_sink_extra")
        const table = `${schema}.t`
        yield* sql(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`)
        const writer = yield* open({ table, ...options })
        const error = yield* Effect.flip(write(writer, [{ id: 1, name: "a" }, { id: 2 }, { id: 3, name: "c", email: "c@x" }]))
        assert.include(error.message, "field 'email'")
        assert.include(error.message, `table '${table}'`)
        if (writer.preCommit !== undefined) yield* Effect.ignore(writer.preCommit(1))
        if (writer.commit !== undefined) yield* Effect.ignore(writer.commit(1))
        assert.deepStrictEqual(yield* sql(`SELECT * FROM ${table} WHERE id = 3`), [])
      }).pipe(Effect.scoped))
  }
})
