/**
 * The MySQL connectors through `./bin/dataflare`: `plan` shows each sink's guarantee, `check`
 * and `run` against an unreachable server fail within bounded time naming the connector and
 * never the password, `validate` refuses a bad config where it is written.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"

const workflow = (dir: string, lines: ReadonlyArray<string>) => Effect.promise(() => writeFile(join(dir, "wf.yaml"), lines.join("\n")))

const DOWN = "mysql://etl:topsecret@127.0.0.1:1/shop"

describe("mysql connectors in the CLI", () => {
  it.live("plan shows each sink's guarantee", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* workflow(dir, [
        "name: p",
        "sources:",
        `  input: { type: mysql, config: { connection_string: "${DOWN}", table: t } }`,
        "destinations:",
        `  xa: { type: mysql, inputs: [input], config: { connection_string: "${DOWN}", table: t2 } }`,
        `  alo: { type: mysql, inputs: [input], config: { connection_string: "${DOWN}", table: t3, guarantee: at-least-once } }`
      ])
      const plan = yield* cli(["plan", "wf.yaml"], { cwd: dir })
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.match(plan.stdout, /sink: xa \(mysql\).*exactly-once/u)
      assert.match(plan.stdout, /sink: alo \(mysql\).*at-least-once/u)
      assert.include(plan.stdout, "guarantee: at-least-once")
      assert.notInclude(plan.stdout + plan.stderr, "topsecret")
    }).pipe(Effect.scoped), 60_000)

  it.live("check and run against an unreachable server fail, naming the connector, never the password", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* workflow(dir, [
        "name: down",
        "sources:",
        `  input: { type: mysql-cdc, config: { connection_string: "${DOWN}", tables: [t], server_id: 9 } }`,
        "destinations:",
        `  out: { type: mysql, inputs: [input], config: { connection_string: "mysql://etl@127.0.0.1:1/shop", password: "\${MY_PW}", table: t2, mode: upsert } }`
      ])
      const env = { MY_PW: "topsecret" }
      const check = yield* cli(["check", "wf.yaml"], { cwd: dir, env })
      assert.notStrictEqual(check.status, 0)
      assert.include(check.stdout + check.stderr, "mysql-cdc check: connect ECONNREFUSED")
      assert.include(check.stdout + check.stderr, "mysql check: connect ECONNREFUSED")
      assert.notInclude(check.stdout + check.stderr, "topsecret")
      const run = yield* cli(["run", "wf.yaml"], { cwd: dir, env })
      assert.notStrictEqual(run.status, 0)
      assert.include(run.stdout + run.stderr, "ECONNREFUSED")
      assert.notInclude(run.stdout + run.stderr, "topsecret")
    }).pipe(Effect.scoped), 60_000)

  it.live("validate refuses a change stream of a table the workflow writes, and a replace of a table it reads", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* workflow(dir, [
        "name: loop",
        "sources:",
        "  changes: { type: mysql-cdc, config: { connection_string: \"mysql://repl@db:3306/shop\", tables: [orders], server_id: 9 } }",
        "  snap: { type: mysql, config: { connection_string: \"mysql://etl@db/shop\", table: customers } }",
        "destinations:",
        "  back: { type: mysql, inputs: [changes], config: { connection_string: \"mysql://etl@DB:3306/shop\", table: shop.orders, mode: upsert } }",
        "  wipe: { type: mysql, inputs: [snap], config: { connection_string: \"mysql://etl@db:3306/shop\", table: customers, mode: replace } }"
      ])
      const result = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.notStrictEqual(result.status, 0)
      const text = result.stdout + result.stderr
      assert.include(text, "db:3306 shop.orders")
      assert.include(text, "db:3306 shop.customers")
    }).pipe(Effect.scoped), 60_000)

  it.live("validate refuses a bad config where it is written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* workflow(dir, [
        "name: bad",
        "sources:",
        `  input: { type: mysql, config: { connection_string: "${DOWN}", query: "SELECT 1", incremental: { column: x } } }`,
        "destinations:",
        `  out: { type: mysql, inputs: [input], config: { connection_string: "${DOWN}", table: "a; DROP TABLE b", on_error: dead_letter } }`
      ])
      const result = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.notStrictEqual(result.status, 0)
      const text = result.stdout + result.stderr
      assert.include(text, "incremental mode needs 'table'")
      assert.include(text, "destinations.out.config.table")
      assert.notInclude(text, "topsecret")
    }).pipe(Effect.scoped), 60_000)
})
