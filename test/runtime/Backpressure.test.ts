import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { readerSource, writerSink } from "./overrides.ts"
import { definitions } from "./support.ts"

/**
 * A fast source and a deliberately slow sink: the records read but not yet written must stay
 * under (sum of queue capacities + number of tasks) × batch size, whatever the input size.
 */
const measure = (count: number, batchSize: number, capacity: number) =>
  Effect.gen(function*() {
    let read = 0
    let written = 0
    let maxInFlight = 0
    const overrides = Overrides.layer({
      src: readerSource("counting", () => (max) =>
        Effect.sync(() => {
          if (read >= count) return undefined
          const n = Math.min(max, count - read)
          const records = Array.from({ length: n }, (_, i) => ({ id: read + i }))
          read += n
          maxInFlight = Math.max(maxInFlight, read - written)
          return Batch.make(records)
        })),
      slow: writerSink("slow", (b) =>
        Effect.gen(function*() {
          yield* Effect.sleep(1)
          written += Batch.size(b)
          return { written: Batch.size(b) }
        }))
    })
    const graph = WorkflowGraph.make({
      name: "backpressure",
      execution: { batch_size: batchSize, queue_capacity: capacity },
      nodes: [
        { kind: "source", id: "src", type: "numbers", config: { count: 0 }, inputs: [] },
        { kind: "processor", id: "plus", type: "add", config: { by: 1 }, inputs: ["src"] },
        { kind: "sink", id: "slow", type: "collect_test", config: { name: "bp" }, inputs: ["plus"] }
      ]
    })
    yield* Runtime.run(graph).pipe(Effect.provide(overrides))
    assert.strictEqual(written, count)
    return maxInFlight
  }).pipe(Effect.provide(Registry.layer(definitions)))

describe("backpressure", () => {
  it.live("records in flight stay under queue capacities × batch size, whatever the input size", () =>
    Effect.gen(function*() {
      const batchSize = 50
      const capacity = 2
      const queues = 2 // before the processor and before the sink
      const tasks = 3 // each may hold one batch while it waits to hand it on
      const bound = (queues * capacity + tasks) * batchSize
      const small = yield* measure(2_000, batchSize, capacity)
      const large = yield* measure(40_000, batchSize, capacity)
      assert.isAtMost(small, bound)
      assert.isAtMost(large, bound)
      // the bound is reached (the sink is the bottleneck), not just respected by a trickle
      assert.isAbove(large, 2 * batchSize)
    }))
})
