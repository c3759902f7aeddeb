/**
 * Dead letters of an `aggregate`, with a real process killed mid-run: `dataflare run` sums the
 * amounts of 100 000 orders per country over one-minute windows; every tenth order has an amount
 * `sum` cannot add and every 97th no event time, so the aggregate sets them aside, with
 * `dead_letter: { to }`, into a PostgreSQL table (exactly-once, staged). The run is SIGKILLed
 * twice at checkpoints, then runs to completion. Compared with an uninterrupted run of the same
 * workflow: the same windows with the same totals (the keyed state restored without any bad
 * record in it), and every bad record in the table exactly once.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { start } from "../cli/killRun.ts"
import { tempDir } from "../cli/support.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"
import { readNdjsonIfAny, writeRun } from "./ndjsonRuns.ts"
import { createLettersTable, killTwiceThenFinish } from "./deadLetterKill.ts"

const ROWS = 100_000
const T0 = Date.parse("2026-12-05T00:00:00Z")
const badAmount = (id: number) => id % 10 === 3
const noTime = (id: number) => id % 97 === 0 && !badAmount(id)
const badIds = Array.from({ length: ROWS }, (_, k) => k + 1).filter((id) => badAmount(id) || noTime(id))

const order = (id: number) => {
  const o: { [k: string]: unknown } = { id, country: ["de", "fr", "it"][id % 3], amount: badAmount(id) ? `bad ${id}` : id % 50 }
  if (!noTime(id)) o.ts = T0 + id * 100
  return o
}

const setUp = (dir: string, schema: string) =>
  writeRun(dir, ROWS, order, [
    "name: dlq2-aggregate-kill",
    "execution: { batch_size: 250, checkpoint_interval: 20ms }",
    "sources:",
    "  input: { type: ndjson, config: { path: in.ndjson } }",
    "transformations:",
    "  per_minute:",
    "    type: aggregate",
    "    inputs: [input]",
    "    config:",
    "      group_by: [country]",
    "      time_field: ts",
    "      window: { type: tumbling, size: 1m }",
    "      aggregates: { n: { op: count }, total: { op: sum, field: amount } }",
    "    on_error: dead_letter",
    "    dead_letter: { to: rejects }",
    "destinations:",
    "  out: { type: ndjson, inputs: [per_minute], config: { path: out.ndjson } }",
    `  rejects: { type: postgres, inputs: [], config: { connection_string: "${URL}", table: ${schema}.rejects, checkpoint_table: ${schema}.chk } }`
  ])

const rejected = (schema: string) => sql<{ id: number; n: string }>(`SELECT (record->>'id')::int AS id, count(*) AS n FROM ${schema}.rejects GROUP BY 1 ORDER BY 1`)

const byWindow = (rows: ReadonlyArray<{ readonly [k: string]: unknown }>) =>
  rows.map((r) => `${String(r.window_start)} ${String(r.country)} ${String(r.n)} ${String(r.total)}`).sort()

describe("dead letters of an aggregate: kill -9 of dataflare run, then resume", () => {
  it.live("the windows and totals of an uninterrupted run; every bad record in the exactly-once destination once", () =>
    Effect.gen(function*() {
      // the uninterrupted run
      const reference = yield* tempDir
      const referenceSchema = yield* withSchema("dlq2_ref")
      yield* createLettersTable(referenceSchema)
      yield* setUp(reference, referenceSchema)
      const whole = yield* (yield* start(reference)).ended
      assert.strictEqual(whole.code, 0, whole.stderr)
      // killed twice, then run to its end
      const dir = yield* tempDir
      const schema = yield* withSchema("dlq2_kill")
      yield* createLettersTable(schema)
      yield* setUp(dir, schema)
      yield* killTwiceThenFinish(
        dir,
        Effect.gen(function*() {
          const partial = yield* rejected(schema)
          assert.isBelow(partial.length, badIds.length, "the killed runs had not set everything aside")
        })
      )

      const expected = byWindow(yield* readNdjsonIfAny(join(reference, "out.ndjson")))
      // 100 000 orders 100 ms apart: about 167 minutes × 3 countries
      assert.isAbove(expected.length, 400)
      assert.deepStrictEqual(byWindow(yield* readNdjsonIfAny(join(dir, "out.ndjson"))), expected)
      for (const s of [referenceSchema, schema]) {
        const rows = yield* rejected(s)
        assert.deepStrictEqual(rows.filter((r) => Number(r.n) !== 1), [], "no bad record twice")
        assert.deepStrictEqual(rows.map((r) => r.id), badIds)
      }
      const [row] = yield* sql<{ node: string; tag: string; source: string; error: string }>(
        `SELECT node, tag, source, error FROM ${schema}.rejects WHERE (record->>'id')::int = 3`
      )
      assert.strictEqual(row.node, "per_minute")
      assert.strictEqual(row.tag, "RecordError")
      assert.strictEqual(row.source, "input")
      assert.include(row.error, "sum needs a number")
    }).pipe(Effect.scoped), 300_000)
})
