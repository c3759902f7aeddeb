/**
 * `examples/dead-letters-to-postgres.yaml` run through `./bin/dataflare` against the local
 * PostgreSQL: the orders whose amount is not a number land in the table it creates, as envelopes;
 * the others in the NDJSON file; `plan` shows where the dead letters go; the summary counts them.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../cli/support.ts"
import { sql, URL, withSchema } from "../connectors/postgres/support.ts"

const example = resolve(import.meta.dirname, "../../examples/dead-letters-to-postgres.yaml")

describe("examples/dead-letters-to-postgres.yaml", () => {
  it.live("bad orders go to the postgres table as envelopes, the others to the file", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("dlq_example")
      const dir = yield* tempDir
      const orders = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, amount: i % 20 === 4 ? "twelve" : i * 9 }))
      yield* Effect.promise(() => writeFile(join(dir, "orders.ndjson"), orders.map((o) => JSON.stringify(o)).join("\n") + "\n"))
      const env = {
        ORDERS_NDJSON: join(dir, "orders.ndjson"),
        OUT_NDJSON: join(dir, "big.ndjson"),
        PG_CONNECTION: URL,
        REJECTS_TABLE: `${schema}.rejected_orders`,
        CHECKPOINT_TABLE: `${schema}.chk`
      }
      const plan = yield* cli(["plan", example], { cwd: dir, env })
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.include(plan.stdout, "stateless: big (filter), parallelism 1, reads orders, runs in the fiber of orders (no queue), dead letters → destination rejects (postgres)")
      assert.include(plan.stdout, "sink: rejects (postgres), parallelism 1, reads dead letters of big")
      const ran = yield* cli(["run", example, "--state-dir", join(dir, "state")], { cwd: dir, env })
      assert.strictEqual(ran.status, 0, ran.stderr)
      assert.include(ran.stdout, "dead letters of big: 3 records set aside")
      const big = (yield* Effect.promise(() => readFile(join(dir, "big.ndjson"), "utf8"))).trim().split("\n").map((l) => JSON.parse(l).id as number)
      assert.deepStrictEqual(big, orders.filter((o) => typeof o.amount === "number" && o.amount >= 100).map((o) => o.id))
      const rows = yield* sql<{ node: string; tag: string; source: string; id: number; amount: string }>(
        `SELECT node, tag, source, (record->>'id')::int AS id, record->>'amount' AS amount FROM ${schema}.rejected_orders ORDER BY 4`
      )
      assert.deepStrictEqual(rows, [5, 25, 45].map((id) => ({ node: "big", tag: "RecordError", source: "orders", id, amount: "twelve" })))
    }).pipe(Effect.scoped), 60_000)
})
