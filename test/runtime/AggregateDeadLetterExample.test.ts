/**
 * `examples/aggregate-dead-letters.yaml` run through `./bin/dataflare`: orders without a readable
 * time or with an amount that is not a number land in the rejects file as envelopes; the totals
 * per country and minute are those of the same orders without them; `plan` shows where the dead
 * letters go; the summary counts them.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../cli/support.ts"

const example = resolve(import.meta.dirname, "../../examples/aggregate-dead-letters.yaml")
const T0 = Date.parse("2026-12-05T10:00:00Z")

const lines = (path: string) =>
  Effect.promise(() => readFile(path, "utf8")).pipe(
    Effect.map((text) => text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as { readonly [k: string]: unknown }))
  )

describe("examples/aggregate-dead-letters.yaml", () => {
  it.live("bad orders go to the rejects destination as envelopes; the totals are the good orders'", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const orders = Array.from({ length: 300 }, (_, i) => {
        const id = i + 1
        const country = ["DE", "FR", "US"][id % 3]
        const created_at = new Date(T0 + id * 1_000).toISOString()
        if (id % 50 === 7) return { id, country, amount: "twelve", created_at }
        if (id % 50 === 21) return { id, country, amount: 10 }
        // far ahead, and not a number: taken, it would close every window before the orders after it
        if (id === 100) return { id, country, amount: { eur: 3 }, created_at: "2030-01-01T00:00:00Z" }
        return { id, country, amount: id % 40, created_at }
      })
      yield* Effect.promise(() => writeFile(join(dir, "orders.ndjson"), orders.map((o) => JSON.stringify(o)).join("\n") + "\n"))
      const env = { ORDERS_NDJSON: join(dir, "orders.ndjson"), OUT_NDJSON: join(dir, "out.ndjson"), REJECTS_NDJSON: join(dir, "rejects.ndjson") }
      const plan = yield* cli(["plan", example], { cwd: dir, env })
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.include(plan.stdout, "dead letters → destination rejects (ndjson)")
      assert.include(plan.stdout, "sink: rejects (ndjson), parallelism 1, reads dead letters of per_minute")
      const ran = yield* cli(["run", example, "--state-dir", join(dir, "state")], { cwd: dir, env })
      assert.strictEqual(ran.status, 0, ran.stderr)
      const bad = orders.filter((o) => typeof o.amount !== "number" || !("created_at" in o))
      assert.include(ran.stdout, `dead letters of per_minute: ${bad.length} records set aside`)
      // the totals per minute and country, by hand, from the good orders
      const expected = new Map<string, { orders: number; revenue: number }>()
      for (const o of orders) {
        if (bad.includes(o)) continue
        const start = new Date(Math.floor(Date.parse(String(o.created_at)) / 60_000) * 60_000).toISOString()
        const cell = expected.get(`${start} ${o.country}`) ?? { orders: 0, revenue: 0 }
        cell.orders += 1
        cell.revenue += Number(o.amount)
        expected.set(`${start} ${o.country}`, cell)
      }
      const got = (yield* lines(join(dir, "out.ndjson"))).map((r) => [`${String(r.window_start)} ${String(r.country)}`, { orders: r.orders, revenue: r.revenue }] as const)
      assert.deepStrictEqual(new Map<string, unknown>(got), expected)
      assert.strictEqual(got.length, expected.size)
      const envelopes = yield* lines(join(dir, "rejects.ndjson"))
      assert.deepStrictEqual(envelopes.map((e) => (e.record as { id: number }).id), bad.map((o) => o.id))
      assert.deepStrictEqual(envelopes.map((e) => [e.node, e.tag, e.source]), bad.map(() => ["per_minute", "RecordError", "orders"]))
      assert.include(String(envelopes[0].error), "sum needs a number")
      assert.include(String(envelopes.find((e) => (e.record as { id: number }).id === 21)?.error), "event-time field is missing")
    }).pipe(Effect.scoped), 60_000)
})
