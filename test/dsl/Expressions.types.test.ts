/**
 * Type-level tests: expression steps are checked against the fields of the records reaching them
 * (`"amout >= 3"` on typed records does not compile; it used to filter everything out).
 */
import { pipe } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import type { RecordError } from "../../src/Errors.ts"
import * as Spec from "../../src/Spec.ts"

interface Order {
  readonly id: number
  readonly status: string
  readonly amount: number
  readonly address: { readonly city: string }
  readonly "first name": string
}

const orders = Spec.source<Order>("memory", { records: [] })

describe("expression steps", () => {
  it("an expression reading fields the records have compiles", () => {
    const p = Pipeline.from("orders", orders)
      .filter("active", "status == 'active' && amount >= 10 && not (id in [1, 2])")
      .filter("city", "lower(address.city) == 'berlin' || `first name` == 'amount'")
      .mapFields("shaped", { total: "round(amount * 1.2, 2)", label: "concat(status, ' ', to_string(id))" })
      .filter("computed", "total > 10")
    expectTypeOf(p).toExtend<Pipeline.Builder<"orders" | "active" | "city" | "shaped" | "computed", unknown, RecordError, never, RecordError>>()
  })

  it("a field the records do not have does not compile", () => {
    const base = Pipeline.from("orders", orders)
    // @ts-expect-error: CompileError<"filter 'large': the records have no field 'amout'">
    base.filter("large", "amout >= 3")
    // @ts-expect-error: CompileError<"mapFields 'm': the records have no field 'price'">
    base.mapFields("m", { total: "price * 2" })
    // @ts-expect-error: a backticked name is a field too
    base.filter("named", "`last name` == 'x'")
    // a path step inside a field is not a root field, a string is not a field
    base.filter("paths", "address.zip == 'status' && amount > 0")
  })

  it("the data-last forms check the same way", () => {
    pipe(Pipeline.from("orders", orders), Pipeline.filter("ok", "amount > 0"))
    // @ts-expect-error: 'amout' is not a field
    pipe(Pipeline.from("orders", orders), Pipeline.filter("typo", "amout > 0"))
  })

  it("a Workflow node reads the fields of any of its inputs", () => {
    const w = Workflow.make("w")
      .source("orders", orders)
      .source("refunds", Spec.source<{ readonly id: number; readonly refunded: number }>("memory", { records: [] }))
    w.filter("any", ["orders", "refunds"], "refunded > 0 || amount > 0")
    // @ts-expect-error: no input has 'refundd'
    w.filter("typo", ["orders", "refunds"], "refundd > 0")
  })

  it("records that do not list their fields are not checked", () => {
    const loose = Spec.source<{ readonly [field: string]: unknown }>("memory", { records: [] })
    Pipeline.from("loose", loose).filter("any", "whatever > 1")
    Pipeline.from("unknown", Spec.source<unknown>("memory", { records: [] })).filter("any", "whatever > 1")
  })
})
