import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Processor from "../../src/Processor.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { collected, definitions, RunningCount } from "./support.ts"

/** A batch processor with a delay that depends on the batch, to reorder completions. */
const Jitter = Processor.define({
  type: "jitter",
  description: "sleeps a little per batch",
  config: Schema.Struct({}),
  make: () => ({
    _tag: "Batch",
    process: (batch) => Effect.as(Effect.sleep(((Batch.get(batch, 0) as { id: number }).id * 7919) % 5), Batch.toArray(batch))
  })
})

const registry = Registry.layer([...definitions, RunningCount, Jitter])

describe("keyed and ordered parallelism", () => {
  it.effect("key_by routing: every record of a key meets one instance, in input order; side outputs reach their readers", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "keyed",
        execution: { batch_size: 16 },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 3000 }, inputs: [] },
          { kind: "processor", id: "count", type: "running_count", config: { late_after: 2899 }, inputs: ["nums"], parallelism: 3 },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "keyed" }, inputs: ["count"] },
          { kind: "sink", id: "late", type: "collect_test", config: { name: "keyed-late" }, inputs: ["count.late"] }
        ]
      })
      yield* Runtime.run(graph)
      const out = collected("keyed") as Array<{ group: number; n?: number; instance?: number; id?: number; final?: number }>
      const running = out.filter((r) => r.n !== undefined)
      assert.strictEqual(running.length, 2900)
      for (const group of [0, 1, 2]) {
        const rows = running.filter((r) => r.group === group)
        assert.strictEqual(new Set(rows.map((r) => r.instance)).size, 1, `group ${group} on one instance`)
        assert.deepStrictEqual(rows.map((r) => r.n), rows.map((_, i) => i + 1), `group ${group} in order`)
        assert.deepStrictEqual(rows.map((r) => r.id), rows.map((r) => r.id).sort((a, b) => a! - b!))
      }
      const finals = out.filter((r) => r.final !== undefined).sort((a, b) => a.group - b.group)
      const expected = [0, 1, 2].map((g) => ({ group: g, final: Array.from({ length: 2900 }, (_, i) => i).filter((i) => i % 3 === g).length }))
      assert.deepStrictEqual(finals, expected)
      const late = (collected("keyed-late") as Array<{ id: number }>).map((r) => r.id).sort((a, b) => a - b)
      assert.deepStrictEqual(late, Array.from({ length: 100 }, (_, i) => 2900 + i))
    }).pipe(Effect.provide(registry)))

  it.live("ordered: true keeps input order across parallel instances; unordered delivers the same records", () =>
    Effect.gen(function*() {
      const graph = (ordered: boolean, name: string) =>
        WorkflowGraph.make({
          name,
          execution: { batch_size: 10 },
          nodes: [
            { kind: "source", id: "nums", type: "numbers", config: { count: 600 }, inputs: [] },
            { kind: "processor", id: "j", type: "jitter", config: {}, inputs: ["nums"], parallelism: 4, ordered },
            { kind: "sink", id: "out", type: "collect_test", config: { name }, inputs: ["j"] }
          ]
        })
      yield* Runtime.run(graph(true, "ordered"))
      const ordered = (collected("ordered") as Array<{ id: number }>).map((r) => r.id)
      assert.deepStrictEqual(ordered, Array.from({ length: 600 }, (_, i) => i))
      yield* Runtime.run(graph(false, "unordered"))
      const unordered = (collected("unordered") as Array<{ id: number }>).map((r) => r.id)
      assert.deepStrictEqual([...unordered].sort((a, b) => a - b), ordered)
    }).pipe(Effect.provide(registry)))

  it.effect("the plan has stages, fused chains, and the weakest sink guarantee", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "stages",
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 1 }, inputs: [] },
          { kind: "processor", id: "a", type: "add", config: { by: 1 }, inputs: ["nums"] },
          { kind: "processor", id: "b", type: "add", config: { by: 1 }, inputs: ["a"] },
          { kind: "processor", id: "c", type: "running_count", config: {}, inputs: ["b"] },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "stages" }, inputs: ["c"] }
        ]
      })
      const plan = Runtime.plan(yield* Runtime.prepare(graph))
      assert.deepStrictEqual(plan.stages, [["nums"], ["a"], ["c"], ["out"]])
      assert.deepStrictEqual(plan.chains, [["a", "b"]])
      assert.strictEqual(plan.guarantee, "at-least-once")
    }).pipe(Effect.provide(registry)))
})
