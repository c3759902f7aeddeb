/**
 * Graceful stop (issue 12, item 1): a stop checkpoints every operator's state as it is — no window
 * fires, no whole-input aggregate emits its totals — and a resumed run gives exactly the output of
 * a run that was never stopped. A drain is the explicit alternative: the inputs end, and the run
 * completes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import { statefulDefinitions } from "../../src/processors/stateful.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions, ExactlyOnce, exactlyOnceStore } from "./support.ts"

const registry = Registry.layer([...definitions, ExactlyOnce, ...statefulDefinitions])

const COUNT = 3000

/** numbers (id = event time in ms, group = id % 3) → a stateful node → an exactly-once sink */
const graph = (name: string, processor: { readonly type: string; readonly config: unknown }, parallelism = 1) =>
  WorkflowGraph.make({
    name,
    execution: { batch_size: 20, queue_capacity: 2, checkpoint_interval: "5ms" },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count: COUNT, delay_ms: 1 }, inputs: [] },
      { kind: "processor", id: "state", type: processor.type, config: processor.config, inputs: ["nums"], parallelism },
      { kind: "sink", id: "out", type: "exactly_once_test", config: { name }, inputs: ["state"] }
    ]
  })

const sorted = (rows: ReadonlyArray<unknown>) => rows.map((r) => JSON.stringify(r)).sort()

const cases: ReadonlyArray<readonly [string, { readonly type: string; readonly config: unknown }]> = [
  ["an aggregate without a window", {
    type: "aggregate",
    config: { group_by: ["group"], aggregates: { n: { op: "count" }, total: { op: "sum", field: "id" } } }
  }],
  ["a tumbling window", {
    type: "aggregate",
    config: {
      group_by: ["group"],
      time_field: "id",
      window: { type: "tumbling", size: 250 },
      window_format: "epoch_ms",
      aggregates: { n: { op: "count" }, total: { op: "sum", field: "id" } }
    }
  }],
  ["a sliding window", {
    type: "aggregate",
    config: {
      group_by: ["group"],
      time_field: "id",
      window: { type: "sliding", size: 300, slide: 100 },
      window_format: "epoch_ms",
      aggregates: { n: { op: "count" } }
    }
  }],
  ["dedupe", { type: "dedupe", config: { key: ["group"] } }]
]

describe("graceful stop", () => {
  for (const [what, processor] of cases) {
    it.live(`${what}: stop, resume, and the output equals an uninterrupted run`, () =>
      Effect.gen(function*() {
        const tag = what.replace(/\W+/g, "-")
        yield* Runtime.run(graph(`whole-${tag}`, processor)).pipe(Effect.provide(StateBackend.layerMemory))
        const expected = sorted(exactlyOnceStore(`whole-${tag}`).committed)

        const backend = StateBackend.makeMemory()
        let stops = 0
        let runs = 0
        // stop each attempt once some checkpoints are in, until a run completes
        while (true) {
          runs += 1
          const summary = yield* Runtime.run(graph(`stopped-${tag}`, processor), { stop: Effect.sleep(40) }).pipe(Effect.provideService(StateBackend.StateBackend, backend))
          if (summary.stopped === undefined) break
          stops += 1
          assert.isBelow(runs, 200, "the stopped runs make no progress")
        }
        assert.isAbove(stops, 0, "no run was stopped mid-way")
        assert.deepStrictEqual(sorted(exactlyOnceStore(`stopped-${tag}`).committed), expected)
      }).pipe(Effect.provide(registry)))
  }

  it.live("a stop does not fire windows or emit whole-input totals: the stop checkpoint holds them", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      const summary = yield* Runtime.run(graph("no-totals", cases[0][1]), { stop: Effect.sleep(40) }).pipe(
        Effect.provideService(StateBackend.StateBackend, backend)
      )
      assert.isDefined(summary.stopped)
      // an aggregate without a window emits only at the end of its input: nothing yet
      assert.deepStrictEqual(exactlyOnceStore("no-totals").committed, [])
      const restored = yield* backend.latest("no-totals")
      assert.isFalse(restored!.final)
      const state = [...restored!.operators.values()].flatMap((o) => o.entries)
      assert.isAbove(state.length, 0, "the partial totals are in the checkpoint")
    }).pipe(Effect.provide(registry)))

  it.live("drain: the inputs end, operators emit what they hold, and the run completes", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      const summary = yield* Runtime.run(graph("drained", cases[0][1]), { stop: Effect.sleep(40), drain: true }).pipe(
        Effect.provideService(StateBackend.StateBackend, backend)
      )
      assert.isUndefined(summary.stopped)
      const read = summary.nodes.find((n) => n.id === "nums")!.recordsOut
      assert.isBelow(read, COUNT)
      const rows = exactlyOnceStore("drained").committed as ReadonlyArray<{ readonly n: number }>
      assert.strictEqual(rows.reduce((s, r) => s + r.n, 0), read)
      assert.isTrue((yield* backend.latest("drained"))!.final)
    }).pipe(Effect.provide(registry)))
})
