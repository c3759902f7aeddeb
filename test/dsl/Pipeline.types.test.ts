/**
 * Type-level tests of the linear builder, checked by `tsc` (every `@ts-expect-error` line must
 * really be an error, or the type check fails).
 */
import { Context, Effect, pipe, Schema } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import type { Registry } from "../../src/Registry.ts"
import type { RunSummary } from "../../src/Runtime.ts"
import * as Spec from "../../src/Spec.ts"

interface Order {
  readonly id: number
  readonly status: string
  readonly amount: number
  readonly note?: string
}

const orders = Spec.source<Order>("memory", { records: [] })
const anything = Spec.sink<unknown>("memory", {})

class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { service: Schema.String }) {}
class Rates extends Context.Service<Rates, { readonly rate: (currency: string) => number }>()("test/Rates") {}

describe("Pipeline types", () => {
  it("flows each step's output type into the next", () => {
    const base = Pipeline.from("orders", orders)
    expectTypeOf(base).toEqualTypeOf<Pipeline.Builder<"orders", Order, never, never>>()

    const filtered = base.filter("active", (r) => r.status === "active")
    expectTypeOf(filtered).toEqualTypeOf<Pipeline.Builder<"orders" | "active", Order, never, never>>()

    const mapped = filtered.map("cents", (r) => ({ id: r.id, cents: Math.round(r.amount * 100) }))
    expectTypeOf(mapped).toEqualTypeOf<Pipeline.Builder<"orders" | "active" | "cents", { id: number; cents: number }, never, never>>()

    const selected = filtered.select("slim", ["id", "amount"])
    expectTypeOf(selected).toEqualTypeOf<
      Pipeline.Builder<"orders" | "active" | "slim", { readonly id: number; readonly amount: number }, never, never>
    >()

    const renamed = selected.rename("renamed", { amount: "total" })
    expectTypeOf(renamed).toEqualTypeOf<
      Pipeline.Builder<"orders" | "active" | "slim" | "renamed", { readonly id: number; readonly total: number }, never, never>
    >()

    const split = renamed.flatMap("split", (r) => [r, { ...r, total: 0 }])
    expectTypeOf(split).toEqualTypeOf<
      Pipeline.Builder<"orders" | "active" | "slim" | "renamed" | "split", { readonly id: number; readonly total: number }, never, never>
    >()

    // Expression results are untyped: computed fields are `unknown`, replaced fields too.
    const computed = split.mapFields("computed", { double: "total * 2", total: "total + 1" })
    expectTypeOf(computed).toEqualTypeOf<
      Pipeline.Builder<
        "orders" | "active" | "slim" | "renamed" | "split" | "computed",
        { readonly id: number; double: unknown; total: unknown },
        never,
        never,
        RecordError
      >
    >()

    // An expression filter keeps the record type.
    expectTypeOf(base.filter("big", "amount > 100")).toEqualTypeOf<Pipeline.Builder<"orders" | "big", Order, never, never, RecordError>>()
  })

  it("keeps optional fields optional through select and rename", () => {
    const p = Pipeline.from("orders", orders).select("s", ["id", "note"]).rename("r", { note: "comment" })
    expectTypeOf(p).toEqualTypeOf<Pipeline.Builder<"orders" | "s" | "r", { readonly id: number; readonly comment?: string }, never, never>>()
  })

  it("rejects a select or rename of a missing field", () => {
    const p = Pipeline.from("orders", orders)
    // @ts-expect-error: Type '"customer"' is not assignable to type FieldOf<Order>
    p.select("s", ["id", "customer"])
    // @ts-expect-error: 'customer' does not exist in type RenameFields<Order>
    p.rename("r", { customer: "client" })
    // @ts-expect-error: CompileError<"rename 'r': the records have no field 'customer'">
    p.rename("r", { id: "order_id", customer: "client" })
    // A rename onto a field the records have would overwrite it: a compile error (a swap is fine).
    // @ts-expect-error: CompileError<"rename 'r': renaming field 'status' to 'amount' would overwrite the records' field 'amount'">
    p.rename("r", { status: "amount" })
    p.rename("r", { status: "amount", amount: "total" })
    p.rename("r", { status: "state", id: "key" })
    // A field removed by an earlier select is missing too.
    // @ts-expect-error: Type '"status"' is not assignable
    p.select("s", ["id"]).select("t", ["status"])
  })

  it("rejects a sink that does not accept the upstream records", () => {
    const p = Pipeline.from("orders", orders).select("s", ["id", "amount"])
    // A sink of a supertype accepts: fewer fields, unknown.
    expectTypeOf(p.to("out", Spec.sink<{ readonly id: number }>("memory", {}))).toEqualTypeOf<
      Pipeline.Pipeline<"orders" | "s" | "out", ConnectorError, never>
    >()
    expectTypeOf(p.to("out", anything)).toEqualTypeOf<Pipeline.Pipeline<"orders" | "s" | "out", ConnectorError, never>>()
    // @ts-expect-error: CompileError<"sink 'out' does not accept the records it reads: the records have no field 'status'">
    p.to("out", Spec.sink<{ readonly id: number; readonly status: string }>("memory", {}))
    // @ts-expect-error: CompileError<"sink 'out' does not accept the records it reads: field 'id' has a type it does not accept">
    p.to("out", Spec.sink<{ readonly id: string }>("memory", {}))
  })

  it("rejects a registered processor that does not accept the upstream records", () => {
    const enrich = Spec.processor<{ readonly id: number }, { readonly id: number; readonly name: string }>("enrich", {})
    const p = Pipeline.from("orders", orders)
    expectTypeOf(p.via("enriched", enrich)).toEqualTypeOf<
      Pipeline.Builder<"orders" | "enriched", { readonly id: number; readonly name: string }, never, never>
    >()
    const byName = Spec.processor<{ readonly name: string }, { readonly name: string }>("by_name", {})
    // @ts-expect-error: CompileError<"processor 'x' does not accept the records it reads: the records have no field 'name'">
    p.via("x", byName)
  })

  it("rejects duplicate and non-literal node ids", () => {
    const p = Pipeline.from("orders", orders).filter("active", (r) => r.amount > 0)
    // @ts-expect-error: CompileError<"duplicate node id 'orders' ...">
    p.map("orders", (r) => r)
    // @ts-expect-error: CompileError<"duplicate node id 'active' ...">
    p.to("active", anything)
    const id: string = "dynamic"
    // @ts-expect-error: CompileError<"a node id must be a string literal ...">
    p.filter(id, () => true)
  })

  it("types key_by by the fields of the node's input", () => {
    const p = Pipeline.from("orders", orders)
    p.filter("ok", () => true, { parallelism: 2, key_by: "status", ordered: true })
    p.filter("ok", () => true, { key_by: ["status", "id"] })
    // @ts-expect-error: Type '"customer"' is not assignable
    p.filter("ok", () => true, { key_by: "customer" })
  })

  it("tracks the error type and requirements of user processors", () => {
    const p = Pipeline.from("orders", orders)
      .process("convert", (records) =>
        Effect.gen(function*() {
          const rates = yield* Rates
          if (records.length === 0) return yield* new Unavailable({ service: "rates" })
          return records.map((r) => ({ id: r.id, eur: r.amount * rates.rate("USD") }))
        }))
      .filter("positive", (r) => r.eur > 0)
    expectTypeOf(p).toEqualTypeOf<Pipeline.Builder<"orders" | "convert" | "positive", { id: number; eur: number }, Unavailable, Rates>>()
    const done = p.to("out", anything)
    expectTypeOf(done).toEqualTypeOf<Pipeline.Pipeline<"orders" | "convert" | "positive" | "out", Unavailable | ConnectorError, Rates>>()

    const running = Pipeline.run(done)
    expectTypeOf(running).toEqualTypeOf<Effect.Effect<RunSummary, Pipeline.RunError<Unavailable | ConnectorError>, Registry | Rates>>()
    // The processor's error is in the failed node's cause.
    const handled = running.pipe(
      Effect.catchTag("NodeError", (e) => Effect.succeed(e.cause instanceof Unavailable ? e.cause.service : "other"))
    )
    expectTypeOf(handled).toEqualTypeOf<
      Effect.Effect<RunSummary | string, Exclude<Pipeline.RunError<Unavailable | ConnectorError>, { readonly _tag: "NodeError" }>, Registry | Rates>
    >()
  })

  it("works on records with an index signature (a CSV without declared columns)", () => {
    const csv = Spec.source<{ readonly [column: string]: string }>("csv", { path: "x.csv" })
    const p = Pipeline.from("in", csv).filter("f", (r) => r["status"] === "active").select("s", ["id", "name"])
    expectTypeOf(p).toEqualTypeOf<Pipeline.Builder<"in" | "f" | "s", { id: string; name: string }, never, never>>()
    expectTypeOf(p.rename("r", { id: "key" })).toEqualTypeOf<
      Pipeline.Builder<"in" | "f" | "s" | "r", { key: string; name: string }, never, never>
    >()
    // A sink for string-valued rows accepts them; one needing numbers does not.
    Pipeline.from("in", csv).to("ok", Spec.sink<{ readonly [column: string]: string }>("csv", {}))
    // @ts-expect-error: CompileError<"sink 'bad' does not accept the records it reads: ...">
    Pipeline.from("in", csv).to("bad", Spec.sink<{ readonly id: number }>("csv", {}))
  })

  it("types the data-last combinators in a pipe like the method chain", () => {
    const p = pipe(
      Pipeline.from("orders", orders),
      Pipeline.filter("active", (r) => r.status === "active"),
      Pipeline.map("cents", (r) => ({ id: r.id, cents: r.amount * 100 })),
      Pipeline.rename("renamed", { cents: "value" }),
      Pipeline.select("slim", ["value"]),
      Pipeline.process("checked", (rs) => Effect.fail(new Unavailable({ service: String(rs.length) }))),
      Pipeline.to("out", anything)
    )
    expectTypeOf(p).toEqualTypeOf<Pipeline.Pipeline<"orders" | "active" | "cents" | "renamed" | "slim" | "checked" | "out", Unavailable | ConnectorError, never>>()
    const base = Pipeline.from("orders", orders)
    // @ts-expect-error: duplicate node id 'orders'
    pipe(base, Pipeline.filter("orders", "amount > 1"))
    // @ts-expect-error: select 's': the records have no field 'customer'
    pipe(base, Pipeline.select("s", ["customer"]))
    // @ts-expect-error: rename 'r': the records have no field 'customer'
    pipe(base, Pipeline.rename("r", { customer: "client" }))
    // @ts-expect-error: rename 'r': renaming field 'status' to 'amount' would overwrite the records' field 'amount'
    pipe(base, Pipeline.rename("r", { status: "amount" }))
    pipe(base, Pipeline.rename("r", { status: "amount", amount: "total" }))
    // @ts-expect-error: sink 'out' does not accept the records it reads
    pipe(base, Pipeline.to("out", Spec.sink<{ readonly id: string }>("x", {})))
  })

  it("is a WorkflowGraph once finished", () => {
    const p = Pipeline.from("orders", orders).to("out", anything)
    expectTypeOf(Pipeline.toGraph(p).nodes).toEqualTypeOf<ReadonlyArray<import("../../src/WorkflowGraph.ts").Node>>()
  })
})
