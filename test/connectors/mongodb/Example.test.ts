/**
 * `examples/ndjson-to-mongodb.yaml`, loaded as the CLI loads it and run in this process with the
 * `mongodb` connectors built over the MongoClient-shaped fake (a CLI child process could not reach
 * an in-memory fake): every good order upserted under its id, the one the validator refuses
 * dead-lettered and counted in the run summary; a second run (a replay) changes nothing.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../../src/Builtins.ts"
import * as MongodbSink from "../../../src/connectors/mongodb/MongodbSink.ts"
import * as MongodbSource from "../../../src/connectors/mongodb/MongodbSource.ts"
import * as PlanFormat from "../../../src/PlanFormat.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import { tempDir } from "../csv/support.ts"
import { fakeMongo } from "./fakeMongo.ts"

const example = resolve(import.meta.dirname, "../../../examples/ndjson-to-mongodb.yaml")

describe("examples/ndjson-to-mongodb.yaml (MongoClient-shaped fake)", () => {
  it.live("upserts the orders, dead-letters the invalid one, counts it in the summary; a rerun changes nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = fakeMongo({ invalid: (doc) => typeof doc.amount !== "number" })
      const orders = Array.from({ length: 30 }, (_, i) => ({ order_id: `o-${i + 1}`, amount: i === 7 ? "eight" : i * 2 }))
      yield* Effect.promise(() => writeFile(join(dir, "orders.ndjson"), orders.map((o) => JSON.stringify(o)).join("\n") + "\n"))
      const env = { MONGODB_URL: "mongodb://app:pw@db:27017", ORDERS_NDJSON: join(dir, "orders.ndjson"), REJECTED_NDJSON: join(dir, "rejected.ndjson") }
      const graph = yield* Yaml.load(example, { env })
      const registry = Registry.layer([
        ...Builtins.definitions.filter((d) => d.type !== "mongodb"),
        MongodbSource.make(fake.connect),
        MongodbSink.make(fake.connect)
      ])
      const { plan, summary } = yield* Effect.provide(
        Effect.gen(function*() {
          const plan = Runtime.plan(yield* Runtime.prepare(graph))
          return { plan, summary: yield* Runtime.run(graph) }
        }),
        registry
      )
      assert.include(PlanFormat.text(plan), `dead letters → ${join(dir, "rejected.ndjson")}, exactly-once (idempotent upsert keyed by id_field)`)
      assert.strictEqual(summary.nodes.find((n) => n.id === "store")?.deadLetters, 1)
      const stored = fake.documents("shop.orders")
      assert.strictEqual(stored.length, 29)
      assert.deepStrictEqual(stored.find((d) => d._id === "o-2"), { _id: "o-2", order_id: "o-2", amount: 2 })
      const letters = (yield* Effect.promise(() => readFile(join(dir, "rejected.ndjson"), "utf8"))).trim().split("\n").map((l) => JSON.parse(l) as { id: string; status: string })
      assert.deepStrictEqual(letters.map((l) => [l.id, l.status]), [["o-8", "code 121"]])
      yield* Effect.provide(Runtime.run(graph), registry)
      assert.deepStrictEqual(fake.documents("shop.orders"), stored, "a replay leaves the same documents")
    })))
})
