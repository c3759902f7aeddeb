import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as AdaptiveBatcher from "../../src/AdaptiveBatcher.ts"
import * as Batch from "../../src/Batch.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { readerSource, writerSink } from "./overrides.ts"
import { definitions } from "./support.ts"

describe("AdaptiveBatcher", () => {
  it("grows while latency is low and batches come full, halves when latency passes the target", () => {
    // many batches in flight: the throughput floor (rate × target / in flight) stays under min here
    const b = AdaptiveBatcher.make({ min: 10, max: 1000, latencyTargetMs: 20, lingerMs: 5, inFlightBatches: 100 })
    let now = 0
    for (let i = 0; i < 40; i++) b.observe({ records: b.size(), latencyMs: 2, now: (now += 10), full: true })
    assert.strictEqual(b.size(), 1000)
    b.observe({ records: 1000, latencyMs: 50, now: (now += 10), full: true })
    assert.strictEqual(b.size(), 500)
    // not full: no load to take, no growth
    for (let i = 0; i < 10; i++) b.observe({ records: 10, latencyMs: 1, now: (now += 10), full: false })
    assert.strictEqual(b.size(), 500)
    for (let i = 0; i < 20; i++) b.observe({ records: 10, latencyMs: 500, now: (now += 10), full: true })
    assert.strictEqual(b.size(), 10)
    const m = b.metrics()
    assert.strictEqual(m.observations, 71)
    assert.isAbove(m.rate, 0)
  })

  it("under a backlog, halving stops where the in-flight records drain within the target", () => {
    // The pipeline drains 500 records/ms; a backlog keeps batches full and the latency at 300 ms.
    const settings = { min: 16, max: 5000, latencyTargetMs: 20, lingerMs: 2, initial: 5000, inFlightBatches: 6 }
    const b = AdaptiveBatcher.make(settings)
    let now = 0
    const sizes: Array<number> = []
    for (let i = 0; i < 60; i++) {
      const records = b.size()
      now += records / 500
      b.observe({ records, latencyMs: 300, now, full: true })
      sizes.push(b.size())
    }
    // 500,000 records/s × 20 ms / 6 batches in flight ≈ 1,666: not the minimum of 16
    const floor = Math.floor((500_000 * 0.02) / 6)
    assert.isAtLeast(Math.min(...sizes.slice(10)), floor - 20)
    assert.isAtMost(b.size(), 5000)
    assert.isBelow(b.size(), 5000)
    // without the floor (nothing acknowledged yet), one bad observation halves
    const fresh = AdaptiveBatcher.make(settings)
    fresh.observe({ records: 5000, latencyMs: 300, now: 1, full: true })
    assert.strictEqual(fresh.size(), 2500)
    // once the backlog has drained (latency under the target, batches full), it grows again
    for (let i = 0; i < 30; i++) {
      const records = b.size()
      now += records / 500
      b.observe({ records, latencyMs: 3, now, full: true })
    }
    assert.strictEqual(b.size(), 5000)
  })
})

/**
 * A source with endless load (it returns as many records as asked) and a sink whose write time
 * grows with the batch size: under TestClock the batch size must converge up from its minimum,
 * settle where the latency meets the target, and come down when the sink slows.
 */
describe("adaptive batching in the runtime", () => {
  it.effect("converges up under load and down when latency rises (TestClock)", () =>
    Effect.gen(function*() {
      let costPerRecordMs = 0.05
      let produced = 0
      const sizes: Array<number> = []
      const overrides = Overrides.layer({
        src: readerSource("endless", () => (max) =>
          Effect.sync(() => {
            if (produced >= 400_000) return undefined
            sizes.push(max)
            const records = Array.from({ length: max }, (_, i) => ({ id: produced + i }))
            produced += max
            return Batch.make(records)
          })),
        out: writerSink("timed", (b) => Effect.as(Effect.sleep(Math.ceil(Batch.size(b) * costPerRecordMs)), { written: Batch.size(b) }))
      })
      const graph = WorkflowGraph.make({
        name: "adaptive",
        execution: {
          batch_size: 16,
          queue_capacity: 1,
          batching: { adaptive: true, min: 16, max: 4000, latency_target: "20ms", linger: "5ms" }
        },
        nodes: [
          { kind: "source", id: "src", type: "numbers", config: { count: 0 }, inputs: [] },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "adaptive" }, inputs: ["src"] }
        ]
      })
      const fiber = yield* Effect.forkChild(
        Runtime.run(graph).pipe(Effect.provide(overrides), Effect.provide(Registry.layer(definitions)))
      )
      const step = Effect.gen(function*() {
        yield* TestClock.adjust(1)
        yield* Effect.yieldNow
      })
      // phase 1: cheap sink
      while (sizes.length < 150) yield* step
      const phase1 = sizes.slice(100, 150)
      // phase 2: the sink gets 4x slower
      costPerRecordMs = 0.2
      const mark = sizes.length
      while (sizes.length < mark + 150 && fiber.pollUnsafe() === undefined) yield* step
      const phase2 = sizes.slice(mark + 100, mark + 150)
      costPerRecordMs = 0
      while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust(10)
      const summary = yield* Fiber.join(fiber)
      const avg = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
      console.log(`adaptive batch size: start 16, under load ${avg(phase1).toFixed(0)}, after the sink slowed ${avg(phase2).toFixed(0)}`)
      // up from 16: latency at 0.05 ms/record meets 20 ms near a few hundred records
      assert.isAbove(avg(phase1), 100)
      // down when the sink slows: the size falls (to about a quarter)
      assert.isBelow(avg(phase2), avg(phase1) * 0.6)
      assert.isAbove(avg(phase2), 16)
      assert.strictEqual(summary.batching.src.observations > 200, true)
    }))
})
