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
  sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.dataflare_state_checkpoints WHERE workflow = 'pg-state'`).pipe(Effect.map((r) => Number(r[0].n)))

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

  it.live("examples/csv-to-new-table.yaml: the table created with the declared types, the checkpoints in PostgreSQL", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const schema = yield* withSchema("df_state_example")
      const csv = join(dir, "orders.csv")
      yield* Effect.promise(() =>
        writeFile(csv, "id,customer,amount,ordered_at\n1,Ann,120.50,2024-05-06 07:08:09.123456+00\n2,Bob,80,2024-05-07 00:00:00+00\n")
      )
      const env = {
        DATAFLARE_STATE: URL,
        STATE_SCHEMA: schema,
        ORDERS_CSV: csv,
        PG_CONNECTION: URL,
        TARGET_TABLE: `${schema}.orders_loaded`,
        CHECKPOINT_TABLE: `${schema}.cp`
      }
      const file = join(import.meta.dirname, "../../../examples/csv-to-new-table.yaml")
      const r = yield* cli(["run", file, "--quiet"], { cwd: dir, env })
      assert.strictEqual(r.status, 0, r.stderr)
      assert.deepStrictEqual(yield* sql(`SELECT id::text, customer, amount::text, ordered_at::text FROM ${schema}.orders_loaded ORDER BY id`), [
        { id: "1", customer: "Ann", amount: "120.50", ordered_at: "2024-05-06 07:08:09.123456+00" },
        { id: "2", customer: "Bob", amount: "80.00", ordered_at: "2024-05-07 00:00:00+00" }
      ])
      const types = yield* sql<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`, [
        `${schema}.orders_loaded`
      ])
      assert.deepStrictEqual(types.map((t) => t.t), ["bigint", "text", "numeric(12,2)", "timestamp with time zone"])
      const [state] = yield* sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.dataflare_state_checkpoints WHERE workflow = 'csv-to-new-table'`)
      assert.isAbove(Number(state.n), 0)
      const again = yield* cli(["run", file], { cwd: dir, env })
      assert.include(again.stdout, "already complete at checkpoint")
    }).pipe(Effect.scoped), 60_000)

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
