/**
 * Rescaling keyed state by key groups, and fingerprints (issue 12, item 4): a keyed windowed
 * aggregate stopped and resumed with parallelism 1 → 3 → 2 gives the output of an uninterrupted
 * run; every change the saved state cannot follow is refused before anything opens, saying what
 * changed and the way out; `dropState` starts one node over.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { RestoreError } from "../../src/Checkpoint.ts"
import * as Processor from "../../src/Processor.ts"
import { statefulDefinitions } from "../../src/processors/stateful.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions, ExactlyOnce, exactlyOnceStore, RunningCount } from "./support.ts"

/** `k`: one of 29 keys. */
const Spread = Processor.define({
  type: "spread",
  description: "adds k = id % 29",
  config: Schema.Struct({}),
  make: () => Processor.stateless({ _tag: "map", f: (r) => ({ ...(r as { id: number }), k: (r as { id: number }).id % 29 }) })
})

const registry = Registry.layer([...definitions, ExactlyOnce, Spread, RunningCount, ...statefulDefinitions])

const COUNT = 3000

const windowed = {
  group_by: ["k"],
  time_field: "id",
  window: { type: "tumbling", size: 200 },
  window_format: "epoch_ms",
  aggregates: { n: { op: "count" }, total: { op: "sum", field: "id" } }
}

const graph = (
  name: string,
  options: { readonly parallelism?: number; readonly config?: unknown; readonly id?: string; readonly type?: string; readonly keyGroups?: number } = {}
) =>
  WorkflowGraph.make({
    name,
    execution: { batch_size: 20, queue_capacity: 2, checkpoint_interval: "5ms", ...(options.keyGroups !== undefined ? { key_groups: options.keyGroups } : {}) },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count: COUNT, delay_ms: 1 }, inputs: [] },
      { kind: "processor", id: "spread", type: "spread", config: {}, inputs: ["nums"] },
      {
        kind: "processor",
        id: options.id ?? "agg",
        type: options.type ?? "aggregate",
        config: options.config ?? windowed,
        inputs: ["spread"],
        parallelism: options.parallelism ?? 1
      },
      { kind: "sink", id: "out", type: "exactly_once_test", config: { name }, inputs: [options.id ?? "agg"] }
    ]
  })

const sorted = (rows: ReadonlyArray<unknown>) => rows.map((r) => JSON.stringify(r)).sort()

/** Runs `name` stopped after 40 ms each time, with the parallelism of `steps` (the last one repeats) until it completes. */
const stopAndResume = (name: string, steps: ReadonlyArray<number>, backend: StateBackend.Backend, config: unknown = windowed) =>
  Effect.gen(function*() {
    const used: Array<number> = []
    for (let run = 0; ; run++) {
      const parallelism = steps[Math.min(run, steps.length - 1)]
      const summary = yield* Runtime.run(graph(name, { parallelism, config }), { stop: Effect.sleep(40) }).pipe(
        Effect.provideService(StateBackend.StateBackend, backend)
      )
      used.push(parallelism)
      if (summary.stopped === undefined) return used
      assert.isBelow(run, 300, "the stopped runs make no progress")
    }
  })

describe("rescaling keyed state", () => {
  it.live("a keyed windowed aggregate stopped and resumed at parallelism 1 → 3 → 2 equals an uninterrupted run", () =>
    Effect.gen(function*() {
      yield* Runtime.run(graph("rescale-whole")).pipe(Effect.provide(StateBackend.layerMemory))
      const expected = sorted(exactlyOnceStore("rescale-whole").committed)
      assert.strictEqual(expected.length, 29 * (COUNT / 200))
      const used = yield* stopAndResume("rescale-steps", [1, 3, 2], StateBackend.makeMemory())
      assert.includeMembers(used.slice(0, 3), [1, 3, 2], `the runs used parallelism ${used.join(", ")}`)
      assert.deepStrictEqual(sorted(exactlyOnceStore("rescale-steps").committed), expected)
    }).pipe(Effect.provide(registry)))

  it.live("an aggregate without a window and dedupe rescale 2 → 1 → 3 exactly", () =>
    Effect.gen(function*() {
      const totals = { group_by: ["k"], aggregates: { n: { op: "count" }, total: { op: "sum", field: "id" } } }
      for (const [tag, type, config] of [["totals", "aggregate", totals], ["dedupe", "dedupe", { key: ["k"] }]] as const) {
        yield* Runtime.run(graph(`rescale-${tag}-whole`, { type, config })).pipe(Effect.provide(StateBackend.layerMemory))
        const backend = StateBackend.makeMemory()
        for (let run = 0; ; run++) {
          const parallelism = [2, 1, 3][Math.min(run, 2)]
          const summary = yield* Runtime.run(graph(`rescale-${tag}`, { type, config, parallelism }), { stop: Effect.sleep(40) }).pipe(
            Effect.provideService(StateBackend.StateBackend, backend)
          )
          if (summary.stopped === undefined) break
        }
        assert.deepStrictEqual(sorted(exactlyOnceStore(`rescale-${tag}`).committed), sorted(exactlyOnceStore(`rescale-${tag}-whole`).committed))
      }
    }).pipe(Effect.provide(registry)))
})

describe("key groups bound a keyed node's parallelism", () => {
  it.effect("a keyed node with more instances than execution.key_groups is a definition error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Runtime.prepare(graph("too-many", { parallelism: 5, keyGroups: 4 })))
      assert.strictEqual(error._tag, "DefinitionError")
      assert.include(error.message, "a keyed node runs at most execution.key_groups (4) instances, got 5")
      yield* Runtime.prepare(graph("enough", { parallelism: 4, keyGroups: 4 }))
    }).pipe(Effect.provide(registry)))
})

describe("fingerprints: changes the saved state cannot follow are refused", () => {
  /** A first run stopped with some state saved, then `changed` run on the same backend. */
  const refusal = (name: string, changed: WorkflowGraph.WorkflowGraph, first: WorkflowGraph.WorkflowGraph = graph(name)) =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      const stopped = yield* Runtime.run(first, { stop: Effect.sleep(40) }).pipe(Effect.provideService(StateBackend.StateBackend, backend))
      assert.isDefined(stopped.stopped)
      const before = exactlyOnceStore(name).committed.length
      const error = yield* Effect.flip(Runtime.run(changed).pipe(Effect.provideService(StateBackend.StateBackend, backend)))
      assert.strictEqual(exactlyOnceStore(name).committed.length, before, "nothing was written")
      assert.instanceOf(error, RestoreError)
      return { error: error as RestoreError, backend }
    })

  it.live("group_by changed", () =>
    Effect.gen(function*() {
      const { error } = yield* refusal("fp-group", graph("fp-group", { config: { ...windowed, group_by: ["k", "group"] } }))
      assert.strictEqual(error.node, "agg")
      assert.include(error.message, `group_by: ["k"] → ["k","group"]`)
      assert.include(error.message, "--drop-state agg")
      assert.include(error.message, "--from-scratch")
    }).pipe(Effect.provide(registry)))

  it.live("window size changed", () =>
    Effect.gen(function*() {
      const { error } = yield* refusal("fp-window", graph("fp-window", { config: { ...windowed, window: { type: "tumbling", size: 300 } } }))
      assert.include(error.message, "window:")
      assert.include(error.message, `"size":200`)
    }).pipe(Effect.provide(registry)))

  it.live("an aggregate's operations changed", () =>
    Effect.gen(function*() {
      const config = { ...windowed, aggregates: { n: { op: "count" }, total: { op: "max", field: "id" } } }
      const { error } = yield* refusal("fp-ops", graph("fp-ops", { config }))
      assert.include(error.message, "aggregates:")
    }).pipe(Effect.provide(registry)))

  it.live("a stateful node renamed (its state has no node to go to)", () =>
    Effect.gen(function*() {
      const { error } = yield* refusal("fp-renamed", graph("fp-renamed", { id: "per_key" }))
      assert.strictEqual(error.node, "agg")
      assert.include(error.message, "which the workflow no longer has (renamed or removed?)")
      assert.include(error.message, "--drop-state agg")
    }).pipe(Effect.provide(registry)))

  it.live("execution.key_groups changed (with more than one instance)", () =>
    Effect.gen(function*() {
      const { error } = yield* refusal("fp-groups", graph("fp-groups", { keyGroups: 64, parallelism: 2 }))
      assert.include(error.message, "execution.key_groups changed from 128 to 64")
      // one instance before and after: every key stays where it is, the run resumes
      const backend = StateBackend.makeMemory()
      yield* Runtime.run(graph("fp-groups-one"), { stop: Effect.sleep(40) }).pipe(Effect.provideService(StateBackend.StateBackend, backend))
      const resumed = yield* Runtime.run(graph("fp-groups-one", { keyGroups: 64 })).pipe(Effect.provideService(StateBackend.StateBackend, backend))
      assert.isDefined(resumed.resumedFrom)
    }).pipe(Effect.provide(registry)))

  it.live("the parallelism of an operator that cannot tell its entries' keys", () =>
    Effect.gen(function*() {
      const { error } = yield* refusal(
        "fp-custom",
        graph("fp-custom", { type: "running_count", config: {}, parallelism: 3 }),
        graph("fp-custom", { type: "running_count", config: {}, parallelism: 2 })
      )
      assert.include(error.message, "its parallelism changed from 2 to 3")
      assert.include(error.message, "set its parallelism back to 2")
    }).pipe(Effect.provide(registry)))

  it.live("dropState starts the changed node over while the sources resume", () =>
    Effect.gen(function*() {
      const changed = graph("fp-drop", { config: { ...windowed, group_by: ["k", "group"] } })
      const { backend } = yield* refusal("fp-drop", changed)
      const summary = yield* Runtime.run(changed, { dropState: ["agg"] }).pipe(Effect.provideService(StateBackend.StateBackend, backend))
      assert.isDefined(summary.resumedFrom)
      assert.isBelow(summary.nodes.find((n) => n.id === "nums")!.recordsOut, COUNT, "the source resumed")
    }).pipe(Effect.provide(registry)))
})
