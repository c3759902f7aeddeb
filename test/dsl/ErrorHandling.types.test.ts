/**
 * Type-level tests of typed errors in the DSL: each step's errors in the pipeline's type, the
 * handlers removing them, and `Pipeline.strict` refusing a pipeline with an unhandled one.
 */
import { Effect, pipe, Schedule } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import { enrichOf, Invalid, ordersOf, out, restart, type Timeout } from "./typeFixtures.ts"

interface Order {
  readonly id: number
  readonly amount: number
}

const orders = ordersOf<Order>()
const enrich = enrichOf<Order>()

describe("typed errors of DSL steps", () => {
  it("an expression step can fail with RecordError, unless its failed records are dead-lettered", () => {
    const base = Pipeline.from("orders", orders)
    expectTypeOf(base.filter("big", "amount > 10")).toEqualTypeOf<Pipeline.Builder<"orders" | "big", Order, never, never, RecordError>>()
    expectTypeOf(base.mapFields("twice", { double: "amount * 2" })).toExtend<Pipeline.Builder<"orders" | "twice", unknown, never, never, RecordError>>()
    expectTypeOf(base.filter("big", "amount > 10", { on_error: "dead_letter", dead_letter: { path: "bad.ndjson" } })).toEqualTypeOf<
      Pipeline.Builder<"orders" | "big", Order, never, never, never>
    >()
    // A predicate function's failure is a thrown Error, not a typed one.
    expectTypeOf(base.filter("big", (r) => r.amount > 10)).toEqualTypeOf<Pipeline.Builder<"orders" | "big", Order, never, never, never>>()
    // The next step settles the last one's errors into the pipeline's.
    expectTypeOf(base.filter("big", "amount > 10").map("id", (r) => r.id)).toEqualTypeOf<
      Pipeline.Builder<"orders" | "big" | "id", number, RecordError, never, never>
    >()
  })

  it("a user processor's E is the last step's error; a sink adds ConnectorError", () => {
    const p = Pipeline.from("orders", orders).process("enrich", enrich)
    expectTypeOf(p).toEqualTypeOf<Pipeline.Builder<"orders" | "enrich", Order, never, never, Timeout | Invalid>>()
    expectTypeOf(p.to("out", out)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "enrich" | "out", Timeout | Invalid | ConnectorError, never>>()
  })

  it("retry removes the last step's errors, catchTag one of them", () => {
    const p = Pipeline.from("orders", orders).process("enrich", enrich)
    expectTypeOf(p.retry(Schedule.recurs(3))).toEqualTypeOf<Pipeline.Builder<"orders" | "enrich", Order, never, never, never>>()
    const caught = p.catchTag("Invalid", (e) => {
      expectTypeOf(e).toEqualTypeOf<Invalid>()
      return [{ id: e.id, amount: 0 }]
    })
    expectTypeOf(caught).toEqualTypeOf<Pipeline.Builder<"orders" | "enrich", Order, never, never, Timeout>>()
    expectTypeOf(caught.catchTag("Timeout", () => Effect.succeed([]))).toEqualTypeOf<
      Pipeline.Builder<"orders" | "enrich", Order, never, never, never>
    >()
    // A handler that can fail adds its error.
    expectTypeOf(caught.catchTag("Timeout", (e) => Effect.fail(new Invalid({ id: e.ms })))).toEqualTypeOf<
      Pipeline.Builder<"orders" | "enrich", Order, never, never, Invalid>
    >()
    // @ts-expect-error: the step cannot fail with 'Missing'
    p.catchTag("Missing", () => [])
    // never called (at run time this is refused with a DefinitionError): for the compiler only
    const compileOnly = () =>
      // @ts-expect-error: CompileError<"retry: the last step has no typed error to retry ...">
      Pipeline.from("orders", orders).map("m", (r) => r).retry(Schedule.recurs(3))
    expectTypeOf(compileOnly).toBeFunction()
    // @ts-expect-error: the handler's records must be the step's output records
    p.catchTag("Invalid", () => [{ name: "x" }])
  })

  it("the data-last forms type the same", () => {
    const p = pipe(
      Pipeline.from("orders", orders),
      Pipeline.process("enrich", enrich),
      Pipeline.catchTag("Invalid", () => [] as ReadonlyArray<Order>),
      Pipeline.retry(Schedule.recurs(2)),
      Pipeline.filter("big", "amount > 10"),
      Pipeline.to("out", out)
    )
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "enrich" | "big" | "out", RecordError | ConnectorError, never>>()
  })
})

describe("Pipeline.strict", () => {
  it("does not compile while an expression filter's RecordError is unhandled; dead-lettering handles it", () => {
    const unhandled = Pipeline.from("orders", orders).filter("big", "amount > 10").to("out", out)
    // @ts-expect-error: CompileError<"strict: unhandled errors: RecordError"> (and ConnectorError)
    Pipeline.strict(Pipeline.restartOnFailure(unhandled, restart))
    const handled = Pipeline.from("orders", orders)
      .filter("big", "amount > 10", { on_error: "dead_letter", dead_letter: { path: "bad.ndjson" } })
      .to("out", out)
    expectTypeOf(Pipeline.strict(Pipeline.restartOnFailure(handled, restart))).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "big" | "out", never, never>
    >()
  })

  it("does not compile while a user processor's tagged error is unhandled; retry or catchTag handles it", () => {
    const unhandled = Pipeline.from("orders", orders).process("enrich", enrich).catchTag("Invalid", () => []).to("out", out)
    // @ts-expect-error: CompileError<"strict: unhandled errors: Timeout">
    Pipeline.strict(Pipeline.restartOnFailure(unhandled, restart))
    const retried = Pipeline.from("orders", orders).process("enrich", enrich).retry(Schedule.exponential("10 millis")).to("out", out)
    Pipeline.strict(Pipeline.restartOnFailure(retried, restart))
    const caught = Pipeline.from("orders", orders)
      .process("enrich", enrich)
      .catchTag("Invalid", () => [])
      .catchTag("Timeout", () => [])
      .to("out", out)
    Pipeline.strict(Pipeline.restartOnFailure(caught, restart))
  })

  it("does not compile while a sink's ConnectorError is unhandled; restartOnFailure handles it", () => {
    const p = Pipeline.from("orders", orders).to("out", out)
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "out", ConnectorError, never>>()
    // @ts-expect-error: CompileError<"strict: unhandled errors: ConnectorError">
    Pipeline.strict(p)
    expectTypeOf(Pipeline.strict(Pipeline.restartOnFailure(p, restart))).toEqualTypeOf<Pipeline.Pipeline<"orders" | "out", never, never>>()
  })
})

describe("Workflow.strict", () => {
  it("refuses an unhandled RecordError, user processor error or ConnectorError; compiles once each is handled", () => {
    const withFilter = Workflow.make("w").source("orders", orders).filter("big", ["orders"], "amount > 10").sink("out", ["big"], out).build()
    expectTypeOf(withFilter).toEqualTypeOf<Workflow.Workflow<"orders" | "big" | "out", RecordError | ConnectorError, never>>()
    // @ts-expect-error: CompileError<"strict: unhandled errors: RecordError">
    Workflow.strict(Workflow.restartOnFailure(withFilter, restart))
    const deadLettered = Workflow.make("w")
      .source("orders", orders)
      .filter("big", ["orders"], "amount > 10", { on_error: "dead_letter", dead_letter: { path: "bad.ndjson" } })
      .sink("out", ["big"], out)
      .build()
    expectTypeOf(Workflow.strict(Workflow.restartOnFailure(deadLettered, restart))).toEqualTypeOf<
      Workflow.Workflow<"orders" | "big" | "out", never, never>
    >()
    // @ts-expect-error: CompileError<"strict: unhandled errors: ConnectorError">
    Workflow.strict(deadLettered)

    const withProcess = Workflow.make("w").source("orders", orders).process("enrich", ["orders"], enrich).sink("out", ["enrich"], out).build()
    // @ts-expect-error: CompileError<"strict: unhandled errors: Timeout" | "...: Invalid">
    Workflow.strict(Workflow.restartOnFailure(withProcess, restart))
    const handled = Workflow.make("w")
      .source("orders", orders)
      .process("enrich", ["orders"], (rs: ReadonlyArray<Order>) => enrich(rs).pipe(Effect.catchTags({ Timeout: () => Effect.succeed([]), Invalid: () => Effect.succeed([]) })))
      .sink("out", ["enrich"], out)
      .build()
    Workflow.strict(Workflow.restartOnFailure(handled, restart))
  })
})
