/**
 * A streaming source with nothing to read (issue 14): the runtime backs off instead of polling
 * `readBatch` in a hot loop (it was called ~215,000 times a second), and reads at full speed again
 * as soon as data comes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Connector from "../../src/Connector.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { Collect, collected } from "./support.ts"

const calls = { empty: 0 }
let release = false

/** Unbounded: empty batches until `release`, then 10 batches of 100 records, then empty again. */
const Quiet = Connector.source({
  type: "quiet",
  description: "nothing to read, then a burst",
  config: Schema.Struct({}),
  capabilities: () => ({ seekable: true, unbounded: true }),
  check: () => Effect.void,
  open: (_, ctx) =>
    Effect.sync(() => {
      let next = 0
      return {
        readBatch: () =>
          Effect.sync(() => {
            if (!release || next >= 1000) {
              calls.empty += 1
              return Batch.make([], { origin: { source: ctx.node, position: next } })
            }
            const records = Array.from({ length: 100 }, (_, i) => ({ id: next + i }))
            next += 100
            return Batch.make(records, { origin: { source: ctx.node, position: next } })
          }),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
    })
})

describe("idle streaming sources", () => {
  it.live("empty reads back off to a few ms apart; data is read at once when it comes", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "idle",
        nodes: [
          { kind: "source", id: "quiet", type: "quiet", config: {}, inputs: [] },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "idle" }, inputs: ["quiet"] }
        ]
      })
      const stop = Effect.gen(function*() {
        yield* Effect.sleep(300)
        const idle = calls.empty
        release = true
        // the burst is read although the source was backing off
        yield* Effect.sleep(10).pipe(Effect.repeat({ until: () => collected("idle").length >= 1000 }))
        return idle
      })
      let idleCalls = 0
      yield* Runtime.run(graph, { stop: Effect.map(stop, (n) => void (idleCalls = n)) }).pipe(
        Effect.provide(StateBackend.layerMemory),
        Effect.provide(Registry.layer([Quiet, Collect]))
      )
      // 300 ms of nothing: a hot loop made tens of thousands of calls; backing off to ≤ 5 ms makes ~70
      assert.isAbove(idleCalls, 8)
      assert.isBelow(idleCalls, 500, `${idleCalls} empty reads in 300 ms`)
      assert.strictEqual(collected("idle").length, 1000)
    }))
})
