/**
 * Type-level tests of the processors' typed spec constructors (checked by `tsc`), and that each
 * produces the `{ type, config }` its definition decodes.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { describe, expectTypeOf } from "vitest"
import {
  filterSpec,
  flatMapSpec,
  mapFieldsSpec,
  mapSpec,
  processorDefinitions,
  processSpec,
  renameSpec,
  selectSpec
} from "../../src/processors/index.ts"
import * as Registry from "../../src/Registry.ts"
import type { ProcessorSpec } from "../../src/Spec.ts"

interface Order {
  readonly id: number
  readonly status: string
  readonly amount: number
  readonly note?: string
}

type OutputOf<S> = S extends ProcessorSpec<never, infer O> ? O : never

describe("processor spec types", () => {
  it("filter keeps the record type; map, flat_map and process take the function's result", () => {
    expectTypeOf(filterSpec<Order>("amount > 1")).toEqualTypeOf<ProcessorSpec<Order, Order>>()
    expectTypeOf(filterSpec<Order>((o) => o.amount > 1)).toEqualTypeOf<ProcessorSpec<Order, Order>>()
    expectTypeOf(mapSpec((o: Order) => ({ id: o.id, big: o.amount > 10 }))).toEqualTypeOf<
      ProcessorSpec<Order, { id: number; big: boolean }>
    >()
    expectTypeOf(flatMapSpec((o: Order) => [o.id])).toEqualTypeOf<ProcessorSpec<Order, number>>()
    expectTypeOf(processSpec((os: ReadonlyArray<Order>) => Effect.succeed(os.map((o) => o.status)))).toEqualTypeOf<
      ProcessorSpec<Order, string>
    >()
    // @ts-expect-error the predicate must take the record type
    filterSpec<Order>((o: { other: string }) => o.other === "x")
  })
  it("select picks fields, and refuses a field the record does not have", () => {
    expectTypeOf<OutputOf<ReturnType<typeof selectSpec<Order, "id" | "note">>>>().toEqualTypeOf<Pick<Order, "id" | "note">>()
    // @ts-expect-error 'missing' is not a field of Order
    selectSpec<Order, "missing">(["missing"])
  })
  it("rename carries the new names and refuses unknown old names", () => {
    const spec = renameSpec<Order, { status: "state" }>({ status: "state" })
    expectTypeOf<OutputOf<typeof spec>>().toEqualTypeOf<{
      readonly id: number
      readonly state: string
      readonly amount: number
      readonly note?: string
    }>()
    // @ts-expect-error 'missing' is not a field of Order
    renameSpec<Order, { missing: "x" }>({ missing: "x" })
  })
  it("mapFields sets computed fields to unknown and keeps the others", () => {
    const spec = mapFieldsSpec<Order, { total: string; amount: string }>({ total: "amount * 2", amount: "amount + 1" })
    expectTypeOf<OutputOf<typeof spec>["total"]>().toEqualTypeOf<unknown>()
    expectTypeOf<OutputOf<typeof spec>["amount"]>().toEqualTypeOf<unknown>()
    expectTypeOf<OutputOf<typeof spec>["status"]>().toEqualTypeOf<string>()
  })
  it.effect("every spec's config decodes through its definition's Schema and makes a processor", () =>
    Effect.gen(function*() {
      const registry = yield* Registry.make(processorDefinitions)
      const specs = [
        filterSpec<Order>("amount > 1"),
        filterSpec<Order>((o) => o.amount > 1),
        mapSpec((o: Order) => o.id),
        mapFieldsSpec<Order, { total: string }>({ total: "amount * 2" }),
        selectSpec<Order, "id">(["id"]),
        renameSpec<Order, { status: "state" }>({ status: "state" }),
        flatMapSpec((o: Order) => [o]),
        processSpec((os: ReadonlyArray<Order>) => Effect.succeed(os))
      ]
      for (const spec of specs) {
        const entry = registry.find("processor", spec.type)
        if (entry === undefined || entry.kind !== "processor") return assert.fail(`no processor '${spec.type}'`)
        const prepared = entry.prepare(spec.config, { node: "n" })
        assert.isTrue(prepared.ok, `${spec.type}: ${JSON.stringify(prepared)}`)
      }
    }))
})
