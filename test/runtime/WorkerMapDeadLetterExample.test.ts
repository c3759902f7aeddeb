/**
 * `examples/worker-map-dead-letters.yaml` run through `./bin/dataflare`: orders from a country
 * without a VAT rate (the worker_map function throws) and orders the function turns into a bare
 * number (the csv sink cannot write them) land in the rejects file as envelopes, under the node
 * that set them aside; the CSV holds the other orders priced, in input order; `plan` shows where
 * the dead letters go; the summary counts them.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../cli/support.ts"

const example = resolve(import.meta.dirname, "../../examples/worker-map-dead-letters.yaml")
const module = resolve(import.meta.dirname, "../../examples/transforms/price.ts")

const idOf = (record: unknown) => (typeof record === "object" && record !== null && "id" in record ? Number(record.id) : 0)

describe("examples/worker-map-dead-letters.yaml", () => {
  it.live("bad orders go to the rejects destination from the worker_map and from the csv sink; the others are priced", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const countries = ["DE", "FR", "NL", "XX"]
      const orders = Array.from({ length: 2_500 }, (_, i) => {
        const id = i + 1
        return { id, country: countries[id % 4], amount: id % 97, ...(id % 50 === 1 ? { lines: "one" } : { lines: [id] }) }
      })
      yield* Effect.promise(() => writeFile(join(dir, "orders.ndjson"), orders.map((o) => JSON.stringify(o)).join("\n") + "\n"))
      const env = {
        ORDERS_NDJSON: join(dir, "orders.ndjson"),
        PRICE_MODULE: module,
        REPORT_CSV: join(dir, "report.csv"),
        REJECTS_NDJSON: join(dir, "rejects.ndjson")
      }
      const plan = yield* cli(["plan", example], { cwd: dir, env })
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.include(plan.stdout, "dead letters → destination rejects (ndjson)")
      const ran = yield* cli(["run", example, "--state-dir", join(dir, "state")], { cwd: dir, env })
      assert.strictEqual(ran.status, 0, ran.stderr)

      const noRate = orders.filter((o) => o.country === "XX")
      const notARow = orders.filter((o) => o.country !== "XX" && !Array.isArray(o.lines))
      assert.isAbove(notARow.length, 0)
      assert.include(ran.stdout, `dead letters of priced: ${noRate.length} records set aside`)
      assert.include(ran.stdout, `dead letters of report: ${notARow.length} records set aside`)

      const rate: Record<string, number> = { DE: 0.19, FR: 0.2, NL: 0.21 }
      const good = orders.filter((o) => o.country !== "XX" && Array.isArray(o.lines))
      // (in id order whatever the parallelism `auto` gives the worker_map node)
      const byId = (a: string, b: string) => Number(a.split(",")[0]) - Number(b.split(",")[0])
      const [header, ...rows] = (yield* Effect.promise(() => readFile(join(dir, "report.csv"), "utf8"))).split("\n").filter((l) => l.length > 0)
      assert.strictEqual(header, "id,country,net,gross")
      assert.deepStrictEqual(rows.sort(byId), good.map((o) => `${o.id},${o.country},${o.amount},${Math.round(o.amount * (1 + rate[o.country]) * 100) / 100}`))

      const envelopes = (yield* Effect.promise(() => readFile(join(dir, "rejects.ndjson"), "utf8"))).split("\n").filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as { readonly node: string; readonly tag: string; readonly error: string; readonly record: unknown; readonly detail: unknown })
        .sort((a, b) => idOf(a.record) - idOf(b.record))
      const fromPriced = envelopes.filter((e) => e.node === "priced")
      assert.deepStrictEqual(fromPriced.map((e) => e.record), noRate)
      for (const e of fromPriced) {
        assert.strictEqual(e.tag, "WorkerMapError")
        assert.include(e.error, "no VAT rate for country 'XX'")
      }
      // a bare gross does not say its order: compare them as a multiset
      const fromReport = envelopes.filter((e) => e.node === "report")
      const numbers = (xs: ReadonlyArray<unknown>) => xs.map(Number).sort((a, b) => a - b)
      assert.deepStrictEqual(numbers(fromReport.map((e) => e.record)), numbers(notARow.map((o) => Math.round(o.amount * (1 + rate[o.country]) * 100) / 100)))
      for (const e of fromReport) {
        assert.strictEqual(e.tag, "EncodeError")
        assert.include(e.error, "the record is a number")
        assert.deepStrictEqual(e.detail, { file: join(dir, "report.csv") })
      }
      assert.strictEqual(envelopes.length, noRate.length + notARow.length)
    }).pipe(Effect.scoped), 60_000)
})
