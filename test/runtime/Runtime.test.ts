import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Ref, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Connector from "../../src/Connector.ts"
import { ConnectionError, ConnectorError, DefinitionError, NodeError } from "../../src/Errors.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { readerSource, writerSink } from "./overrides.ts"
import { collected, definitions, makeTracked } from "./support.ts"

const registry = Registry.layer(definitions)

const linear = (count: number, extra?: Partial<WorkflowGraph.ExecutionSettings>) =>
  WorkflowGraph.make({
    name: "linear",
    execution: { batch_size: 100, ...extra },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count }, inputs: [] },
      { kind: "processor", id: "even", type: "keep_even", config: { field: "id" }, inputs: ["nums"] },
      { kind: "processor", id: "plus", type: "add", config: { by: 1000 }, inputs: ["even"] },
      { kind: "sink", id: "out", type: "collect_test", config: { name: "linear" }, inputs: ["plus"] }
    ]
  })

describe("Runtime", () => {
  it.effect("runs a linear workflow and reports records in/out per node", () =>
    Effect.gen(function*() {
      const summary = yield* Runtime.run(linear(1_000))
      const out = collected("linear") as Array<{ id: number }>
      assert.strictEqual(out.length, 500)
      assert.deepStrictEqual(out.slice(0, 3).map((r) => r.id), [1000, 1002, 1004])
      const byId = new Map(summary.nodes.map((n) => [n.id, n]))
      assert.strictEqual(byId.get("nums")!.recordsOut, 1000)
      assert.strictEqual(byId.get("even")!.recordsIn, 1000)
      assert.strictEqual(byId.get("even")!.recordsOut, 500)
      assert.strictEqual(byId.get("plus")!.recordsIn, 500)
      assert.strictEqual(byId.get("plus")!.recordsOut, 500)
      assert.strictEqual(byId.get("out")!.recordsIn, 500)
      assert.strictEqual(byId.get("out")!.recordsOut, 500)
    }).pipe(Effect.provide(registry)))

  it.effect("fuses consecutive stateless processors into one task", () =>
    Effect.gen(function*() {
      const prepared = yield* Runtime.prepare(linear(10))
      const plan = Runtime.plan(prepared)
      assert.deepStrictEqual(plan.chains, [["even", "plus"]])
      assert.deepStrictEqual(plan.tasks.map((t) => t.id), ["nums", "even", "out"])
    }).pipe(Effect.provide(registry)))

  it.effect("a throwing processor fails the run with a NodeError naming the node, and resources are released", () =>
    Effect.gen(function*() {
      const tracked = yield* makeTracked()
      const graph = WorkflowGraph.make({
        name: "boom",
        execution: { batch_size: 10 },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 100 }, inputs: [] },
          { kind: "processor", id: "plus", type: "add", config: { by: 0 }, inputs: ["nums"] },
          { kind: "processor", id: "bad", type: "explode", config: { at: 95 }, inputs: ["plus"] },
          { kind: "sink", id: "out", type: "tracked", config: {}, inputs: ["bad"] }
        ]
      })
      const exit = yield* Runtime.run(graph).pipe(
        Effect.provide(Registry.layer([...definitions, tracked.definition])),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        assert.isDefined(error)
        if (error?._tag === "Fail") {
          assert.instanceOf(error.error, NodeError)
          assert.strictEqual((error.error as NodeError).node, "bad")
          assert.include((error.error as NodeError).message, "boom at 95")
        }
      }
      assert.strictEqual(yield* Ref.get(tracked.opened), 1)
      assert.strictEqual(yield* Ref.get(tracked.closed), 1)
    }))

  it.effect("reports every definition problem at once, with suggestions", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "bad",
        nodes: [
          { kind: "source", id: "nums", type: "numbrs", config: { count: 1 }, inputs: [] },
          { kind: "processor", id: "plus", type: "add", config: { by: "x", extra: 1 }, inputs: ["numz"] },
          { kind: "processor", id: "a", type: "add", config: { by: 1 }, inputs: ["b"] },
          { kind: "processor", id: "b", type: "add", config: { by: 1 }, inputs: ["a"] },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "x" }, inputs: ["plus"] }
        ]
      })
      const error = yield* Effect.flip(Runtime.prepare(graph))
      assert.instanceOf(error, DefinitionError)
      const text = error.message
      assert.include(text, "nodes.nums.type: unknown source type 'numbrs' (did you mean 'numbers'?)")
      assert.include(text, "nodes.plus.inputs.0: unknown input 'numz' (did you mean 'nums'?)")
      assert.include(text, "nodes.plus.config.by: Expected number")
      assert.include(text, "nodes.plus.config.extra: Expected no excess property")
      assert.include(text, "the workflow has a cycle: a -> b -> a")
      assert.include(text, "nothing reads the output of source 'nums'")
    }).pipe(Effect.provide(registry)))

  it.effect("parallel processor instances deliver every record exactly once", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "par",
        execution: { batch_size: 7 },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 10_000 }, inputs: [], parallelism: 2 },
          { kind: "processor", id: "plus", type: "add", config: { by: 1 }, inputs: ["nums"], parallelism: 3 },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "par" }, inputs: ["plus"] }
        ]
      })
      yield* Runtime.run(graph)
      const ids = (collected("par") as Array<{ id: number }>).map((r) => r.id).sort((a, b) => a - b)
      assert.deepStrictEqual(ids, Array.from({ length: 10_000 }, (_, i) => i + 1))
    }).pipe(Effect.provide(registry)))

  it.effect("a stateless chain run in its source's fiber (same parallelism) delivers every record once and counts per node", () =>
    Effect.gen(function*() {
      // nums (2 instances) → even → plus (2 instances each): chained into the source fibers
      const graph = WorkflowGraph.make({
        name: "chained",
        execution: { batch_size: 9 },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 5_000 }, inputs: [], parallelism: 2 },
          { kind: "processor", id: "even", type: "keep_even", config: { field: "id" }, inputs: ["nums"], parallelism: 2 },
          { kind: "processor", id: "plus", type: "add", config: { by: 1 }, inputs: ["even"], parallelism: 2 },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "chained" }, inputs: ["plus"] }
        ]
      })
      const summary = yield* Runtime.run(graph)
      const ids = (collected("chained") as Array<{ id: number }>).map((r) => r.id).sort((a, b) => a - b)
      assert.deepStrictEqual(ids, Array.from({ length: 2_500 }, (_, i) => i * 2 + 1))
      const byId = new Map(summary.nodes.map((n) => [n.id, n]))
      assert.strictEqual(byId.get("nums")!.recordsOut, 5_000)
      assert.strictEqual(byId.get("even")!.recordsIn, 5_000)
      assert.strictEqual(byId.get("even")!.recordsOut, 2_500)
      assert.strictEqual(byId.get("plus")!.recordsOut, 2_500)
      assert.strictEqual(byId.get("out")!.recordsIn, 2_500)
      assert.strictEqual(byId.get("nums")!.batchesOut, byId.get("even")!.batchesIn)
    }).pipe(Effect.provide(registry)))

  it.effect("fan-out shares batches with every branch and fan-in merges them", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "fan",
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 100 }, inputs: [] },
          { kind: "processor", id: "even", type: "keep_even", config: { field: "id" }, inputs: ["nums"] },
          { kind: "processor", id: "plus", type: "add", config: { by: 1000 }, inputs: ["nums"] },
          { kind: "sink", id: "all", type: "collect_test", config: { name: "fan-all" }, inputs: ["even", "plus"] },
          { kind: "sink", id: "raw", type: "collect_test", config: { name: "fan-raw" }, inputs: ["nums"] }
        ]
      })
      yield* Runtime.run(graph)
      const all = (collected("fan-all") as Array<{ id: number }>).map((r) => r.id).sort((a, b) => a - b)
      const expected = [
        ...Array.from({ length: 50 }, (_, i) => i * 2),
        ...Array.from({ length: 100 }, (_, i) => i + 1000)
      ]
      assert.deepStrictEqual(all, expected)
      assert.strictEqual(collected("fan-raw").length, 100)
    }).pipe(Effect.provide(registry)))

  it.effect("node overrides swap connectors through a Layer without touching the workflow value", () =>
    Effect.gen(function*() {
      const written: Array<unknown> = []
      const records = [{ id: 2 }, { id: 3 }, { id: 4 }]
      const overrides = Overrides.layer({
        nums: readerSource("memory", () => {
          let done = false
          return () =>
            Effect.sync(() => {
              if (done) return undefined
              done = true
              return Batch.make(records)
            })
        }),
        out: writerSink("memory", (b) =>
          Effect.sync(() => {
            written.push(...Batch.toArray(b))
            return { written: Batch.size(b) }
          }))
      })
      yield* Runtime.run(linear(1_000_000)).pipe(Effect.provide(overrides))
      assert.deepStrictEqual(written, [{ id: 1002 }, { id: 1004 }])
    }).pipe(Effect.provide(registry)))
})

describe("Runtime.check", () => {
  it.effect("reports each connector's connection test as ok or with its error", () =>
    Effect.gen(function*() {
      const down = Connector.sink({
        type: "down",
        description: "a sink whose server is down",
        config: Schema.Struct({}),
        capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
        check: () =>
          Effect.fail(
            new ConnectorError({ connector: "down", operation: "check", reason: new ConnectionError({ message: "connection refused" }) })
          ),
        open: () => Effect.die("not opened by check")
      })
      const graph = WorkflowGraph.make({
        name: "checked",
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 1 }, inputs: [] },
          { kind: "sink", id: "out", type: "down", config: {}, inputs: ["nums"] }
        ]
      })
      const results = yield* Runtime.check(graph).pipe(Effect.provide(Registry.layer([...definitions, down])))
      assert.deepStrictEqual(
        results.map((r) => [r.node, r.kind, r.ok, r.error]),
        [["nums", "source", true, undefined], ["out", "sink", false, "down check: connection refused"]]
      )
    }))
})
