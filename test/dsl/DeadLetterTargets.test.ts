/**
 * What the dead-letter follow-ups compile to and how they run: `.deadLetter` after a `process`
 * declared `{ pure: true }` (config `pure: true`), after an `aggregate` or a `dedupe`, and node
 * options' `dead_letter: { to }` give the node `on_error: "dead_letter"` and
 * `dead_letter: { to }` with the sink node reading nothing else; a `process` not declared pure
 * and a `via` Stream function are still refused, naming the step. The runs send a pure process's
 * bad records (found by bisecting its failed batches) and a filter's to memory sinks.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Stream } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import { DefinitionError, RecordError } from "../../src/Errors.ts"
import * as Processors from "../../src/processors/index.ts"
import * as Spec from "../../src/Spec.ts"

interface Order {
  readonly id: number
  readonly customer: string
  readonly amount: number
}

const records: ReadonlyArray<Order> = [{ id: 1, customer: "a", amount: 10 }]
const orders = Spec.source<Order>("memory", { records })
const out = Spec.sink<unknown>("memory_sink", { name: "out" })
const letters = Spec.sink<Pipeline.DeadLetterEnvelope>("memory_sink", { name: "letters" })
const enrich = (rs: ReadonlyArray<Order>) => Effect.succeed(rs)

const nodeOf = (graph: { readonly nodes: ReadonlyArray<{ readonly id: string }> }, id: string): unknown => graph.nodes.find((n) => n.id === id)

describe("graphs", () => {
  it("a pure process: config pure: true, dead_letter: { to } on the node, the sink without inputs", () => {
    const p = Pipeline.from("orders", orders).process("enrich", enrich, { pure: true }).deadLetter("bad", letters).to("out", out)
    const expected: unknown = {
      kind: "processor",
      id: "enrich",
      type: "process",
      config: { fn: enrich, pure: true },
      inputs: ["orders"],
      on_error: "dead_letter",
      dead_letter: { to: "bad" }
    }
    assert.deepStrictEqual(nodeOf(p, "enrich"), expected)
    assert.deepStrictEqual(nodeOf(p, "bad"), { kind: "sink", id: "bad", type: "memory_sink", config: { name: "letters" }, inputs: [] })
    // without pure, the config has no pure key (as before)
    const plain = Pipeline.from("orders", orders).process("enrich", enrich).to("out", out)
    assert.deepStrictEqual(nodeOf(plain, "enrich"), { kind: "processor", id: "enrich", type: "process", config: { fn: enrich }, inputs: ["orders"] })
  })

  it("aggregate, dedupe and a pure process spec through via; the Workflow gives the same nodes", () => {
    const totals = Processors.aggregateOf<Order>()({ group_by: ["customer"], aggregates: { total: { op: "sum", field: "amount" } } })
    const unique = Processors.dedupe<Order>({ key: ["id"] })
    const w = Workflow.make("w")
      .source("orders", orders)
      .via("unique", ["orders"], unique)
      .deadLetter("bad", letters)
      .via("totals", ["unique"], totals)
      .deadLetter("bad")
      .sink("out", ["totals"], out)
      .build()
    assert.deepStrictEqual(nodeOf(w, "unique"), {
      kind: "processor",
      id: "unique",
      type: "dedupe",
      config: unique.config,
      inputs: ["orders"],
      on_error: "dead_letter",
      dead_letter: { to: "bad" }
    })
    assert.deepStrictEqual(nodeOf(w, "totals"), {
      kind: "processor",
      id: "totals",
      type: "aggregate",
      config: totals.config,
      inputs: ["unique"],
      on_error: "dead_letter",
      dead_letter: { to: "bad" }
    })
    const spec = Processors.processSpec(enrich, { pure: true })
    const viaSpec = Pipeline.from("orders", orders).via("enrich", spec).deadLetter("bad", letters).to("out", out)
    assert.deepStrictEqual((nodeOf(viaSpec, "enrich") as { readonly dead_letter: unknown }).dead_letter, { to: "bad" })
    const fluent = Workflow.make("w").source("orders", orders).process("enrich", ["orders"], enrich, { pure: true }).deadLetter("bad", letters)
    assert.deepStrictEqual(
      nodeOf(fluent.sink("out", ["enrich"], out).build(), "enrich"),
      nodeOf(Pipeline.from("orders", orders).process("enrich", enrich, { pure: true }).deadLetter("bad", letters).to("out", out), "enrich")
    )
  })

  it("node options' dead_letter: { to } gives the graph .deadLetter(id) gives", () => {
    const declared = Pipeline.from("orders", orders).filter("big", "amount > 10").deadLetter("bad", letters)
    const byOption = declared.select("ids", ["id"], { on_error: "dead_letter", dead_letter: { to: "bad" } }).to("out", out)
    const byMethod = declared.select("ids", ["id"]).deadLetter("bad").to("out", out)
    assert.deepStrictEqual(Pipeline.toGraph(byOption), Pipeline.toGraph(byMethod))
    // a file target keeps its keys, with no undefined max_bytes
    const file = Pipeline.from("orders", orders).filter("big", "amount > 10", { on_error: "dead_letter", dead_letter: { path: "bad.ndjson" } })
    assert.deepStrictEqual((nodeOf(file.to("out", out), "big") as { readonly dead_letter: unknown }).dead_letter, { path: "bad.ndjson" })
  })

  it("a process not declared pure, a via Stream function and a process spec not declared pure are refused, naming the step", () => {
    type Untyped = { deadLetter: (id: string, sink: unknown) => unknown }
    const refused = (builder: unknown, node: string) => {
      try {
        ;(builder as Untyped).deadLetter("bad", letters)
        assert.fail("deadLetter was accepted")
      } catch (e) {
        assert.instanceOf(e, DefinitionError)
        assert.deepStrictEqual(e.issues.map((i) => i.path), [`transformations.${node}`])
        assert.match(e.issues[0].message, /declare it \{ pure: true \}/)
      }
    }
    refused(Pipeline.from("orders", orders).process("enrich", enrich), "enrich")
    refused(Pipeline.from("orders", orders).process("enrich", enrich, { pure: false }), "enrich")
    refused(Pipeline.from("orders", orders).via("s", (rs: Stream.Stream<Order>) => rs), "s")
    refused(Pipeline.from("orders", orders).via("spec", Processors.processSpec(enrich)), "spec")
    refused(Workflow.make("w").source("orders", orders).process("enrich", ["orders"], enrich), "enrich")
  })
})

describe("runs", () => {
  it.effect("a pure process's records it fails on alone reach the dead-letter sink as envelopes; the others go on in order", () =>
    Effect.gen(function*() {
      const input: ReadonlyArray<Order> = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, customer: `c${i % 3}`, amount: i % 7 === 3 ? -1 : i }))
      const good = Memory.list<Order>(`dslfollow-pure-out-${process.pid}`)
      const bad = Memory.list<Pipeline.DeadLetterEnvelope>(`dslfollow-pure-bad-${process.pid}`)
      good.clear()
      bad.clear()
      // fails the whole batch when any amount is negative
      const price = (rs: ReadonlyArray<Order>) =>
        rs.some((r) => r.amount < 0) ? Effect.fail(new RecordError({ detail: "negative amount" })) : Effect.succeed(rs)
      const p = Pipeline.from("orders", Memory.source<Order>({ records: input }), { strict: true })
        .execution({ batch_size: 8 })
        .restartOnFailure({ type: "fixed-delay", attempts: 1, delay: "10ms" })
        .process("priced", price, { pure: true })
        .deadLetter("bad", bad.sink())
        .to("out", good.sink())
      yield* Pipeline.run(p).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(good.records(), input.filter((o) => o.amount >= 0))
      const envelopes = bad.records()
      assert.deepStrictEqual(envelopes.map((e) => e.record), input.filter((o) => o.amount < 0))
      for (const e of envelopes) {
        assert.deepStrictEqual(Object.keys(e), ["node", "at", "tag", "source", "position", "error", "detail", "record"])
        assert.strictEqual(e.node, "priced")
        assert.strictEqual(e.source, "orders")
        assert.match(e.error, /negative amount/)
      }
    }))

  it.effect("an aggregate's records with a non-numeric amount reach the dead-letter sink; the totals are the good records'", () =>
    Effect.gen(function*() {
      type Raw = { readonly id: number; readonly customer: string; readonly amount: number | string }
      const input: ReadonlyArray<Raw> = Array.from({ length: 30 }, (_, i) => ({
        id: i,
        customer: `c${i % 3}`,
        amount: i % 10 === 4 ? "twelve" : i
      }))
      const totalsOut = Memory.list<{ readonly customer: string; readonly total: number }>(`dslfollow-agg-out-${process.pid}`)
      const bad = Memory.list<Pipeline.DeadLetterEnvelope>(`dslfollow-agg-bad-${process.pid}`)
      totalsOut.clear()
      bad.clear()
      const totals = Processors.aggregateOf<Raw>()({ group_by: ["customer"], aggregates: { total: { op: "sum", field: "amount" } } })
      const p = Pipeline.from("orders", Memory.source<Raw>({ records: input }))
        .execution({ batch_size: 7 })
        .via("totals", totals)
        .deadLetter("bad", bad.sink())
        .map("shaped", (r) => ({ customer: String(r.customer), total: Number(r.total) }))
        .to("out", totalsOut.sink())
      yield* Pipeline.run(p).pipe(Effect.provide(Builtins.layer))
      const expected = new Map<string, number>()
      for (const r of input) if (typeof r.amount === "number") expected.set(r.customer, (expected.get(r.customer) ?? 0) + r.amount)
      assert.deepStrictEqual(
        [...totalsOut.records()].sort((a, b) => a.customer.localeCompare(b.customer)),
        [...expected].sort(([a], [b]) => a.localeCompare(b)).map(([customer, total]) => ({ customer, total }))
      )
      assert.deepStrictEqual(
        bad.records().map((e) => [e.node, e.record]),
        input.filter((r) => typeof r.amount === "string").map((r) => ["totals", r])
      )
    }))

  it.effect("a filter's failures go to the sink its options name", () =>
    Effect.gen(function*() {
      const input = [{ id: 1, amount: 5 }, { id: 2, amount: "n/a" }, { id: 3, amount: 50 }]
      const good = Memory.list<unknown>(`dslfollow-opt-out-${process.pid}`)
      const bad = Memory.list<Pipeline.DeadLetterEnvelope>(`dslfollow-opt-bad-${process.pid}`)
      good.clear()
      bad.clear()
      const w = Workflow.make("w")
        .source("orders", Memory.source({ records: input }))
        .map("copy", ["orders"], (o) => o)
        .deadLetter("bad", bad.sink())
        .source("more", Memory.source({ records: input }))
        .filter("big", ["more"], "amount > 10", { on_error: "dead_letter", dead_letter: { to: "bad" } })
        .sink("out", ["big", "copy"], good.sink())
        .build()
      yield* Workflow.run(w).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(bad.records().map((e) => [e.node, e.record]), [["big", { id: 2, amount: "n/a" }]])
      assert.strictEqual(good.records().length, 4)
    }))
})
