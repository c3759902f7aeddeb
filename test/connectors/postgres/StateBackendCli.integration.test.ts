/**
 * The PostgreSQL state backend chosen from YAML (`execution.state: { backend: postgres, ... }`)
 * and from the CLI (`dataflare run --state postgres://...`): checkpoints go to the table, a rerun
 * resumes from them, `dataflare checkpoints` lists them, nothing is written to a state directory;
 * a second process running the same workflow on it is refused before it opens anything.
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { bin, cli, tempDir } from "../../cli/support.ts"
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

  it.live("a second process of a running workflow is refused before it opens anything; the first one's output is untouched", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const schema = yield* withSchema("df_state_lock")
      const url = `${URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          [
            "name: pg-lock",
            "execution: { batch_size: 100, checkpoint_interval: 20ms }",
            "sources:",
            "  numbers: { type: generator, config: { count: 1000000000 } }",
            "destinations:",
            "  out: { type: ndjson, inputs: [numbers], config: { path: out.ndjson } }"
          ].join("\n")
        )
      )
      const first = yield* Effect.acquireRelease(
        Effect.sync(() => spawn(bin, ["run", "wf.yaml", "--state", url], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })),
        (child) => Effect.sync(() => void child.kill("SIGKILL"))
      )
      let stderr = ""
      first.stderr.on("data", (chunk) => (stderr += String(chunk)))
      first.stdout.resume()
      const exited = new Promise<number | null>((resolve) => first.on("exit", (code) => resolve(code)))
      // the first process holds the workflow once it has written a checkpoint
      yield* sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.dataflare_state_checkpoints WHERE workflow = 'pg-lock'`).pipe(
        Effect.map((r) => Number(r[0].n)),
        Effect.catchDefect(() => Effect.succeed(0)),
        Effect.filterOrFail((n) => n > 0),
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("60 seconds"),
        Effect.orDie
      )
      const second = yield* cli(["run", "wf.yaml", "--state", url, "--from-scratch"], { cwd: dir })
      assert.strictEqual(second.status, 3, second.stderr)
      assert.include(second.stderr, `workflow 'pg-lock' is being run by process ${first.pid}`)
      assert.notInclude(second.stderr, "postgres://", "the connection string is not printed")
      assert.strictEqual(second.stdout, "")

      first.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => exited), 0, stderr)
      const ids = (yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))).split("\n").filter((l) => l.length > 0)
        .map((l) => (JSON.parse(l) as { readonly id: number }).id)
      assert.isAbove(ids.length, 0)
      assert.isTrue(ids.every((id, i) => id === i), "every record once, in order: the refused run truncated nothing")
    }).pipe(Effect.scoped), 120_000)
})
