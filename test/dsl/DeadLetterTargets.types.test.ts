/**
 * Type-level tests of the dead-letter follow-ups: `.deadLetter` after a `process` declared
 * `{ pure: true }` and after an `aggregate` / `dedupe` (`via` with their specs) compiles and
 * removes the step's errors, while a `process` not declared pure is still refused; node options'
 * `dead_letter: { to }` is checked against the dead-letter sinks declared so far.
 */
import { Effect, pipe, Stream } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import * as Processors from "../../src/processors/index.ts"
import { enrichOf, Invalid, letters, ordersOf, out, restart, type Timeout } from "./typeFixtures.ts"

interface Order {
  readonly id: number
  readonly customer: string
  readonly amount: number
}

const orders = ordersOf<Order>()
const enrich = enrichOf<Order>()
const totals = Processors.aggregateOf<Order>()({ group_by: ["customer"], aggregates: { total: { op: "sum", field: "amount" } } })
const unique = Processors.dedupe<Order>({ key: ["id"] })

describe("Pipeline: .deadLetter after a pure process, an aggregate, a dedupe", () => {
  it("a process declared { pure: true } can have its failures set aside: .deadLetter removes its errors", () => {
    const pure = Pipeline.from("orders", orders).process("enrich", enrich, { pure: true })
    expectTypeOf(pure).toExtend<Pipeline.Builder<"orders" | "enrich", Order, never, never, Timeout | Invalid, Pipeline.Policy, true>>()
    expectTypeOf(pure.deadLetter("bad", letters).to("out", out)).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "enrich" | "bad" | "out", ConnectorError, never>
    >()
    // without .deadLetter its errors stay
    expectTypeOf(pure.to("out", out)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "enrich" | "out", Timeout | Invalid | ConnectorError, never>>()
    // a handler before .deadLetter keeps the step pure
    expectTypeOf(pure.catchTag("Invalid", () => []).deadLetter("bad", letters).to("out", out)).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "enrich" | "bad" | "out", ConnectorError, never>
    >()
    // so does a setting between the step and .deadLetter
    pure.named("n").restartOnFailure(restart).deadLetter("bad", letters)
  })

  it("a strict pipeline compiles at .to once a pure process's failures go to a dead-letter sink", () => {
    const strict = Pipeline.from("orders", orders, { strict: true }).restartOnFailure(restart).process("enrich", enrich, { pure: true })
    // @ts-expect-error: CompileError<"strict: unhandled errors: Timeout | Invalid">
    strict.to("out", out)
    expectTypeOf(strict.deadLetter("bad", letters).to("out", out)).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "enrich" | "bad" | "out", never, never>
    >()
  })

  it("the options' on_error: dead_letter with a declared sink handles a pure process's errors too", () => {
    const declared = Pipeline.from("orders", orders).filter("big", "amount > 10").deadLetter("bad", letters)
    const p = declared.process("enrich", enrich, { pure: true, on_error: "dead_letter", dead_letter: { to: "bad" } }).to("out", out)
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "big" | "bad" | "enrich" | "out", ConnectorError, never>>()
  })

  it("a via Stream function declared { pure: true } can have its failures set aside; not declared pure it cannot", () => {
    const check = (rs: Stream.Stream<Order>) => Stream.mapEffect(rs, (o) => (o.amount < 0 ? Effect.fail(new Invalid({ id: o.id })) : Effect.succeed(o)))
    const pure = Pipeline.from("orders", orders).via("vet", check, { pure: true })
    expectTypeOf(pure).toExtend<Pipeline.Builder<"orders" | "vet", Order, never, never, Invalid, Pipeline.Policy, true>>()
    expectTypeOf(pure.deadLetter("bad", letters).to("out", out)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "vet" | "bad" | "out", ConnectorError, never>>()
    const strict = Pipeline.from("orders", orders, { strict: true }).restartOnFailure(restart).via("vet", check, { pure: true }).deadLetter("bad", letters)
    expectTypeOf(strict.to("out", out)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "vet" | "bad" | "out", never, never>>()
    const w = Workflow.make("w").source("orders", orders).via("vet", ["orders"], check, { pure: true }).deadLetter("bad", letters).sink("out", ["vet"], out).build()
    expectTypeOf(w).toEqualTypeOf<Workflow.Workflow<"orders" | "vet" | "bad" | "out", ConnectorError, never>>()
    const compileOnly = () => {
      // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Invalid ...">
      Pipeline.from("orders", orders).via("vet", check).deadLetter("bad", letters)
      // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Invalid ...">
      Pipeline.from("orders", orders).via("vet", check, { pure: false }).deadLetter("bad", letters)
    }
    expectTypeOf(compileOnly).toBeFunction()
  })

  it("a process not declared pure is still refused; a later step's .deadLetter leaves a pure process's errors", () => {
    const later = Pipeline.from("orders", orders).process("enrich", enrich, { pure: true }).map("m", (o) => o).deadLetter("bad", letters)
    expectTypeOf(later.to("out", out)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "enrich" | "m" | "bad" | "out", Timeout | Invalid | ConnectorError, never>>()
    const compileOnly = () => {
      // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Timeout | Invalid ...">
      Pipeline.from("orders", orders).process("enrich", enrich, { pure: false }).deadLetter("bad", letters)
      // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Timeout | Invalid ...">
      Pipeline.from("orders", orders).process("enrich", enrich, { parallelism: 2 }).deadLetter("bad", letters)
    }
    expectTypeOf(compileOnly).toBeFunction()
  })

  it("aggregate and dedupe (via with their specs) take .deadLetter", () => {
    const p = Pipeline.from("orders", orders).via("totals", totals).deadLetter("bad", letters).to("out", out)
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "totals" | "bad" | "out", ConnectorError, never>>()
    Pipeline.from("orders", orders).via("unique", unique).deadLetter("bad", letters).to("out", out)
    // a pure process through its spec too
    Pipeline.from("orders", orders).via("enrich", Processors.processSpec(enrich, { pure: true })).deadLetter("bad", letters)
  })

  it("has data-last forms", () => {
    const p = pipe(
      Pipeline.from("orders", orders),
      Pipeline.process("enrich", enrich, { pure: true }),
      Pipeline.catchTag("Invalid", (): ReadonlyArray<Order> => []),
      Pipeline.deadLetter("bad", letters),
      Pipeline.to("out", out)
    )
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "enrich" | "bad" | "out", ConnectorError, never>>()
    const compileOnly = () =>
      pipe(
        Pipeline.from("orders", orders),
        Pipeline.process("enrich", enrich),
        // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Timeout | Invalid ...">
        Pipeline.deadLetter("bad", letters)
      )
    expectTypeOf(compileOnly).toBeFunction()
  })
})

describe("node options: dead_letter: { to }", () => {
  it("names a dead-letter sink declared earlier; the step's RecordError is handled", () => {
    const declared = Pipeline.from("orders", orders).filter("big", "amount > 10").deadLetter("bad", letters)
    const p = declared.mapFields("twice", { double: "amount * 2" }, { on_error: "dead_letter", dead_letter: { to: "bad" } }).to("out", out)
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "big" | "bad" | "twice" | "out", ConnectorError, never>>()
    // the file form still compiles
    Pipeline.from("orders", orders).filter("big", "amount > 10", { on_error: "dead_letter", dead_letter: { path: "bad.ndjson", max_bytes: 1024 } })
  })

  it("does not compile with a sink id not declared yet (fluent and data-last)", () => {
    const declared = Pipeline.from("orders", orders).filter("big", "amount > 10").deadLetter("bad", letters)
    // @ts-expect-error: 'worse' is not a declared dead-letter sink
    declared.mapFields("twice", { double: "amount * 2" }, { on_error: "dead_letter", dead_letter: { to: "worse" } })
    // @ts-expect-error: no dead-letter sink is declared yet
    Pipeline.from("orders", orders).filter("big", "amount > 10", { on_error: "dead_letter", dead_letter: { to: "bad" } })
    pipe(declared, Pipeline.filter("small", "amount < 1000", { on_error: "dead_letter", dead_letter: { to: "bad" } }))
    // @ts-expect-error: CompileError<"dead_letter: no dead-letter sink 'worse' is declared yet ...">
    pipe(declared, Pipeline.filter("small", "amount < 1000", { on_error: "dead_letter", dead_letter: { to: "worse" } }))
    // @ts-expect-error: CompileError<"dead_letter: no dead-letter sink 'worse' is declared yet ...">
    pipe(declared, Pipeline.map("m", (o: Order) => o, { on_error: "dead_letter", dead_letter: { to: "worse" } }))
  })
})

describe("Workflow: .deadLetter after a pure process, an aggregate; dead_letter: { to } in options", () => {
  it("a pure process's errors are removed by .deadLetter; one not declared pure is refused", () => {
    const base = Workflow.make("w").source("orders", orders)
    const w = base.process("enrich", ["orders"], enrich, { pure: true }).deadLetter("bad", letters).sink("out", ["enrich"], out).build()
    expectTypeOf(w).toEqualTypeOf<Workflow.Workflow<"orders" | "enrich" | "bad" | "out", ConnectorError, never>>()
    const caught = base.process("enrich", ["orders"], enrich, { pure: true }).catchTag("Timeout", () => []).deadLetter("bad", letters)
    expectTypeOf(caught.sink("out", ["enrich"], out).build()).toEqualTypeOf<
      Workflow.Workflow<"orders" | "enrich" | "bad" | "out", ConnectorError, never>
    >()
    const compileOnly = () => {
      // @ts-expect-error: CompileError<"deadLetter: the last step fails a whole batch with Timeout | Invalid ...">
      base.process("enrich", ["orders"], enrich).deadLetter("bad", letters)
    }
    expectTypeOf(compileOnly).toBeFunction()
  })

  it("aggregate and dedupe take .deadLetter; options name declared sinks only", () => {
    const w = Workflow.make("w")
      .source("orders", orders)
      .via("unique", ["orders"], unique)
      .deadLetter("bad", letters)
      .via("totals", ["unique"], totals)
      .deadLetter("bad")
      .filter("big", ["totals"], "total > 10", { on_error: "dead_letter", dead_letter: { to: "bad" } })
      .sink("out", ["big"], out)
      .build()
    expectTypeOf(w).toEqualTypeOf<Workflow.Workflow<"orders" | "unique" | "bad" | "totals" | "big" | "out", ConnectorError, never>>()
    const compileOnly = () =>
      // @ts-expect-error: no dead-letter sink 'bad' is declared yet
      Workflow.make("w").source("orders", orders).filter("big", ["orders"], "amount > 10", { on_error: "dead_letter", dead_letter: { to: "bad" } })
    expectTypeOf(compileOnly).toBeFunction()
    expectTypeOf<RecordError>().not.toEqualTypeOf<never>()
  })
})
