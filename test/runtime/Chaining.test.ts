import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Connector from "../../src/Connector.ts"
import { clearCollected, collected } from "../../src/connectors/memory/CollectSink.ts"
import { NodeError } from "../../src/Errors.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

const builtins = Layer.merge(Registry.layer(Builtins.definitions), StateBackend.layerMemory)

const planOf = (graph: WorkflowGraph.WorkflowGraph) =>
  Effect.map(Runtime.prepare(graph), Runtime.plan).pipe(Effect.provide(builtins))

const records = Array.from({ length: 2_000 }, (_, i) => ({ id: i, amount: i % 100 }))

describe("sink chaining", () => {
  it.effect("an inline sink runs in its source's fiber; other sinks, fan-out and a changed parallelism keep their queue", () =>
    Effect.gen(function*() {
      const chained = (nodes: ReadonlyArray<WorkflowGraph.Node>) =>
        Effect.map(planOf(WorkflowGraph.make({ name: "chain", nodes })), (plan) => plan.tasks.filter((t) => t.runsIn !== undefined).map((t) => t.id).sort())
      const src = { kind: "source", id: "src", type: "memory", config: { records }, inputs: [] } as const
      const keep = { kind: "processor", id: "keep", type: "filter", config: { condition: "amount >= 50" }, inputs: ["src"] } as const
      // collect is inline: chained after the chained filter
      assert.deepStrictEqual(
        yield* chained([src, keep, { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["keep"] }]),
        ["keep", "out"]
      )
      // straight after the source
      assert.deepStrictEqual(yield* chained([src, { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["src"] }]), ["out"])
      // ndjson waits on the disk: it keeps its own fiber
      assert.deepStrictEqual(
        yield* chained([src, keep, { kind: "sink", id: "out", type: "ndjson", config: { path: "/dev/null" }, inputs: ["keep"] }]),
        ["keep"]
      )
      // two consumers of the filter: neither sink is chained
      assert.deepStrictEqual(
        yield* chained([
          src,
          keep,
          { kind: "sink", id: "a", type: "collect", config: {}, inputs: ["keep"] },
          { kind: "sink", id: "b", type: "collect", config: {}, inputs: ["keep"] }
        ]),
        ["keep"]
      )
      // a sink with another parallelism than its producer
      assert.deepStrictEqual(
        yield* chained([src, keep, { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["keep"], parallelism: 2 }]),
        ["keep"]
      )
    }))

  it.live("a chained sink gets the same records, counts and checkpoints as one behind a queue", () =>
    Effect.gen(function*() {
      clearCollected()
      const graph = (name: string, parallelism: number) =>
        WorkflowGraph.make({
          name,
          execution: { batch_size: 7, checkpoint_interval: "1ms" },
          nodes: [
            { kind: "source", id: "src", type: "memory", config: { records }, inputs: [] },
            { kind: "processor", id: "keep", type: "filter", config: { condition: "amount >= 50" }, inputs: ["src"] },
            // parallelism 2 on the sink alone: not chainable, so it runs behind a queue
            { kind: "sink", id: "out", type: "collect", config: { name, guarantee: "exactly-once" }, inputs: ["keep"], parallelism }
          ]
        })
      const inline = yield* Runtime.run(graph("chained", 1)).pipe(Effect.provide(builtins))
      const queued = yield* Runtime.run(graph("queued", 2)).pipe(Effect.provide(builtins))
      const ids = (name: string) => (collected(name) as Array<{ id: number }>).map((r) => r.id).sort((a, b) => a - b)
      const expected = records.filter((r) => r.amount >= 50).map((r) => r.id)
      assert.deepStrictEqual(ids("chained"), expected)
      assert.deepStrictEqual(ids("queued"), expected)
      const counts = (s: Runtime.RunSummary) => s.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut])
      assert.deepStrictEqual(counts(inline), counts(queued))
    }))
})

/** A source over `batches` whose synchronous path answers only for even batch numbers. */
const halfSync = (batches: ReadonlyArray<ReadonlyArray<{ readonly id: number }>>, failAt?: number) => {
  let i = 0
  const read = () => (i < batches.length ? Batch.make(batches[i++]) : undefined)
  return {
    _tag: "PreparedSource" as const,
    type: "half_sync",
    capabilities: { seekable: false, unbounded: false },
    check: Effect.void,
    open: () =>
      Effect.succeed({
        readBatch: () => Effect.sync(read),
        readBatchSync: () => {
          if (i === failAt) throw new Error(`cannot read batch ${i}`)
          return i % 2 === 0 ? read() : Connector.Pending
        },
        position: Effect.sync(() => i),
        seek: () => Effect.void,
        commit: () => Effect.void
      })
  }
}

describe("synchronous fast paths", () => {
  const batches = Array.from({ length: 50 }, (_, b) => Array.from({ length: 10 }, (_, k) => ({ id: b * 10 + k })))
  const graph = WorkflowGraph.make({
    name: "fast-paths",
    nodes: [
      { kind: "source", id: "src", type: "memory", config: { records: [] }, inputs: [] },
      { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["src"] }
    ]
  })

  for (const inline of [true, false]) {
    it.effect(`readBatchSync and writeBatchSync fall back to their Effects when they answer Pending (sink ${inline ? "chained" : "behind a queue"})`, () =>
      Effect.gen(function*() {
        const written: Array<number> = []
        const viaEffect: Array<number> = []
        let calls = 0
        const overrides = Overrides.layer({
          src: halfSync(batches),
          out: {
            _tag: "PreparedSink",
            type: "half_sync_sink",
            capabilities: { guarantee: "at-least-once", transactional: false, inline },
            check: Effect.void,
            open: () =>
              Effect.succeed({
                writeBatch: (b: Batch.Batch<unknown>) =>
                  Effect.sync(() => {
                    Batch.forEach(b, (r) => viaEffect.push((r as { id: number }).id))
                    Batch.forEach(b, (r) => written.push((r as { id: number }).id))
                    return { written: Batch.size(b) }
                  }),
                writeBatchSync: (b: Batch.Batch<unknown>) => {
                  if (calls++ % 3 === 0) return Connector.Pending
                  Batch.forEach(b, (r) => written.push((r as { id: number }).id))
                  return { written: Batch.size(b) }
                },
                flush: Effect.void
              })
          }
        })
        const summary = yield* Runtime.run(graph).pipe(Effect.provide(overrides), Effect.provide(builtins))
        // every record once, in order, through both paths
        assert.deepStrictEqual(written, batches.flat().map((r) => r.id))
        assert.isAbove(viaEffect.length, 0)
        assert.isBelow(viaEffect.length, written.length)
        assert.strictEqual(summary.nodes.find((n) => n.id === "out")?.recordsOut, 500)
      }))
  }

  it.live("a pipeline that never waits (synchronous reads, an inline sink) still lets other fibers run", () =>
    Effect.gen(function*() {
      let ticks = 0
      let ticksWhileRunning = 0
      let read = 0
      const many = Array.from({ length: 2_000 }, (_, b) => [{ id: b }])
      const overrides = Overrides.layer({
        src: {
          _tag: "PreparedSource",
          type: "sync_only",
          capabilities: { seekable: false, unbounded: false },
          check: Effect.void,
          open: () =>
            Effect.succeed({
              readBatch: () => Effect.die("the synchronous path answers every read"),
              readBatchSync: () => {
                if (read > 0 && read < many.length) ticksWhileRunning = ticks
                return read < many.length ? Batch.make(many[read++]) : undefined
              },
              position: Effect.sync(() => read),
              seek: () => Effect.void,
              commit: () => Effect.void
            })
        }
      })
      const ticker = yield* Effect.forkChild(Effect.forever(Effect.andThen(Effect.sync(() => ticks++), Effect.yieldNow)))
      const summary = yield* Runtime.run(graph).pipe(Effect.provide(overrides), Effect.provide(builtins))
      yield* Fiber.interrupt(ticker)
      assert.strictEqual(summary.nodes.find((n) => n.id === "out")?.recordsOut, 2_000)
      // the other fiber ran between the pipeline's batches, not only before and after the run
      assert.isAbove(ticksWhileRunning, 10)
    }))

  it.effect("a synchronous read that throws fails the run with an error naming the source", () =>
    Effect.gen(function*() {
      const overrides = Overrides.layer({ src: halfSync(batches, 4) })
      const error = yield* Effect.flip(Runtime.run(graph).pipe(Effect.provide(overrides), Effect.provide(builtins)))
      assert.instanceOf(error, NodeError)
      assert.strictEqual((error as NodeError).node, "src")
      assert.match(String((error as NodeError).cause), /cannot read batch 4/)
    }))
})
