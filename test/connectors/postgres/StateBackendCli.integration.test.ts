/**
 * The PostgreSQL state backend chosen from YAML (`execution.state: { backend: postgres, ... }`)
 * and from the CLI (`dataflare run --state postgres://...`): checkpoints go to the table, a rerun
 * resumes from them, `dataflare checkpoints` lists them, nothing is written to a state directory.
 */
import { existsSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"
import { sql, URL, withSchema } from "./support.ts"

const workflow = (state: string) =>
  [
    "name: pg-state",
    `execution: { batch_size: 100, checkpoint_interval: 20ms${state} }`,
    "sources:",
    "  input: { type: csv, config: { path: in.csv, columns: { id: integer } } }",
    "destinations:",
    "  out: { type: ndjson, inputs: [input], config: { path: out.ndjson } }"
  ].join("\n")

const stored = (schema: string) =>
  sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.dataflare_checkpoints WHERE workflow = 'pg-state'`).pipe(Effect.map((r) => Number(r[0].n)))

describe("the PostgreSQL state backend from YAML and the CLI", () => {
  it.live("execution.state and --state keep the checkpoints in PostgreSQL; a rerun resumes from them", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const yamlSchema = yield* withSchema("df_state_yaml")
      const flagSchema = yield* withSchema("df_state_flag")
      yield* Effect.promise(() => writeFile(join(dir, "in.csv"), "id,name\n" + Array.from({ length: 2000 }, (_, i) => `${i},n${i}`).join("\n") + "\n"))

      // YAML: the connection string comes from the environment
      yield* Effect.promise(() =>
        writeFile(join(dir, "wf.yaml"), workflow(`, state: { backend: postgres, connection_string: "\${PG_STATE}", schema: ${yamlSchema} }`))
      )
      const env = { PG_STATE: URL }
      const first = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir, env })
      assert.strictEqual(first.status, 0, first.stderr)
      assert.isAbove(yield* stored(yamlSchema), 0, "checkpoints in PostgreSQL")
      assert.isFalse(existsSync(join(dir, ".dataflare")), "no state directory")
      const again = yield* cli(["run", "wf.yaml"], { cwd: dir, env })
      assert.strictEqual(again.status, 0, again.stderr)
      assert.include(again.stdout, "already complete at checkpoint")
      const listed = yield* cli(["checkpoints", "wf.yaml"], { cwd: dir, env })
      assert.strictEqual(listed.status, 0, listed.stderr)
      assert.include(listed.stdout, "in the PostgreSQL state backend")
      assert.notInclude(listed.stdout + listed.stderr, "postgres://", "the connection string is not printed")

      // CLI: --state overrides the workflow (here the schema comes with the connection's search_path)
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow("")))
      const url = `${URL}?options=${encodeURIComponent(`-c search_path=${flagSchema}`)}`
      const flagged = yield* cli(["run", "wf.yaml", "--quiet", "--state", url], { cwd: dir })
      assert.strictEqual(flagged.status, 0, flagged.stderr)
      assert.isAbove(yield* stored(flagSchema), 0)
      assert.isFalse(existsSync(join(dir, ".dataflare")), "no state directory")
      const resumed = yield* cli(["run", "wf.yaml", "--state", url], { cwd: dir })
      assert.include(resumed.stdout, "already complete at checkpoint")

      // --state takes a PostgreSQL URL, and not together with --state-dir
      const notUrl = yield* cli(["run", "wf.yaml", "--state", "somedir"], { cwd: dir })
      assert.strictEqual(notUrl.status, 1)
      assert.include(notUrl.stderr, "--state takes a PostgreSQL connection string")
      const both = yield* cli(["run", "wf.yaml", "--state", url, "--state-dir", "st"], { cwd: dir })
      assert.strictEqual(both.status, 1)
      assert.include(both.stderr, "give one")
    }).pipe(Effect.scoped), 120_000)

  it.live("an execution.state that is not a backend is a definition error naming the key", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "in.csv"), "id\n1\n"))
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow(", state: { backend: redis }")))
      const r = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.strictEqual(r.status, 1)
      assert.include(r.stderr, "execution.state")
    }).pipe(Effect.scoped))
})
