/**
 * Type-level tests of the typed connector specs: `Csv.sink` columns typed, a typed memory sink,
 * `Ndjson.source` with a Schema.
 */
import { Schema } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Csv from "../../src/connectors/csv/index.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as Ndjson from "../../src/connectors/ndjson/index.ts"
import * as Spec from "../../src/Spec.ts"

interface Order {
  readonly id: number
  readonly amount: number
  readonly placed: Date
}

const orders = Spec.source<Order>("memory", { records: [] })

describe("typed specs", () => {
  it("a Csv sink takes values its column types read back", () => {
    const sink = Csv.sink({ path: "out.csv", columns: { id: "integer", amount: "number", placed: "timestamp" } })
    Pipeline.from("orders", orders).to("out", sink)
    // a timestamp column takes an ISO string too; null is an empty field
    Pipeline.from("orders", orders).map("iso", (o) => ({ ...o, placed: o.placed.toISOString(), amount: null })).to("out", sink)
    // @ts-expect-error: CompileError<"sink 'out' does not accept the records it reads: field 'id' has a type it does not accept">
    Pipeline.from("orders", orders).map("text", (o) => ({ ...o, id: String(o.id) })).to("out", sink)
    // @ts-expect-error: the records have no field 'placed'
    Pipeline.from("orders", orders).select("slim", ["id", "amount"]).to("out", sink)
  })

  it("a memory sink of a type takes only records of that type", () => {
    Pipeline.from("orders", orders).to("out", Memory.sink<{ readonly id: number }>())
    // @ts-expect-error: the records have no field 'customer'
    Pipeline.from("orders", orders).to("out", Memory.sink<{ readonly customer: string }>())
    const large = Memory.list<Order>("large")
    Pipeline.from("orders", orders).filter("large", "amount > 100").to("out", large.sink())
    expectTypeOf(large.records()).toEqualTypeOf<ReadonlyArray<Order>>()
    // @ts-expect-error: a list of another type
    Pipeline.from("orders", orders).select("ids", ["id"]).to("out", large.sink())
  })

  it("an Ndjson source with a Schema has the Schema's type", () => {
    const OrderSchema = Schema.Struct({ id: Schema.Int, amount: Schema.Number, placed: Schema.DateFromString })
    const source = Ndjson.source({ path: "orders.ndjson", schema: OrderSchema })
    expectTypeOf(source).toEqualTypeOf<Spec.SourceSpec<{ readonly id: number; readonly amount: number; readonly placed: Date }>>()
    expectTypeOf(Ndjson.source<Order>({ path: "orders.ndjson" })).toEqualTypeOf<Spec.SourceSpec<Order>>()
    // @ts-expect-error: 'amout' is not a field of the Schema's records
    Pipeline.from("orders", source).filter("large", "amout > 3")
  })
})
