/**
 * PostgreSQL → PostgreSQL with a real process killed mid-copy: `dataflare run` copies a table
 * (checkpoints every few milliseconds into a state directory), is killed with SIGKILL twice, then
 * runs again to completion. The target must equal the source exactly (md5 of every row's text) —
 * the source resumes after the last checkpointed key, whether it handed the sink COPY text or
 * records (a `map` in between).
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { killAt, start } from "../../cli/killRun.ts"
import { tempDir } from "../../cli/support.ts"
import { sql, URL, withSchema } from "./support.ts"

const ROWS = 200_000

describe("postgres → postgres: kill -9 of dataflare run mid-copy", () => {
  for (
    const [how, map, sink] of [
      ["COPY text passed through, exactly-once staged", false, "two_phase: staged"],
      ["COPY text passed through, exactly-once prepared", false, "two_phase: prepared"],
      ["records through a map, upsert by key", true, "mode: upsert"]
    ] as const
  ) {
    it.live(`killed twice, the rerun leaves the target equal to the source (${how})`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_kill_copy")
        const dir = yield* tempDir
        const columns = "(id int PRIMARY KEY, name text, amount numeric(12,3), at timestamptz, doc jsonb)"
        yield* sql(`CREATE TABLE ${schema}.src ${columns}`)
        yield* sql(`CREATE TABLE ${schema}.dst ${columns}`)
        yield* sql(
          `INSERT INTO ${schema}.src SELECT g, 'name ' || g || E'\\t"q"', g / 7.0, '2024-01-01'::timestamptz + g * interval '1.000001 second', jsonb_build_object('g', g, 'big', 12345678901234567890) FROM generate_series(1, ${ROWS}) g`
        )
        yield* Effect.promise(() =>
          writeFile(
            join(dir, "wf.yaml"),
            [
              "name: pg-copy-kill",
              "execution: { batch_size: 2000, checkpoint_interval: 10ms }",
              "sources:",
              `  src: { type: postgres, config: { connection_string: "${URL}", table: ${schema}.src } }`,
              ...(map ? ["transformations:", `  touch: { type: map, inputs: [src], config: { fields: { id: "id" } } }`] : []),
              "destinations:",
              "  dst:",
              "    type: postgres",
              `    inputs: [${map ? "touch" : "src"}]`,
              `    config: { connection_string: "${URL}", table: ${schema}.dst, checkpoint_table: ${schema}.cp, ${sink} }`
            ].join("\n")
          )
        )
        const first = yield* killAt(dir, yield* start(dir), 1)
        const second = yield* killAt(dir, yield* start(dir), first + 4)
        assert.isTrue(second > first)
        const partial = yield* sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.dst`)
        assert.isBelow(partial[0].n, ROWS, "the killed runs had not copied everything")
        const last = yield* (yield* start(dir)).ended
        assert.strictEqual(last.code, 0, last.stderr)
        const digest = (table: string) =>
          sql(`SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY id)) AS m FROM ${schema}.${table} t`)
        assert.deepStrictEqual(yield* digest("dst"), yield* digest("src"))
      }).pipe(Effect.scoped), 240_000)
  }
})
