/**
 * Chained nodes sharing one dead-letter destination (issue #16) in a real `dataflare run`: a
 * filter and the map after it (fused into one task) both send their dead letters to one
 * destination. (a) A PostgreSQL table (exactly-once, staged), the run SIGKILLed twice at
 * checkpoints, then run to the end: every bad record in the table once, under the node that set
 * it aside, every good one in the output once. (b) A SIGTERM mid-run stops it gracefully (exit 0,
 * a stop checkpoint), and the rerun completes from there with every record and letter once.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { latestId, start } from "../cli/killRun.ts"
import { tempDir } from "../cli/support.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"
import { readNdjsonIfAny, writeRun } from "./ndjsonRuns.ts"
import { createLettersTable, killTwiceThenFinish } from "./deadLetterKill.ts"

const ROWS = 100_000
/** The filter (`amount > 10`) cannot compare these amounts. */
const badAmount = (id: number) => id % 10 === 3
/** The map (`amount * qty`) cannot multiply these quantities (when the record passed the filter). */
const badQty = (id: number) => id % 10 === 7 && id % 50 > 10
const isGood = (id: number) => !badAmount(id) && id % 50 > 10 && !badQty(id)
const all = Array.from({ length: ROWS }, (_, k) => k + 1)

const toRejects = "on_error: dead_letter, dead_letter: { to: rejects }"

const setUp = (dir: string, parallelism: number, rejects: string) =>
  writeRun(dir, ROWS, (id) => ({ id, amount: badAmount(id) ? `bad ${id}` : id % 50, qty: id % 10 === 7 ? "two" : 2 }), [
    "name: shared-dlq-kill",
    `execution: { batch_size: 250, checkpoint_interval: 20ms, parallelism: ${parallelism} }`,
    "sources:",
    "  input: { type: ndjson, config: { path: in.ndjson } }",
    "transformations:",
    `  big: { type: filter, inputs: [input], config: { condition: "amount > 10" }, ${toRejects} }`,
    `  total: { type: map, inputs: [big], config: { fields: { total: "amount * qty" } }, ${toRejects} }`,
    "destinations:",
    "  out: { type: ndjson, inputs: [total], config: { path: out.ndjson } }",
    `  rejects: ${rejects}`
  ])

/** Every good record once in out.ndjson, with its total. */
const checkOutput = (dir: string) =>
  Effect.gen(function*() {
    const rows = yield* readNdjsonIfAny(join(dir, "out.ndjson"))
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b)
    assert.strictEqual(ids.length, all.filter(isGood).length)
    assert.deepStrictEqual(ids, all.filter(isGood))
    for (const r of rows) assert.strictEqual(r.total, Number(r.amount) * 2)
  })

describe("chained nodes sharing one dead-letter destination: dataflare run killed, stopped, resumed", () => {
  it.live("(a) kill -9 twice, then resume, into a PostgreSQL table (exactly-once): every letter once, under its node", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("hang_shared_dlq")
      yield* createLettersTable(schema)
      const dir = yield* tempDir
      yield* setUp(dir, 2, `{ type: postgres, inputs: [], config: { connection_string: "${URL}", table: ${schema}.rejects, checkpoint_table: ${schema}.chk } }`)
      yield* killTwiceThenFinish(
        dir,
        Effect.gen(function*() {
          assert.isBelow((yield* readNdjsonIfAny(join(dir, "out.ndjson"))).length, all.filter(isGood).length, "the killed runs had not read everything")
        })
      )
      yield* checkOutput(dir)
      const rows = yield* sql<{ node: string; id: number; n: string }>(
        `SELECT node, (record->>'id')::int AS id, count(*) AS n FROM ${schema}.rejects GROUP BY 1, 2 ORDER BY 2`
      )
      assert.deepStrictEqual(rows.filter((r) => Number(r.n) !== 1), [], "no letter twice")
      assert.deepStrictEqual(rows.filter((r) => r.node === "big").map((r) => r.id), all.filter(badAmount))
      assert.deepStrictEqual(rows.filter((r) => r.node === "total").map((r) => r.id), all.filter(badQty))
      assert.strictEqual(rows.length, all.filter(badAmount).length + all.filter(badQty).length)
    }).pipe(Effect.scoped), 240_000)

  it.live("(b) SIGTERM mid-run stops it gracefully (exit 0); the rerun completes, every record and letter once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* setUp(dir, 1, "{ type: ndjson, inputs: [], config: { path: rejects.ndjson } }")
      const running = yield* start(dir)
      while ((yield* latestId(dir)) < 2) {
        assert.isNull(running.child.exitCode, "the run ended before checkpoint 2")
        yield* Effect.sleep("5 millis")
      }
      running.child.kill("SIGTERM")
      const stopped = yield* running.ended
      assert.strictEqual(stopped.code, 0, stopped.stderr)
      assert.include(stopped.stderr, "stopping: taking a checkpoint where the run is")
      assert.isBelow((yield* readNdjsonIfAny(join(dir, "out.ndjson"))).length, all.filter(isGood).length, "stopped before the end")
      const rerun = yield* (yield* start(dir)).ended
      assert.strictEqual(rerun.code, 0, rerun.stderr)
      yield* checkOutput(dir)
      const letters = yield* readNdjsonIfAny(join(dir, "rejects.ndjson"))
      const of = (node: string) => letters.filter((e) => e.node === node).map((e) => Number((e.record as { readonly id: number }).id)).sort((a, b) => a - b)
      assert.deepStrictEqual(of("big"), all.filter(badAmount))
      assert.deepStrictEqual(of("total"), all.filter(badQty))
      assert.strictEqual(letters.length, all.filter(badAmount).length + all.filter(badQty).length)
    }).pipe(Effect.scoped), 240_000)
})
