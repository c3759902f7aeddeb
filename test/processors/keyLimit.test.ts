/**
 * `max_keys` on `dedupe` and `aggregate` (issue 21, resource limits): a state that would hold one
 * key (or pane) more than the limit fails the run, naming the node, the limit and the record —
 * nothing is evicted, so no duplicate passes and no partial aggregate is emitted; within the
 * limit (keys expiring with their window) the run is unchanged.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import { RecordError } from "../../src/Errors.ts"
import * as Aggregate from "../../src/processors/aggregate.ts"
import * as Dedupe from "../../src/processors/dedupe.ts"
import * as Stateful from "../../src/processors/stateful.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { Collect, collected, Numbers } from "../runtime/support.ts"

const registry = Registry.layer([Numbers, Collect, ...Stateful.statefulDefinitions])

const graph = (type: string, config: object, count: number, sink: string, parallelism = 1) =>
  WorkflowGraph.make({
    name: "keys",
    execution: { batch_size: 7 },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count }, inputs: [] },
      { kind: "processor", id: "limited", type, config, inputs: ["nums"], parallelism },
      { kind: "sink", id: "out", type: "collect_test", config: { name: sink }, inputs: ["limited"] }
    ]
  })

/** The error a run fails with (the test fails when it succeeds). */
const failureOf = (g: WorkflowGraph.WorkflowGraph) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Runtime.run(g).pipe(Effect.provide(registry)))
    assert.isTrue(Exit.isFailure(exit), "the run should fail")
    return Exit.isFailure(exit) ? exit.cause : undefined
  })

describe("max_keys", () => {
  it.effect("dedupe over all time: the key after max_keys fails the run naming the node, the limit and the record", () =>
    Effect.gen(function*() {
      const cause = yield* failureOf(graph("dedupe", { key: ["id"], max_keys: 50 }, 200, "keys-dd-fail"))
      const text = String(cause)
      assert.include(text, "node 'limited' failed")
      assert.include(text, "dedupe: this record's key would be one more than max_keys (50)")
      // within the limit: the same output as without it
      yield* Runtime.run(graph("dedupe", { key: ["group"], max_keys: 3 }, 200, "keys-dd-ok")).pipe(Effect.provide(registry))
      assert.deepStrictEqual(collected("keys-dd-ok"), [{ id: 0, group: 0 }, { id: 1, group: 1 }, { id: 2, group: 2 }])
    }))

  it.effect("aggregate: groups beyond max_keys fail the run; within it the totals are exact", () =>
    Effect.gen(function*() {
      const agg = { group_by: ["id"], aggregates: { n: { op: "count" } } }
      const text = String(yield* failureOf(graph("aggregate", { ...agg, max_keys: 10 }, 100, "keys-agg-fail")))
      assert.include(text, "node 'limited' failed")
      assert.include(text, "aggregate: this record's key would be one more than max_keys (10)")
      yield* Runtime.run(graph("aggregate", { group_by: ["group"], aggregates: { n: { op: "count" } }, max_keys: 3 }, 99, "keys-agg-ok"))
        .pipe(Effect.provide(registry))
      assert.sameDeepMembers(collected("keys-agg-ok") as Array<unknown>, [{ group: 0, n: 33 }, { group: 1, n: 33 }, { group: 2, n: 33 }])
    }))

  it("windowed state counts live keys only: expired keys and fired panes make room", () => {
    const dd = Dedupe.processor(Schema.decodeUnknownSync(Dedupe.DedupeConfig)({ key: ["id"], time_field: "t", window: "10ms", max_keys: 2 }))
    const op = dd.make({ node: "dd", instance: 0 })
    // ids 0..99, one per ms: with 10 ms windows about 20 keys are live at once, over 2: refused
    assert.throws(() => op.onBatch(Batch.make(Array.from({ length: 100 }, (_, i) => ({ id: i, t: i })))), RecordError)
    const ok = dd.make({ node: "dd", instance: 0 })
    // two keys per 100 ms: each key expires long before the next arrives
    const records = Array.from({ length: 50 }, (_, i) => ({ id: i % 2 === 0 ? `a${i}` : `b${i}`, t: Math.floor(i / 2) * 100 }))
    const out = records.flatMap((r) => ok.onBatch(Batch.make([r])).records)
    assert.strictEqual(out.length, 50)
    const agg = Aggregate.processor(Schema.decodeUnknownSync(Aggregate.AggregateConfig)({
      group_by: ["g"],
      time_field: "t",
      window: { type: "tumbling", size: "10ms" },
      max_keys: 2,
      aggregates: { n: { op: "count" } }
    }))
    const a = agg.make({ node: "agg", instance: 0 })
    // one group per window: a window fires when the next one opens, so at most 2 panes are held
    const fired = Array.from({ length: 30 }, (_, i) => a.onBatch(Batch.make([{ g: "x", t: i * 10 }])).records).flat()
    assert.strictEqual(fired.length, 29)
    // three groups in one window: over 2
    const b = agg.make({ node: "agg", instance: 0 })
    assert.throws(() => b.onBatch(Batch.make([{ g: "x", t: 1 }, { g: "y", t: 2 }, { g: "z", t: 3 }])), RecordError)
  })
})
