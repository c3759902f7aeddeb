/**
 * Type-level tests of `.deadLetter` and of strict builders (`{ strict: true }`): each error the
 * issue names — an expression filter's `RecordError`, a user processor's tagged error, a sink's
 * `ConnectorError` — keeps a strict pipeline or workflow from compiling until it is handled by
 * `.deadLetter`, `.retry` / `.catchTag`, or a restart strategy.
 */
import { pipe, Schedule } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as Ndjson from "../../src/connectors/ndjson/index.ts"
import * as Postgres from "../../src/connectors/postgres/index.ts"
import * as Spec from "../../src/Spec.ts"
import { enrichOf, type Invalid, letters, ordersOf, out, restart, type Timeout } from "./typeFixtures.ts"

interface Order {
  readonly id: number
  readonly amount: number
}

const orders = ordersOf<Order>()
const enrich = enrichOf<Order>()

describe("Pipeline .deadLetter", () => {
  it("removes an expression step's RecordError and declares the dead-letter sink", () => {
    const p = Pipeline.from("orders", orders).filter("big", "amount > 10").deadLetter("bad", letters)
    expectTypeOf(p).toExtend<Pipeline.Builder<"orders" | "big" | "bad", Order, ConnectorError, never, never, Pipeline.Policy>>()
    expectTypeOf(p.to("out", out)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "big" | "bad" | "out", ConnectorError, never>>()
    // A later step can send its failures to the same sink by id.
    const shared = p.mapFields("twice", { double: "amount * 2" }).deadLetter("bad").to("out", out)
    expectTypeOf(shared).toEqualTypeOf<Pipeline.Pipeline<"orders" | "big" | "bad" | "twice" | "out", ConnectorError, never>>()
  })

  it("takes the connectors' sinks that accept envelopes: ndjson, postgres (a row per envelope), memory", () => {
    const base = Pipeline.from("orders", orders).filter("big", "amount > 10")
    base.deadLetter("bad", Ndjson.sink({ path: "bad.ndjson" }))
    base.deadLetter("bad", Postgres.sink({ connection_string: "postgres://localhost/test", table: "bad_orders" }))
    base.deadLetter("bad", Memory.sink())
    base.deadLetter("bad", Memory.list<Pipeline.DeadLetterEnvelope>("bad").sink())
  })

  it("refuses a sink that does not take envelopes, an undeclared id, a duplicate id, and a user step", () => {
    const base = Pipeline.from("orders", orders).filter("big", "amount > 10")
    // @ts-expect-error: CompileError<"dead-letter sink 'bad' does not accept the records it reads: the records have no field 'amount'">
    base.deadLetter("bad", Spec.sink<Order>("memory_sink", {}))
    // @ts-expect-error: CompileError<"deadLetter: no dead-letter sink 'bad' is declared yet ...">
    base.deadLetter("bad")
    // @ts-expect-error: CompileError<"duplicate node id 'orders' ...">
    base.deadLetter("orders", letters)
    // never called (at run time the builder refuses it with a DefinitionError): for the compiler only
    const compileOnly = () =>
      // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Timeout | Invalid ...">
      Pipeline.from("orders", orders).process("enrich", enrich).deadLetter("bad", letters)
    expectTypeOf(compileOnly).toBeFunction()
  })

  it("has a data-last form", () => {
    const p = pipe(
      Pipeline.from("orders", orders),
      Pipeline.filter("big", "amount > 10"),
      Pipeline.deadLetter("bad", letters),
      Pipeline.mapFields("twice", { double: "amount * 2" }),
      Pipeline.deadLetter("bad"),
      Pipeline.to("out", out)
    )
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "big" | "bad" | "twice" | "out", ConnectorError, never>>()
  })
})

describe("Pipeline.from(id, source, { strict: true })", () => {
  it("does not compile at .to while an expression filter's RecordError is unhandled; .deadLetter handles it", () => {
    const strict = Pipeline.from("orders", orders, { strict: true }).restartOnFailure(restart)
    // @ts-expect-error: CompileError<"strict: unhandled errors: RecordError">
    strict.filter("big", "amount > 10").to("out", out)
    expectTypeOf(strict.filter("big", "amount > 10").deadLetter("bad", letters).to("out", out)).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "big" | "bad" | "out", never, never>
    >()
    // the file form of dead letters handles it too
    strict.filter("big", "amount > 10", { on_error: "dead_letter", dead_letter: { path: "bad.ndjson" } }).to("out", out)
  })

  it("does not compile at .to while a user processor's tagged error is unhandled; .retry / .catchTag handle it", () => {
    const strict = Pipeline.from("orders", orders, { strict: true }).restartOnFailure(restart)
    // @ts-expect-error: CompileError<"strict: unhandled errors: Timeout | Invalid">
    strict.process("enrich", enrich).to("out", out)
    // @ts-expect-error: CompileError<"strict: unhandled errors: Timeout">
    strict.process("enrich", enrich).catchTag("Invalid", () => []).to("out", out)
    strict.process("enrich", enrich).retry(Schedule.recurs(3)).to("out", out)
    strict.process("enrich", enrich).catchTag("Invalid", () => []).catchTag("Timeout", () => []).to("out", out)
  })

  it("does not compile at .to while a sink's ConnectorError is unhandled; a restart strategy handles it", () => {
    const strict = Pipeline.from("orders", orders, { strict: true })
    // @ts-expect-error: CompileError<"strict: unhandled errors: ConnectorError">
    strict.to("out", out)
    expectTypeOf(strict.restartOnFailure(restart).to("out", out)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "out", never, never>>()
    // execution.restart_strategy is the same setting
    strict.execution({ restart_strategy: restart }).to("out", out)
    // @ts-expect-error: restart_strategy none restarts nothing
    strict.execution({ restart_strategy: { type: "none" } }).to("out", out)
    // @ts-expect-error: a restart strategy of none handles nothing
    strict.restartOnFailure({ type: "none" })
    // a dead-letter sink's ConnectorError counts too, and a later restart handles it
    strict.filter("big", "amount > 10").deadLetter("bad", letters).restartOnFailure(restart).to("out", out)
  })

  it("the data-last to and toStream check a strict builder too; a lenient builder compiles as before", () => {
    const strict = Pipeline.from("orders", orders, { strict: true }).restartOnFailure(restart).filter("big", "amount > 10")
    // @ts-expect-error: CompileError<"strict: unhandled errors: RecordError">
    pipe(strict, Pipeline.to("out", out))
    // @ts-expect-error: CompileError<"strict: unhandled errors: RecordError">
    Pipeline.toStream(strict)
    Pipeline.toStream(strict.deadLetter("bad", letters))
    expectTypeOf(Pipeline.from("orders", orders).filter("big", "amount > 10").to("out", out)).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "big" | "out", RecordError | ConnectorError, never>
    >()
    // the data-last restartOnFailure, in a pipe
    const unrestarted = Pipeline.from("orders", orders, { strict: true }).filter("big", "amount > 10").deadLetter("bad", letters)
    // @ts-expect-error: CompileError<"strict: unhandled errors: ConnectorError">
    pipe(unrestarted, Pipeline.to("out", out))
    expectTypeOf(pipe(unrestarted, Pipeline.restartOnFailure(restart), Pipeline.to("out", out))).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "big" | "bad" | "out", never, never>
    >()
    // Pipeline.strict on a finished pipeline still works
    Pipeline.strict(Pipeline.from("orders", orders).restartOnFailure(restart).to("out", out))
  })
})

describe("Workflow nodes: .retry, .catchTag, .deadLetter", () => {
  it("act on the node declared last and remove its errors", () => {
    const base = Workflow.make("w").source("orders", orders)
    const retried = base.process("enrich", ["orders"], enrich).retry(Schedule.recurs(3)).sink("out", ["enrich"], out).build()
    expectTypeOf(retried).toEqualTypeOf<Workflow.Workflow<"orders" | "enrich" | "out", ConnectorError, never>>()
    const caught = base
      .process("enrich", ["orders"], enrich)
      .catchTag("Invalid", (e) => {
        expectTypeOf(e).toEqualTypeOf<Invalid>()
        return [{ id: e.id, amount: 0 }]
      })
      .sink("out", ["enrich"], out)
      .build()
    expectTypeOf(caught).toEqualTypeOf<Workflow.Workflow<"orders" | "enrich" | "out", Timeout | ConnectorError, never>>()
    const lettered = base
      .filter("big", ["orders"], "amount > 10")
      .deadLetter("bad", letters)
      .mapFields("twice", ["big"], { double: "amount * 2" })
      .deadLetter("bad")
      .sink("out", ["twice"], out)
      .build()
    expectTypeOf(lettered).toEqualTypeOf<Workflow.Workflow<"orders" | "big" | "bad" | "twice" | "out", ConnectorError, never>>()
  })

  it("refuse what they cannot handle", () => {
    const enriched = Workflow.make("w").source("orders", orders).process("enrich", ["orders"], enrich)
    // @ts-expect-error: the handler's records must be the node's output records
    enriched.catchTag("Invalid", () => [{ name: "x" }])
    // @ts-expect-error: the node cannot fail with 'Missing'
    enriched.catchTag("Missing", () => [])
    const compileOnly = () => {
      // @ts-expect-error: CompileError<"retry: the last step has no typed error to retry ...">
      Workflow.make("w").source("orders", orders).map("m", ["orders"], (r) => r).retry(Schedule.recurs(3))
      // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Timeout | Invalid ...">
      enriched.deadLetter("bad", letters)
      // @ts-expect-error: CompileError<"deadLetter: the node declared last is a source, ...">
      Workflow.make("w").source("orders", orders).deadLetter("bad", letters)
      // @ts-expect-error: CompileError<"deadLetter: the node declared last is a sink, ...">
      Workflow.make("w").source("orders", orders).sink("out", ["orders"], out).deadLetter("bad", letters)
      // @ts-expect-error: CompileError<"dead-letter sink 'bad' does not accept the records it reads ...">
      Workflow.make("w").source("orders", orders).filter("big", ["orders"], "amount > 10").deadLetter("bad", Spec.sink<Order>("x", {}))
    }
    expectTypeOf(compileOnly).toBeFunction()
  })
})

describe("Workflow.make(name, { strict: true })", () => {
  const restarted = { strict: true, execution: { restart_strategy: restart } } as const

  it("does not build while an expression filter's RecordError is unhandled; .deadLetter handles it", () => {
    const w = Workflow.make("w", restarted).source("orders", orders).filter("big", ["orders"], "amount > 10")
    // @ts-expect-error: CompileError<"strict: unhandled errors: RecordError">
    w.sink("out", ["big"], out).build()
    expectTypeOf(w.deadLetter("bad", letters).sink("out", ["big"], out).build()).toEqualTypeOf<
      Workflow.Workflow<"orders" | "big" | "bad" | "out", never, never>
    >()
  })

  it("does not build while a user processor's tagged error is unhandled; .retry / .catchTag handle it", () => {
    const w = Workflow.make("w", restarted).source("orders", orders).process("enrich", ["orders"], enrich)
    // @ts-expect-error: CompileError<"strict: unhandled errors: Timeout | Invalid">
    w.sink("out", ["enrich"], out).build()
    // @ts-expect-error: CompileError<"strict: unhandled errors: Timeout">
    w.catchTag("Invalid", () => []).sink("out", ["enrich"], out).build()
    w.retry(Schedule.recurs(3)).sink("out", ["enrich"], out).build()
    w.catchTag("Invalid", () => []).catchTag("Timeout", () => []).sink("out", ["enrich"], out).build()
  })

  it("does not build while a sink's ConnectorError is unhandled; a restart strategy handles it", () => {
    const w = Workflow.make("w", { strict: true }).source("orders", orders)
    // @ts-expect-error: CompileError<"strict: unhandled errors: ConnectorError">
    w.sink("out", ["orders"], out).build()
    expectTypeOf(w.restartOnFailure(restart).sink("out", ["orders"], out).build()).toEqualTypeOf<Workflow.Workflow<"orders" | "out", never, never>>()
    w.sink("out", ["orders"], out).restartOnFailure(restart).build()
    w.execution({ restart_strategy: restart }).sink("out", ["orders"], out).build()
    // @ts-expect-error: CompileError<"strict: unhandled errors: RecordError">
    Workflow.toStream(Workflow.make("w", restarted).source("orders", orders).filter("big", ["orders"], "amount > 10"), "big")
    // a workflow made without strict builds as before
    expectTypeOf(Workflow.make("w").source("orders", orders).filter("big", ["orders"], "amount > 10").sink("out", ["big"], out).build())
      .toEqualTypeOf<Workflow.Workflow<"orders" | "big" | "out", RecordError | ConnectorError, never>>()
  })
})
