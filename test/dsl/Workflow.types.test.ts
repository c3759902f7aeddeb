/**
 * Type-level tests of the DAG builder, checked by `tsc`.
 */
import { Context, Effect, Schema } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import * as Workflow from "../../dsl/Workflow.ts"
import type { ConnectorError } from "../../src/Errors.ts"
import type { Registry } from "../../src/Registry.ts"
import type { RunSummary } from "../../src/Runtime.ts"
import * as Spec from "../../src/Spec.ts"

interface WebOrder {
  readonly id: number
  readonly sku: string
  readonly channel: "web"
}
interface StoreOrder {
  readonly id: number
  readonly item: string
  readonly channel: "store"
}

const web = Spec.source<WebOrder>("memory", { records: [] })
const store = Spec.source<StoreOrder>("memory", { records: [] })
const anything = Spec.sink<unknown>("memory_sink", {})

class Lookup extends Context.Service<Lookup, { readonly name: (id: number) => string }>()("test/Lookup") {}
class LookupFailed extends Schema.TaggedError<LookupFailed>()("LookupFailed", { id: Schema.Number }) {}

describe("Workflow types", () => {
  it("gives a fan-in node the union of its inputs' record types", () => {
    const w = Workflow.make("shop").source("web", web).source("store", store)
    w.map("orders", ["web", "store"], (o) => {
      expectTypeOf(o).toEqualTypeOf<WebOrder | StoreOrder>()
      return o
    })
    // Narrowing on a discriminant reconciles the union.
    const reconciled = w.map("orders", ["web", "store"], (o) => ({ id: o.id, item: o.channel === "web" ? o.sku : o.item }))
    const built = reconciled.sink("out", ["orders"], Spec.sink<{ readonly id: number; readonly item: string }>("x", {})).build()
    expectTypeOf(built).toEqualTypeOf<Workflow.Workflow<"web" | "store" | "orders" | "out", ConnectorError, never>>()
  })

  it("rejects a sink that accepts only one member of a fan-in", () => {
    const w = Workflow.make("shop").source("web", web).source("store", store)
    // A sink of a common supertype accepts both.
    w.sink("ids", ["web", "store"], Spec.sink<{ readonly id: number }>("x", {}))
    w.sink("all", ["web", "store"], Spec.sink<WebOrder | StoreOrder>("x", {}))
    // @ts-expect-error: CompileError<"sink 'web_only' does not accept the records it reads: the records have no field 'sku'">
    w.sink("web_only", ["web", "store"], Spec.sink<WebOrder>("x", {}))
    // A select over a fan-in may only name fields every input has.
    expectTypeOf(w.select("ids", ["web", "store"], ["id"])).toExtend<
      Workflow.Builder<{ readonly web: WebOrder; readonly store: StoreOrder; readonly ids: { readonly id: number } }, "web" | "store", never, never, never>
    >()
    // @ts-expect-error: Type '"sku"' is not assignable (StoreOrder has no sku)
    w.select("skus", ["web", "store"], ["sku"])
    // A rename onto a field the records have would overwrite it: a compile error.
    // @ts-expect-error: CompileError<"rename 'r': renaming field 'sku' to 'id' would overwrite the records' field 'id'">
    w.rename("r", ["web"], { sku: "id" })
    w.rename("r", ["web"], { sku: "id", id: "key" })
  })

  it("tracks each node's record type through a DAG with fan-out", () => {
    const w = Workflow.make("shop")
      .source("web", web)
      .filter("big", ["web"], (o) => o.id > 100)
      .select("skus", ["web"], ["sku"])
      .rename("ids", ["big"], { id: "order_id" })
    expectTypeOf(w).toEqualTypeOf<
      Workflow.Builder<
        {
          readonly web: WebOrder
          readonly big: WebOrder
          readonly skus: { readonly sku: string }
          readonly ids: { readonly order_id: number; readonly sku: string; readonly channel: "web" }
        },
        "web" | "big",
        never,
        never,
        never
      >
    >()
  })

  it("rejects unknown inputs, empty inputs and duplicate ids", () => {
    const w = Workflow.make("shop").source("web", web).sink("out", ["web"], anything)
    // @ts-expect-error: Type '"wbe"' is not assignable to type '"web"'
    w.filter("f", ["wbe"], () => true)
    // @ts-expect-error: a node needs at least one input
    w.filter("f", [], () => true)
    // @ts-expect-error: a sink cannot be an input
    w.filter("f", ["out"], () => true)
    // @ts-expect-error: CompileError<"duplicate node id 'web' ...">
    w.source("web", store)
    // @ts-expect-error: CompileError<"duplicate node id 'out' ...">
    w.filter("out", ["web"], () => true)
  })

  it("refuses to build a workflow without a sink or with a node nobody reads", () => {
    const w = Workflow.make("shop").source("web", web).source("store", store)
    // @ts-expect-error: CompileError<"a workflow needs at least one sink">
    w.build()
    const half = w.sink("out", ["web"], anything)
    // @ts-expect-error: CompileError<"node 'store' is not read by any node or sink">
    half.build()
    expectTypeOf(half.sink("out2", ["store"], anything).build()).toEqualTypeOf<
      Workflow.Workflow<"web" | "store" | "out" | "out2", ConnectorError, never>
    >()
  })

  it("types side outputs declared with port", () => {
    const totals = Spec.processor<WebOrder, { readonly sku: string; readonly count: number }>("aggregate", {})
    const w = Workflow.make("shop")
      .source("web", web)
      .via("agg", ["web"], totals)
      .port("agg", "late", Workflow.records<WebOrder>())
    w.sink("late", ["agg.late"], Spec.sink<{ readonly sku: string; readonly channel: "web" }>("x", {}))
    // @ts-expect-error: CompileError<"sink 'late' does not accept the records it reads: the records have no field 'count'">
    w.sink("late", ["agg.late"], Spec.sink<{ readonly count: number }>("x", {}))
    // @ts-expect-error: CompileError<"duplicate node id 'agg.late' ...">
    w.port("agg", "late")
    // Reading only the side output counts as reading the node (as at run time); the port itself
    // needs no reader.
    expectTypeOf(w.sink("late", ["agg.late"], anything).build()).toEqualTypeOf<
      Workflow.Workflow<"web" | "agg" | "agg.late" | "late", ConnectorError, never>
    >()
    expectTypeOf(w.sink("totals", ["agg"], anything).build()).toEqualTypeOf<
      Workflow.Workflow<"web" | "agg" | "agg.late" | "totals", ConnectorError, never>
    >()
  })

  it("tracks the error type and requirements of user processors", () => {
    const w = Workflow.make("shop")
      .source("web", web)
      .process("named", ["web"], (orders) =>
        Effect.gen(function*() {
          const lookup = yield* Lookup
          if (orders.length > 1000) return yield* new LookupFailed({ id: orders[0].id })
          return orders.map((o) => ({ ...o, name: lookup.name(o.id) }))
        }))
      .sink("out", ["named"], Spec.sink<{ readonly name: string }>("x", {}))
      .build()
    expectTypeOf(Workflow.run(w)).toEqualTypeOf<
      Effect.Effect<RunSummary, Workflow.RunError<LookupFailed | ConnectorError>, Registry | Lookup>
    >()
  })
})
