/**
 * A sink's dead letters sent to another destination (`config.dead_letter: { to }`): rows the
 * PostgreSQL server refuses (a CHECK constraint) reach the destination as envelopes with the
 * table and SQLSTATE in `detail` and the source position of their batch; with a real process
 * killed twice mid-run, every refused row is in the destination exactly once and every other row
 * in the table exactly once. A sink's dead-letter file lines say the source position too.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import * as Runtime from "../../src/Runtime.ts"
import { start } from "../cli/killRun.ts"
import { tempDir } from "../cli/support.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"
import { readNdjsonIfAny, writeRun } from "./ndjsonRuns.ts"
import { createLettersTable, killTwiceThenFinish } from "./deadLetterKill.ts"

const isRefused = (id: number) => id % 25 === 7

const setUp = (dir: string, rows: number, schema: string, letters: string, rejects: string | undefined, interval = "") =>
  Effect.gen(function*() {
    yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY, amount int NOT NULL CHECK (amount >= 0))`)
    yield* writeRun(dir, rows, (id) => ({ id, amount: isRefused(id) ? -id : id }), [
      "name: dlq-sink",
      `execution: { batch_size: 200${interval} }`,
      "sources:",
      `  input: { type: ndjson, config: { path: ${join(dir, "in.ndjson")} } }`,
      "destinations:",
      `  table: { type: postgres, inputs: [input], config: { connection_string: "${URL}", table: ${schema}.t, checkpoint_table: ${schema}.chk, on_error: dead_letter, dead_letter: ${letters} } }`,
      ...(rejects !== undefined ? [`  rejects: ${rejects}`] : [])
    ])
  })

const refusedIds = (rows: number) => Array.from({ length: rows }, (_, k) => k + 1).filter(isRefused)

const checkTable = (schema: string, rows: number) =>
  Effect.gen(function*() {
    const [stats] = yield* sql<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${schema}.t`)
    const expected = rows - refusedIds(rows).length
    assert.deepStrictEqual([Number(stats.n), Number(stats.d)], [expected, expected])
  })

describe("a sink's dead letters (config.dead_letter)", () => {
  it.live("{ to }: rows the server refuses go to an ndjson destination with table, SQLSTATE and source position", () =>
    Effect.gen(function*() {
      const ROWS = 1000
      const schema = yield* withSchema("dlq_sink")
      const dir = yield* tempDir
      yield* setUp(dir, ROWS, schema, "{ to: rejects }", `{ type: ndjson, inputs: [], config: { path: ${join(dir, "rejects.ndjson")} } }`)
      const run = Effect.gen(function*() {
        const graph = yield* Yaml.parse(yield* Effect.promise(() => readFile(join(dir, "wf.yaml"), "utf8")), { file: join(dir, "wf.yaml"), env: {} })
        const plan = PlanFormat.text(Runtime.plan(yield* Runtime.prepare(graph)))
        assert.include(plan, "sink: table (postgres), parallelism 1, reads input")
        assert.include(plan, "dead letters → destination rejects (ndjson)")
        assert.include(plan, "sink: rejects (ndjson), parallelism 1, reads dead letters of table")
        return yield* Runtime.run(graph)
      }).pipe(Effect.provide(Builtins.layer))
      const summary = yield* run
      yield* checkTable(schema, ROWS)
      const letters = yield* readNdjsonIfAny(join(dir, "rejects.ndjson"))
      assert.deepStrictEqual(letters.map((e) => Number((e.record as { readonly id: number }).id)).sort((a, b) => a - b), refusedIds(ROWS))
      const [e] = letters
      assert.deepStrictEqual(Object.keys(e), ["node", "at", "tag", "source", "position", "error", "detail", "record"])
      assert.strictEqual(e.node, "table")
      assert.strictEqual(e.source, "input")
      assert.isNotNull(e.position)
      assert.include(String(e.error), "check constraint")
      assert.deepStrictEqual(e.detail, { table: `${schema}.t`, sqlstate: "23514" })
      assert.strictEqual(summary.nodes.find((n) => n.id === "table")?.deadLetters, refusedIds(ROWS).length)
      assert.strictEqual(summary.nodes.find((n) => n.id === "rejects")?.recordsOut, refusedIds(ROWS).length)
    }).pipe(Effect.scoped), 60_000)

  it.live("{ path }: the file's lines say the source and position of the row's batch", () =>
    Effect.gen(function*() {
      const ROWS = 100
      const schema = yield* withSchema("dlq_sink_file")
      const dir = yield* tempDir
      yield* setUp(dir, ROWS, schema, `{ path: ${join(dir, "letters.ndjson")} }`, undefined)
      const last = yield* (yield* start(dir)).ended
      assert.strictEqual(last.code, 0, last.stderr)
      yield* checkTable(schema, ROWS)
      const letters = yield* readNdjsonIfAny(join(dir, "letters.ndjson"))
      assert.strictEqual(letters.length, refusedIds(ROWS).length)
      for (const e of letters) {
        assert.strictEqual(e.source, "input")
        assert.isNotNull(e.position)
        assert.strictEqual(e.sqlstate, "23514")
      }
    }).pipe(Effect.scoped), 60_000)

  it.live("{ to } a postgres table, with kill -9 twice and resume: every refused row once, every other row once", () =>
    Effect.gen(function*() {
      const ROWS = 60_000
      const schema = yield* withSchema("dlq_sink_kill")
      yield* createLettersTable(schema)
      const dir = yield* tempDir
      yield* setUp(
        dir,
        ROWS,
        schema,
        "{ to: rejects }",
        `{ type: postgres, inputs: [], config: { connection_string: "${URL}", table: ${schema}.rejects, checkpoint_table: ${schema}.chk } }`,
        ", checkpoint_interval: 20ms"
      )
      yield* killTwiceThenFinish(
        dir,
        Effect.gen(function*() {
          const [partial] = yield* sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.t`)
          assert.isBelow(Number(partial.n), ROWS - refusedIds(ROWS).length, "the killed runs had not written everything")
        })
      )
      yield* checkTable(schema, ROWS)
      const rows = yield* sql<{ id: number; n: string }>(`SELECT (record->>'id')::int AS id, count(*) AS n FROM ${schema}.rejects GROUP BY 1 ORDER BY 1`)
      assert.deepStrictEqual(rows.filter((r) => Number(r.n) !== 1), [], "no refused row twice")
      assert.deepStrictEqual(rows.map((r) => r.id), refusedIds(ROWS))
      const [row] = yield* sql<{ node: string; sqlstate: string }>(`SELECT node, detail->>'sqlstate' AS sqlstate FROM ${schema}.rejects LIMIT 1`)
      assert.deepStrictEqual(row, { node: "table", sqlstate: "23514" })
    }).pipe(Effect.scoped), 240_000)
})
