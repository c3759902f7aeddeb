import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Builtins from "../../src/Builtins.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions, RunningCount } from "./support.ts"

const graph = WorkflowGraph.make({
  name: "shown",
  nodes: [
    { kind: "source", id: "nums", type: "numbers", config: { count: 1 }, inputs: [] },
    { kind: "processor", id: "even", type: "keep_even", config: { field: "id" }, inputs: ["nums"] },
    { kind: "processor", id: "plus", type: "add", config: { by: 1 }, inputs: ["even"] },
    { kind: "processor", id: "count", type: "running_count", config: {}, inputs: ["plus"], parallelism: 2 },
    { kind: "sink", id: "out", type: "collect_test", config: { name: "x" }, inputs: ["count"] },
    { kind: "sink", id: "late", type: "collect_test", config: { name: "y" }, inputs: ["count.late"] }
  ]
})

describe("PlanFormat", () => {
  it.effect("text shows stages, fused chains, parallelism, keyed routing and the guarantee", () =>
    Effect.gen(function*() {
      const plan = Runtime.plan(yield* Runtime.prepare(graph))
      assert.strictEqual(
        PlanFormat.text(plan),
        [
          "workflow shown: 6 nodes, 5 tasks, batch size 1000",
          "guarantee: at-least-once",
          "stage 0:",
          "  source: nums (numbers), parallelism 1",
          "stage 1:",
          "  fused: even (keep_even) → plus (add), parallelism 1, reads nums, runs in the fiber of nums (no queue)",
          "stage 2:",
          "  stateful: count (running_count), parallelism 2, keyed, reads plus, queue 4 batches per instance",
          "stage 3:",
          "  sink: out (collect_test), parallelism 1, reads count, queue 4 batches, at-least-once",
          "  sink: late (collect_test), parallelism 1, reads count.late, queue 4 batches, at-least-once",
          "fused chains (one task, one loop per batch):",
          "  even → plus"
        ].join("\n")
      )
    }).pipe(Effect.provide(Registry.layer([...definitions, RunningCount]))))

  it.effect("text says which tasks run in their source's fiber: a chained stateless task and an inline sink", () =>
    Effect.gen(function*() {
      const inline = WorkflowGraph.make({
        name: "inline",
        nodes: [
          { kind: "source", id: "src", type: "memory", config: { records: [{ id: 1 }] }, inputs: [] },
          { kind: "processor", id: "f", type: "filter", config: { condition: "id > 0" }, inputs: ["src"] },
          { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["f"] }
        ]
      })
      const text = PlanFormat.text(Runtime.plan(yield* Runtime.prepare(inline)))
      assert.include(text, "  stateless: f (filter), parallelism 1, reads src, runs in the fiber of src (no queue)")
      assert.include(text, "  sink: out (collect), parallelism 1, reads f, runs in the fiber of src (no queue), at-least-once")
    }).pipe(Effect.provide(Builtins.layer)))

  it.effect("mermaid and dot name every task and edge, with side-output labels", () =>
    Effect.gen(function*() {
      const plan = Runtime.plan(yield* Runtime.prepare(graph))
      const m = PlanFormat.mermaid(plan)
      assert.include(m, "flowchart LR")
      assert.include(m, `n_count["count (running_count) ×2"]`)
      assert.include(m, "n_count -- late --> n_late")
      assert.include(m, "n_nums --> n_even")
      const d = PlanFormat.dot(plan)
      assert.include(d, `n_count -> n_late [label="late"];`)
      assert.include(d, `n_even [label="even (keep_even) → plus (add)", shape=box];`)
    }).pipe(Effect.provide(Registry.layer([...definitions, RunningCount]))))
})
