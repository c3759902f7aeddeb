/**
 * Dead letters sent to a destination, with a real process killed mid-run: `dataflare run` filters
 * an NDJSON file whose every tenth record makes the filter's expression fail; those go with
 * `dead_letter: { to }` to (a) an NDJSON destination and (b) a PostgreSQL table (exactly-once,
 * staged). The run is SIGKILLed twice at checkpoints, then runs to completion: every bad record
 * is in the destination exactly once, every good one in the output exactly once — the envelopes
 * travel ahead of the barrier, so each checkpoint covers the ones it wrote.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "../cli/support.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"
import { readNdjsonIfAny, writeRun } from "./ndjsonRuns.ts"
import { createLettersTable, killTwiceThenFinish } from "./deadLetterKill.ts"

const ROWS = 100_000
const isBad = (id: number) => id % 10 === 3
const isGood = (id: number) => !isBad(id) && id % 50 > 10

const setUp = (dir: string, rejects: string) =>
  writeRun(dir, ROWS, (id) => ({ id, amount: isBad(id) ? `bad ${id}` : id % 50 }), [
    "name: dlq-kill",
    "execution: { batch_size: 250, checkpoint_interval: 20ms }",
    "sources:",
    "  input: { type: ndjson, config: { path: in.ndjson } }",
    "transformations:",
    "  big: { type: filter, inputs: [input], config: { condition: \"amount > 10\" }, on_error: dead_letter, dead_letter: { to: rejects } }",
    "destinations:",
    "  out: { type: ndjson, inputs: [big], config: { path: out.ndjson } }",
    `  rejects: ${rejects}`
  ])

/** Runs, is killed at checkpoint 1 and a few checkpoints later, then runs to the end. */
const killedRuns = (dir: string) =>
  killTwiceThenFinish(
    dir,
    Effect.gen(function*() {
      const written = (yield* readNdjsonIfAny(join(dir, "out.ndjson"))).length
      assert.isBelow(written, ROWS, "the killed runs had not read everything")
    })
  )

/** Every good record once in out.ndjson. */
const checkOutput = (dir: string) =>
  Effect.gen(function*() {
    const ids = (yield* readNdjsonIfAny(join(dir, "out.ndjson"))).map((r) => Number(r.id))
    const expected = Array.from({ length: ROWS }, (_, k) => k + 1).filter(isGood)
    assert.strictEqual(ids.length, expected.length)
    assert.deepStrictEqual([...ids].sort((a, b) => a - b), expected)
  })

const badIds = Array.from({ length: ROWS }, (_, k) => k + 1).filter(isBad)

describe("dead letters to a destination: kill -9 of dataflare run, then resume", () => {
  it.live("(a) to an NDJSON destination: every bad record exactly once, every good one exactly once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* setUp(dir, "{ type: ndjson, inputs: [], config: { path: rejects.ndjson } }")
      yield* killedRuns(dir)
      yield* checkOutput(dir)
      const letters = yield* readNdjsonIfAny(join(dir, "rejects.ndjson"))
      const ids = letters.map((e) => Number((e.record as { readonly id: number }).id))
      assert.strictEqual(ids.length, badIds.length)
      assert.deepStrictEqual([...ids].sort((a, b) => a - b), badIds)
      const [e] = letters
      assert.strictEqual(e.node, "big")
      assert.strictEqual(e.tag, "RecordError")
      assert.strictEqual(e.source, "input")
      assert.include(String(e.error), "amount > 10")
    }).pipe(Effect.scoped), 240_000)

  it.live("(b) to a PostgreSQL table, exactly-once: every bad record exactly once, every good one exactly once", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("dlq_kill")
      yield* createLettersTable(schema)
      const dir = yield* tempDir
      yield* setUp(dir, `{ type: postgres, inputs: [], config: { connection_string: "${URL}", table: ${schema}.rejects, checkpoint_table: ${schema}.chk } }`)
      yield* killedRuns(dir)
      yield* checkOutput(dir)
      const rows = yield* sql<{ id: number; n: string }>(`SELECT (record->>'id')::int AS id, count(*) AS n FROM ${schema}.rejects GROUP BY 1 ORDER BY 1`)
      assert.deepStrictEqual(rows.filter((r) => Number(r.n) !== 1), [], "no bad record twice")
      assert.deepStrictEqual(rows.map((r) => r.id), badIds)
      const [row] = yield* sql<{ node: string; tag: string; source: string; error: string; pos: string }>(
        `SELECT node, tag, source, error, position::text AS pos FROM ${schema}.rejects LIMIT 1`
      )
      assert.strictEqual(row.node, "big")
      assert.strictEqual(row.tag, "RecordError")
      assert.strictEqual(row.source, "input")
      assert.include(row.error, "amount > 10")
      assert.include(row.pos, "offset")
    }).pipe(Effect.scoped), 240_000)
})
