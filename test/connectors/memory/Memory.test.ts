import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { connectorDefinitions } from "../../../src/connectors/index.ts"
import * as Memory from "../../../src/connectors/memory/index.ts"
import * as Overrides from "../../../src/Overrides.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"
import { Testing } from "../../../src/testing/index.ts"
import { configIssues, context, drain, failure, openSink, openSource, readAll, tempDir, writeAll } from "../csv/support.ts"

describe("memory source", () => {
  it.effect("reads the records of its config, in batches capped by batch_size, positions = next index", () =>
    Effect.scoped(Effect.gen(function*() {
      const records = [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }]
      const reader = yield* openSource("memory", { records, batch_size: 2 })
      const { records: read, positions } = yield* drain(reader, 1000)
      assert.deepStrictEqual(read, records)
      assert.deepStrictEqual(positions, [2, 4, 5])
      assert.strictEqual(yield* reader.position, 5)
      yield* reader.seek(3)
      assert.deepStrictEqual((yield* drain(reader)).records, [{ id: 4 }, { id: 5 }])
      const error = yield* failure(reader.seek("x"))
      assert.strictEqual(error.message, 'memory seek: not a record index: "x"')
    })))

  it.effect("a generator with rate hands out no more records than are due (TestClock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const reader = yield* openSource("generator", { count: 1000, rate: 100 })
      // at the start one record is due
      assert.strictEqual((yield* reader.readBatch(50))?.records.length, 1)
      // the next read waits until the record after it is due (10 ms at 100/s)
      const next = yield* Effect.forkChild(reader.readBatch(50))
      yield* TestClock.adjust("5 millis")
      assert.isUndefined(next.pollUnsafe())
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(next))?.records.length, 1)
      // 1.005 s after the start 100 records were due, 2 of them read: a read takes the 98 others
      assert.strictEqual((yield* reader.readBatch(500))?.records.length, 98)
    })))

  it.effect("parallel instances read disjoint strides", () =>
    Effect.scoped(Effect.gen(function*() {
      const records = Array.from({ length: 7 }, (_, i) => ({ id: i }))
      const a = yield* openSource("memory", { records }, { ...context, instance: 0, parallelism: 2 })
      const b = yield* openSource("memory", { records }, { ...context, instance: 1, parallelism: 2 })
      assert.deepStrictEqual((yield* drain(a)).records.map((r) => (r as { id: number }).id), [0, 2, 4, 6])
      assert.deepStrictEqual((yield* drain(b)).records.map((r) => (r as { id: number }).id), [1, 3, 5])
    })))

  it("validates its config", () => {
    assert.strictEqual(configIssues("source", "memory", { records: [1, 2] }).length, 2)
    assert.strictEqual(configIssues("source", "memory", { records: [], batch_size: 0 }).length, 1)
  })
})

describe("generator source", () => {
  it.effect("generates { id, ...fields } from YAML-usable config", () =>
    Effect.gen(function*() {
      const records = yield* readAll("generator", { count: 3, fields: { kind: "test" } })
      assert.deepStrictEqual(records, [{ id: 0, kind: "test" }, { id: 1, kind: "test" }, { id: 2, kind: "test" }])
    }))

  it.effect("uses make(i) given from the DSL, and seeks by index", () =>
    Effect.scoped(Effect.gen(function*() {
      const reader = yield* openSource("generator", { count: 10, make: (i: number) => ({ square: i * i }) })
      yield* reader.seek(7)
      assert.deepStrictEqual((yield* drain(reader)).records, [{ square: 49 }, { square: 64 }, { square: 81 }])
    })))

  it("refuses a make that is not a function", () => {
    assert.strictEqual(configIssues("source", "generator", { count: 1, make: "i => i" }).length, 1)
  })
})

describe("collect sink", () => {
  it.effect("keeps records in the named list", () =>
    Effect.gen(function*() {
      Memory.clearCollected("t1")
      yield* Effect.scoped(Effect.flatMap(openSink("collect", { name: "t1" }), (w) => writeAll(w, [{ a: 1 }, { a: 2 }], 1)))
      assert.deepStrictEqual(Memory.collected("t1"), [{ a: 1 }, { a: 2 }])
      Memory.clearCollected("t1")
      assert.deepStrictEqual(Memory.collected("t1"), [])
    }))
})

describe("Testing", () => {
  it.effect("memorySource and collector replace the nodes of a production workflow through Overrides.layer", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      // The production workflow: CSV file in, NDJSON file out.
      const workflow = WorkflowGraph.make({
        name: "orders",
        execution: { batch_size: 2 },
        nodes: [
          { kind: "source", id: "orders", type: "csv", config: { path: join(dir, "orders.csv") }, inputs: [] },
          { kind: "sink", id: "out", type: "ndjson", config: { path: join(dir, "out.ndjson") }, inputs: ["orders"] }
        ]
      })
      const out = yield* Testing.collector<{ readonly id: number }>()
      const input = Array.from({ length: 5 }, (_, i) => ({ id: i }))
      const summary = yield* Runtime.run(workflow).pipe(
        Effect.provide(Overrides.layer({ orders: Testing.memorySource(input), out: out.sink }))
      )
      assert.deepStrictEqual(yield* out.records, input)
      assert.deepStrictEqual((yield* out.batches).map((b) => b.length), [2, 2, 1])
      assert.strictEqual(yield* out.written, 5)
      assert.isAtLeast(yield* out.flushes, 1)
      assert.strictEqual(summary.nodes.find((n) => n.id === "out")?.recordsIn, 5)

      // The same value runs in production, with the real connectors.
      writeFileSync(join(dir, "orders.csv"), "id,name\n1,a\n2,b\n3,c\n")
      yield* Runtime.run(workflow)
      assert.strictEqual(
        readFileSync(join(dir, "out.ndjson"), "utf8"),
        '{"id":"1","name":"a"}\n{"id":"2","name":"b"}\n{"id":"3","name":"c"}\n'
      )
    }).pipe(Effect.provide(Registry.layer(connectorDefinitions)))))

  it.effect("slowSink sleeps per batch (TestClock) and exposes how many records it wrote", () =>
    Effect.gen(function*() {
      const slow = yield* Testing.slowSink("1 second")
      const source = Testing.generatorSource(30, (i) => ({ id: i }), { batchSize: 10 })
      const graph = WorkflowGraph.make({
        name: "slow",
        execution: { batch_size: 10 },
        nodes: [
          { kind: "source", id: "in", type: "generator", config: { count: 0 }, inputs: [] },
          { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["in"] }
        ]
      })
      const fiber = yield* Effect.forkChild(Runtime.run(graph).pipe(Effect.provide(Overrides.layer({ in: source, out: slow.sink }))))
      // Virtual time: nothing is written until the clock moves.
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* slow.written, 0)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* slow.written, 10)
      yield* TestClock.adjust("2 seconds")
      const summary = yield* Fiber.join(fiber)
      assert.strictEqual(yield* slow.written, 30)
      assert.deepStrictEqual((yield* slow.records).slice(0, 2), [{ id: 0 }, { id: 1 }])
      // three batches, one virtual second each
      assert.isAtLeast(summary.durationMs, 3000)
    }).pipe(Effect.provide(Registry.layer(connectorDefinitions))))
})
