/**
 * Exactly-once into PostgreSQL with a real process: `dataflare run` loads a generated CSV into a
 * table (`mode: insert`, checkpoints every 50 ms into a state directory) and is killed with
 * SIGKILL twice mid-load — once as soon as a checkpoint file appears (the sink may not have
 * applied it yet), once a few checkpoints later — then run again to completion. The table must
 * hold every input row exactly once, and nothing staged may be left behind. Once with typed
 * columns (records parsed and encoded), once untyped (the file's bytes passed through to COPY).
 */
import { open, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { killAt, start } from "../../cli/killRun.ts"
import { tempDir } from "../../cli/support.ts"
import { preparedPrefix } from "../../../src/connectors/postgres/internal/preparedProtocol.ts"
import { sql, URL, withSchema } from "./support.ts"

const ROWS = 300_000

const generateCsv = (path: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    const file = await open(path, "w")
    try {
      await file.write("id,name,amount\n")
      for (let from = 1; from <= ROWS; from += 50_000) {
        const lines: Array<string> = []
        for (let i = from; i < from + 50_000 && i <= ROWS; i++) lines.push(`${i},"name ${i % 97}, ""q""",${(i % 1000) / 4}`)
        await file.write(lines.join("\n") + "\n")
      }
    } finally {
      await file.close()
    }
  })

describe("postgres sink: kill -9 of dataflare run mid-load", () => {
  // typed columns: the source parses records and the sink encodes them; untyped: the source hands
  // the file's CSV bytes to the sink, which COPYs them as they are (FORMAT csv)
  // (the bytes load about 3x faster: checkpoints come more often so the run is still killed mid-load)
  // and once with PostgreSQL's own two-phase commit (two_phase: prepared) instead of staging
  for (
    const [how, columns, interval, twoPhase] of [
      ["parsed records", ", columns: { id: integer, amount: number }", "50ms", "staged"],
      ["CSV bytes passed through", "", "10ms", "staged"],
      ["CSV bytes passed through, two_phase: prepared", "", "10ms", "prepared"]
    ] as const
  ) {
  it.live(`killed twice, the rerun leaves every input row in the table exactly once (${how})`, () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_kill_cli")
      const dir = yield* tempDir
      yield* sql(`CREATE TABLE ${schema}.t (id int, name text, amount numeric)`)
      yield* generateCsv(join(dir, "in.csv"))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          [
            "name: pg-kill",
            `execution: { batch_size: 2000, checkpoint_interval: ${interval} }`,
            "sources:",
            `  input: { type: csv, config: { path: in.csv${columns} } }`,
            "destinations:",
            "  pg:",
            "    type: postgres",
            "    inputs: [input]",
            `    config: { connection_string: "${URL}", table: ${schema}.t, checkpoint_table: ${schema}.cp, two_phase: ${twoPhase} }`
          ].join("\n")
        )
      )
      const first = yield* killAt(dir, yield* start(dir), 1)
      const second = yield* killAt(dir, yield* start(dir), first + 4)
      const partial = yield* sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.t`)
      assert.isTrue(Number(partial[0].n) < ROWS, "the killed runs had not loaded everything")
      assert.isTrue(second > first)
      const last = yield* (yield* start(dir)).ended
      assert.strictEqual(last.code, 0, last.stderr)
      const [stats] = yield* sql<{ n: string; distinct: string; min: number; max: number; sum: number }>(
        `SELECT count(*) AS n, count(DISTINCT id) AS distinct, min(id) AS min, max(id) AS max, sum(amount)::float8 AS sum FROM ${schema}.t`
      )
      assert.deepStrictEqual(stats, {
        n: String(ROWS),
        distinct: String(ROWS),
        min: 1,
        max: ROWS,
        sum: Array.from({ length: ROWS }, (_, k) => ((k + 1) % 1000) * 25).reduce((a, b) => a + b, 0) / 100
      })
      const tables = yield* sql<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema])
      if (twoPhase === "staged") {
        assert.deepStrictEqual(yield* sql(`SELECT * FROM ${schema}.cp_staged`), [])
        assert.deepStrictEqual(tables.map((t) => t.name), ["cp", "cp_staged", "t"], "the staging table is dropped at the end")
      } else {
        assert.deepStrictEqual(tables.map((t) => t.name), ["cp", "t"], "no staging table, the checkpoint table")
        const left = yield* sql(`SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1)`, [preparedPrefix("pg-kill", "pg#0", `${schema}.t`)])
        assert.deepStrictEqual(left, [], "the rerun committed or rolled back every prepared transaction")
      }
    }).pipe(Effect.scoped), 180_000)
  }
})
