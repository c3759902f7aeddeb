/**
 * `examples/ndjson-to-elasticsearch.yaml` through `./bin/dataflare` against the HTTP fake:
 * `plan` names the guarantee and how it is kept, `run` writes every good order under its id and
 * sets the one the mapping refuses aside; the API key never appears in what the CLI prints.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"
import { amountMustBeNumber, fakeElasticsearch } from "./fakeServer.ts"

const example = resolve(import.meta.dirname, "../../../examples/ndjson-to-elasticsearch.yaml")

describe("examples/ndjson-to-elasticsearch.yaml (HTTP fake)", () => {
  it.live("plan says exactly-once by idempotent writes; run writes the orders and dead-letters the bad one", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeElasticsearch({ decide: amountMustBeNumber })
      const orders = Array.from({ length: 40 }, (_, i) => ({ order_id: `o-${i + 1}`, amount: i === 12 ? "twelve" : i * 2.5 }))
      yield* Effect.promise(() => writeFile(join(dir, "orders.ndjson"), orders.map((o) => JSON.stringify(o)).join("\n") + "\n"))
      const env = { ES_URL: fake.url, ES_API_KEY: "c2VjcmV0LWV4YW1wbGUta2V5" }
      const plan = yield* cli(["plan", example], { cwd: dir, env })
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.include(plan.stdout, "dead letters → rejected.ndjson, exactly-once (idempotent writes keyed by id_field)")
      const run = yield* cli(["run", example, "--state-dir", "state"], { cwd: dir, env })
      assert.strictEqual(run.status, 0, run.stderr)
      assert.include(run.stdout, "dead letters of search: 1 records set aside", "the summary counts them")
      for (const out of [plan.stdout, plan.stderr, run.stdout, run.stderr]) assert.notInclude(out, "c2VjcmV0")
      const index = fake.indices.get("orders")!
      assert.strictEqual(index.size, 39)
      assert.deepStrictEqual(index.get("o-2"), { order_id: "o-2", amount: 2.5 })
      const letters = (yield* Effect.promise(() => readFile(join(dir, "rejected.ndjson"), "utf8"))).trim().split("\n").map((l) => JSON.parse(l) as { id: string; status: number; node: string })
      assert.deepStrictEqual(letters.map((l) => [l.id, l.status, l.node]), [["o-13", 400, "search"]])
    })))
})
