/**
 * The `postgres` sink never changes or drops a value silently:
 * - a boolean into a text-like column is written as PostgreSQL's own cast writes it
 *   (`true::text` is `true`, as are `::varchar`, `::char(5)` and `::citext`; `true::name` is `t`),
 *   in every mode and COPY format — it used to be `t` / `f` everywhere;
 * - a record field that is not a column of the table is a record error naming the field and the
 *   table, also when it is a later record of a batch, in every mode and COPY format: the run
 *   fails, or with `on_error: dead_letter` the record is set aside and the others are written.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
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
  { mode: "insert", copy_format: "text", guarantee: "at-least-once" },
  { mode: "insert", copy_format: "binary", two_phase: "prepared" }
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
        const writer = yield* open({ table, ...options, checkpoint_table: `${schema}.cp`, workflow: "bool" })
        // restore: checkpoints drive the commits, so batches stream into one COPY (the fast path)
        if (writer.restore !== undefined) yield* writer.restore(undefined)
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
        const writer = yield* open({ table, ...options, checkpoint_table: `${schema}.cp`, workflow: "fail" })
        if (writer.restore !== undefined) yield* writer.restore(undefined)
        const records = [{ id: 1, name: "a" }, { id: 2 }, { id: 3, name: "c", email: "c@x" }, { id: 4, name: "d" }]
        const error = yield* Effect.flip(write(writer, records))
        assert.strictEqual(error._tag, "RecordError")
        assert.include(error.message, "field 'email' has no column in table")
        assert.include(error.message, table)
        assert.include(error.message, `"email":"c@x"`)
        if (writer.preCommit !== undefined) yield* Effect.ignore(writer.preCommit(1))
        if (writer.commit !== undefined) yield* Effect.ignore(writer.commit(1))
        assert.deepStrictEqual(yield* sql(`SELECT * FROM ${table} WHERE id = 3`), [])

        // on_error: dead_letter sets the record aside (naming field and table) and writes the others
        yield* sql(`TRUNCATE ${table}`)
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "df-pg-extra-"))),
          (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
        )
        const letters = join(dir, "rejected.ndjson")
        const lenient = yield* open({ table, ...options, checkpoint_table: `${schema}.cp`, workflow: "dlq", on_error: "dead_letter", dead_letter: { path: letters } })
        if (lenient.restore !== undefined) yield* lenient.restore(undefined)
        yield* write(lenient, [{ id: 0, name: "first batch" }])
        yield* write(lenient, records)
        if (lenient.preCommit !== undefined) yield* lenient.preCommit(2)
        if (lenient.commit !== undefined) yield* lenient.commit(2)
        yield* lenient.flush
        assert.deepStrictEqual(yield* sql(`SELECT id, name FROM ${table} ORDER BY id`), [
          { id: 0, name: "first batch" },
          { id: 1, name: "a" },
          { id: 2, name: null },
          { id: 4, name: "d" }
        ])
        const set = readFileSync(letters, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: unknown; error: string; sqlstate: unknown })
        assert.deepStrictEqual(set.map((l) => l.record), [{ id: 3, name: "c", email: "c@x" }])
        assert.include(set[0].error, "field 'email' has no column in table")
        assert.strictEqual(set[0].sqlstate, "42703")

        if (options.mode === "upsert") {
          // change records: the upsert holding the field is set aside, the delete beside it applied
          yield* write(lenient, [
            { op: "update", before: null, after: { id: 4, name: "d2", email: "d@x" } },
            { op: "delete", before: { id: 1 }, after: null }
          ])
          if (lenient.preCommit !== undefined) yield* lenient.preCommit(3)
          if (lenient.commit !== undefined) yield* lenient.commit(3)
          assert.deepStrictEqual(yield* sql(`SELECT id, name FROM ${table} ORDER BY id`), [{ id: 0, name: "first batch" }, { id: 2, name: null }, { id: 4, name: "d" }])
          const after = readFileSync(letters, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: unknown })
          assert.deepStrictEqual(after.map((l) => l.record), [{ id: 3, name: "c", email: "c@x" }, { id: 4, name: "d2", email: "d@x" }])
        }
      }).pipe(Effect.scoped))
  }
})
