/**
 * A state older than the table, from the CLI: after a completed `dataflare run` into PostgreSQL,
 * the state directory is deleted, or its newest checkpoint damaged (the run falls back to an older
 * one). The sink's checkpoint table says it already committed a later checkpoint, so the run is
 * refused before anything is written — naming both checkpoints and the way out — instead of
 * loading the rows after the older checkpoint a second time (100k–455k duplicate rows, exit 0,
 * before). `--from-scratch` starts over.
 */
import { readdir, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"
import { sql, URL, withSchema } from "./support.ts"

const ROWS = 30_000

const checkpointFiles = (dir: string) =>
  Effect.promise(async () => (await readdir(join(dir, "state"))).filter((n) => /^chk-\d+\.json$/.test(n)).sort())

const count = (table: string) => sql<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${table}`).pipe(Effect.map((r) => r[0]))

describe("postgres sink: a state older than the table is refused", () => {
  for (const [guarantee, twoPhase] of [["exactly-once", "staged"], ["exactly-once", "prepared"], ["at-least-once", undefined]] as const) {
    it.live(`state deleted, newest checkpoint damaged: refused naming both checkpoints; --from-scratch starts over (${guarantee}${twoPhase !== undefined ? `, ${twoPhase}` : ""})`, () =>
      Effect.gen(function*() {
        const schema = yield* withSchema("df_sink_ahead")
        const dir = yield* tempDir
        const table = `${schema}.t`
        yield* sql(`CREATE TABLE ${table} (id int, name text)`)
        yield* Effect.promise(() =>
          writeFile(join(dir, "in.csv"), "id,name\n" + Array.from({ length: ROWS }, (_, i) => `${i},n${i}`).join("\n") + "\n")
        )
        yield* Effect.promise(() =>
          writeFile(
            join(dir, "wf.yaml"),
            [
              "name: pg-ahead",
              "execution: { batch_size: 500, checkpoint_interval: 1ms }",
              "sources:",
              "  input: { type: csv, config: { path: in.csv, columns: { id: integer } } }",
              "destinations:",
              "  pg:",
              "    type: postgres",
              "    inputs: [input]",
              `    config: { connection_string: "${URL}", table: ${table}, mode: replace, checkpoint_table: ${schema}.cp, guarantee: ${guarantee}${
                twoPhase !== undefined ? `, two_phase: ${twoPhase}` : ""
              } }`
            ].join("\n")
          )
        )
        const run = (...extra: ReadonlyArray<string>) => cli(["run", "wf.yaml", "--state-dir", "state", "--quiet", ...extra], { cwd: dir })
        const first = yield* run()
        assert.strictEqual(first.status, 0, first.stderr)
        assert.deepStrictEqual(yield* count(table), { n: String(ROWS), d: String(ROWS) })
        const files = yield* checkpointFiles(dir)
        assert.isAtLeast(files.length, 3, "the run took several checkpoints")
        const newest = Number(/\d+/.exec(files.at(-1)!)![0])

        // The newest two checkpoints damaged: the run would fall back to an older one.
        for (const name of files.slice(-2)) yield* Effect.promise(() => writeFile(join(dir, "state", name), "{ damaged"))
        const fallback = yield* run()
        assert.notStrictEqual(fallback.status, 0, "refused")
        // in the run's pre-flight phase, before any connector opens
        assert.include(fallback.stderr, `node 'pg' cannot resume (checkpoint ${newest - 2})`)
        assert.include(fallback.stderr, `already holds the rows of checkpoint ${newest}`)
        assert.match(fallback.stderr, new RegExp(`would resume from checkpoint ${newest - 2}\\b`))
        assert.include(fallback.stderr, "--from-scratch")
        assert.deepStrictEqual(yield* count(table), { n: String(ROWS), d: String(ROWS) }, "nothing written")

        // The state directory deleted: the run would start from the start.
        yield* Effect.promise(() => rm(join(dir, "state"), { recursive: true, force: true }))
        const lost = yield* run()
        assert.notStrictEqual(lost.status, 0, "refused")
        assert.include(lost.stderr, "node 'pg' cannot resume")
        assert.include(lost.stderr, `already holds the rows of checkpoint ${newest}`)
        assert.include(lost.stderr, "would resume from the start")
        assert.deepStrictEqual(yield* count(table), { n: String(ROWS), d: String(ROWS) }, "nothing written")

        // The user asks to start over: mode replace empties the table once, every row once.
        const again = yield* run("--from-scratch")
        assert.strictEqual(again.status, 0, again.stderr)
        assert.deepStrictEqual(yield* count(table), { n: String(ROWS), d: String(ROWS) })
        if (twoPhase === undefined) return
        const left = yield* sql(`SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'dataflare_stage%'`, [schema])
        assert.deepStrictEqual(left, [])
      }).pipe(Effect.scoped), 120_000)
  }

  it.live("a workflow without durable state starts over by design: rerunning it is not refused", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_sink_rerun")
      const dir = yield* tempDir
      const table = `${schema}.t`
      yield* sql(`CREATE TABLE ${table} (id int, name text)`)
      yield* Effect.promise(() => writeFile(join(dir, "in.csv"), "id,name\n1,a\n2,b\n"))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          [
            "name: pg-rerun",
            "sources:",
            "  input: { type: csv, config: { path: in.csv, columns: { id: integer } } }",
            "destinations:",
            `  pg: { type: postgres, inputs: [input], config: { connection_string: "${URL}", table: ${table}, checkpoint_table: ${schema}.cp } }`
          ].join("\n")
        )
      )
      // no checkpoint_interval, no --state-dir: checkpoints in memory, every run from the start
      for (let run = 1; run <= 2; run++) {
        const r = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir })
        assert.strictEqual(r.status, 0, r.stderr)
        assert.deepStrictEqual(yield* count(table), { n: String(2 * run), d: "2" }, "appended again, as asked")
      }
    }).pipe(Effect.scoped), 60_000)
})
