/**
 * `.deadLetter` end to end: a pipeline and a workflow built with the DSL run, their failed records
 * reach the dead-letter sink as envelopes (typed `DeadLetterEnvelope`, read back from a typed
 * `Memory.list`), the other records go on; and the DSL graph equals the YAML graph of the same
 * workflow with `dead_letter: { to }`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

interface Order {
  readonly id: number
  readonly amount: unknown
}

const orders: ReadonlyArray<Order> = [
  { id: 1, amount: 5 },
  { id: 2, amount: "lots" },
  { id: 3, amount: 50 },
  { id: 4, amount: 12 },
  { id: 5, amount: [1] }
]

const ids = (records: ReadonlyArray<{ readonly id: number }>) => records.map((r) => r.id).sort((a, b) => a - b)
const recordIds = (letters: ReadonlyArray<Pipeline.DeadLetterEnvelope>) => ids(letters.map((l) => l.record as Order))

describe("DSL dead letters, run", () => {
  it.live("a pipeline's expression filter sets its failed records aside in the dead-letter sink", () =>
    Effect.gen(function*() {
      const good = Memory.list<Order>("dsl-deadletter-good")
      const letters = Memory.list<Pipeline.DeadLetterEnvelope>("dsl-deadletter-letters")
      good.clear()
      letters.clear()
      const p = Pipeline.from("orders", Memory.source({ records: orders }), { strict: true })
        .execution({ batch_size: 2 })
        .restartOnFailure({ type: "fixed-delay", attempts: 1, delay: "10ms" })
        .filter("big", "amount > 10")
        .deadLetter("rejects", letters.sink())
        .to("out", good.sink())
      const summary = yield* Pipeline.run(p)
      assert.deepStrictEqual(ids(good.records()), [3, 4])
      assert.deepStrictEqual(recordIds(letters.records()), [2, 5])
      for (const l of letters.records()) {
        assert.strictEqual(l.node, "big")
        assert.strictEqual(l.tag, "RecordError")
        assert.strictEqual(l.source, "orders")
        assert.include(l.error, "amount > 10")
      }
      assert.strictEqual(summary.nodes.find((n) => n.id === "big")?.deadLetters, 2)
    }).pipe(Effect.provide(Builtins.layer)))

  it.live("two workflow nodes share one dead-letter sink; a thrown error is set aside too", () =>
    Effect.gen(function*() {
      const good = Memory.list<{ readonly id: number; readonly cents: number }>("dsl-deadletter-wf-good")
      const letters = Memory.list<Workflow.DeadLetterEnvelope>("dsl-deadletter-wf-letters")
      good.clear()
      letters.clear()
      const w = Workflow.make("w", { strict: true, execution: { batch_size: 2, restart_strategy: { type: "fixed-delay", attempts: 1, delay: "10ms" } } })
        .source("orders", Memory.source({ records: orders }))
        .filter("big", ["orders"], "amount > 10")
        .deadLetter("rejects", letters.sink())
        .map("cents", ["big"], (o) => {
          if (o.id === 4) throw new Error(`order ${o.id}: no cents`)
          return { id: o.id, cents: Number(o.amount) * 100 }
        })
        .deadLetter("rejects")
        .sink("out", ["cents"], good.sink())
        .build()
      yield* Workflow.run(w)
      assert.deepStrictEqual(good.records(), [{ id: 3, cents: 5000 }])
      const byNode = (node: string) => recordIds(letters.records().filter((l) => l.node === node))
      assert.deepStrictEqual(byNode("big"), [2, 5])
      assert.deepStrictEqual(byNode("cents"), [4])
      const thrown = letters.records().find((l) => l.node === "cents")
      assert.include(thrown?.error, "order 4: no cents")
    }).pipe(Effect.provide(Builtins.layer)))

  it.effect("the DSL graph equals the YAML graph with dead_letter: { to }", () =>
    Effect.gen(function*() {
      const yaml = `
name: orders
sources:
  orders: { type: ndjson, config: { path: in.ndjson } }
transformations:
  big: { type: filter, inputs: [orders], config: { condition: "amount > 10" }, on_error: dead_letter, dead_letter: { to: rejects } }
destinations:
  rejects: { type: ndjson, inputs: [], config: { path: rejects.ndjson } }
  out: { type: ndjson, inputs: [big], config: { path: out.ndjson } }
`
      const fromYaml = yield* Yaml.parse(yaml, { file: "wf.yaml", env: {} })
      const ndjson = (path: string) => ({ type: "ndjson", config: { path } })
      const dsl = Pipeline.from("orders", ndjson("in.ndjson") as never)
        .filter("big", "amount > 10")
        .deadLetter("rejects", ndjson("rejects.ndjson") as never)
        .to("out", ndjson("out.ndjson") as never)
      assert.deepStrictEqual(WorkflowGraph.structure(Pipeline.toGraph(dsl)), WorkflowGraph.structure(fromYaml))
    }))
})
