/**
 * What `.deadLetter` compiles to: the node gets `on_error: "dead_letter"` and
 * `dead_letter: { to: <sink id> }`, the dead-letter sink is a sink node reading nothing else
 * (`inputs: []`) — the graph shape the runtime's dead-letter destinations read — and a builder
 * refuses it after a step that fails whole batches, naming the step. Also what the builders'
 * `restartOnFailure` and `{ strict: true }` leave in the graph.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, pipe } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import { DefinitionError } from "../../src/Errors.ts"
import * as Spec from "../../src/Spec.ts"

interface Order {
  readonly id: number
  readonly amount: number
}

const records: ReadonlyArray<Order> = [{ id: 1, amount: 10 }]
const orders = Spec.source<Order>("memory", { records })
const out = Spec.sink<unknown>("memory_sink", { name: "out" })
const letters = Spec.sink<Pipeline.DeadLetterEnvelope>("memory_sink", { name: "letters" })
const restart = { type: "fixed-delay", attempts: 3, delay: "1s" } as const

/** The nodes both builders make for the orders source and the filter "big" whose failed records go to "bad". */
const ordersThenBig: ReadonlyArray<unknown> = [
  { kind: "source", id: "orders", type: "memory", config: { records }, inputs: [] },
  {
    kind: "processor",
    id: "big",
    type: "filter",
    config: { condition: "amount > 10" },
    inputs: ["orders"],
    on_error: "dead_letter",
    dead_letter: { to: "bad" }
  }
]

describe("Pipeline .deadLetter", () => {
  it("compiles to dead_letter: { to } on the step and a sink node without inputs", () => {
    const toId = (r: Order) => ({ id: r.id, amount: r.amount })
    const p = Pipeline.from("orders", orders, { strict: true })
      .filter("big", "amount > 10")
      .deadLetter("bad", letters, { parallelism: 2 })
      .map("shaped", toId)
      .deadLetter("bad")
      .restartOnFailure(restart)
      .to("out", out)
    const expected: unknown = {
      name: "orders",
      execution: { restart_strategy: restart },
      nodes: [
        ...ordersThenBig,
        { kind: "processor", id: "shaped", type: "map", config: { fn: toId }, inputs: ["big"], on_error: "dead_letter", dead_letter: { to: "bad" } },
        { kind: "sink", id: "bad", type: "memory_sink", config: { name: "letters" }, inputs: [], parallelism: 2 },
        { kind: "sink", id: "out", type: "memory_sink", config: { name: "out" }, inputs: ["shaped"] }
      ]
    }
    assert.deepStrictEqual(Pipeline.toGraph(p), expected)
  })

  it("the data-last form gives the same graph; it replaces a dead-letter file set in the options", () => {
    const fluent = Pipeline.from("orders", orders).filter("big", "amount > 10").deadLetter("bad", letters).to("out", out)
    const piped = pipe(
      Pipeline.from("orders", orders),
      Pipeline.filter("big", "amount > 10", { on_error: "dead_letter", dead_letter: { path: "bad.ndjson" } }),
      Pipeline.deadLetter("bad", letters),
      Pipeline.to("out", out)
    )
    assert.deepStrictEqual(Pipeline.toGraph(piped), Pipeline.toGraph(fluent))
  })

  it("is refused with a DefinitionError naming the step after a user step", () => {
    const p = Pipeline.from("orders", orders).process("enrich", (rs) => Effect.succeed(rs))
    const untyped = p as unknown as { deadLetter: (id: string, sink: unknown) => unknown }
    assert.throws(() => untyped.deadLetter("bad", letters), DefinitionError)
    try {
      untyped.deadLetter("bad", letters)
    } catch (e) {
      assert.instanceOf(e, DefinitionError)
      assert.deepStrictEqual(e.issues.map((i) => i.path), ["transformations.enrich"])
      assert.match(e.issues[0].message, /only a record-by-record step/)
    }
  })
})

describe("Workflow .deadLetter", () => {
  it("compiles to dead_letter: { to } on the node declared last and a sink node without inputs", () => {
    const w = Workflow.make("w", { strict: true, execution: { restart_strategy: restart } })
      .source("orders", orders)
      .filter("big", ["orders"], "amount > 10")
      .deadLetter("bad", letters)
      .select("ids", ["orders"], ["id"])
      .deadLetter("bad")
      .sink("out", ["big"], out)
      .sink("all", ["ids"], out)
      .build()
    const expected: unknown = {
      name: "w",
      execution: { restart_strategy: restart },
      nodes: [
        ...ordersThenBig,
        { kind: "processor", id: "ids", type: "select", config: { fields: ["id"] }, inputs: ["orders"], on_error: "dead_letter", dead_letter: { to: "bad" } },
        { kind: "sink", id: "bad", type: "memory_sink", config: { name: "letters" }, inputs: [] },
        { kind: "sink", id: "out", type: "memory_sink", config: { name: "out" }, inputs: ["big"] },
        { kind: "sink", id: "all", type: "memory_sink", config: { name: "out" }, inputs: ["ids"] }
      ]
    }
    assert.deepStrictEqual(Workflow.toGraph(w), expected)
  })

  it("is refused with a DefinitionError after a user node, a source or a sink", () => {
    const base = Workflow.make("w").source("orders", orders)
    type Untyped = { deadLetter: (id: string, sink: unknown) => unknown }
    assert.throws(() => (base as unknown as Untyped).deadLetter("bad", letters), DefinitionError)
    const enriched = base.process("enrich", ["orders"], (rs) => Effect.succeed(rs))
    assert.throws(() => (enriched as unknown as Untyped).deadLetter("bad", letters), DefinitionError)
    const sunk = base.sink("out", ["orders"], out)
    assert.throws(() => (sunk as unknown as Untyped).deadLetter("bad", letters), DefinitionError)
  })
})
