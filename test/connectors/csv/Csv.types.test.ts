/**
 * Type-level tests of the connector spec constructors, checked by `tsc` (every
 * `@ts-expect-error` line must really be an error).
 */
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../../dsl/Pipeline.ts"
import * as Csv from "../../../src/connectors/csv/index.ts"
import * as Memory from "../../../src/connectors/memory/index.ts"
import * as Ndjson from "../../../src/connectors/ndjson/index.ts"
import * as Stdout from "../../../src/connectors/stdout/index.ts"
import type * as Spec from "../../../src/Spec.ts"

describe("connector spec types", () => {
  it("a csv source's record type comes from columns and required", () => {
    const orders = Csv.source({ path: "orders.csv", columns: { id: "integer", amount: "number", name: "string" } })
    expectTypeOf(orders).toEqualTypeOf<
      Spec.SourceSpec<{ readonly id: number | null; readonly amount: number | null; readonly name: string }>
    >()
    const strict = Csv.source({
      path: "orders.csv",
      columns: { id: "integer", at: "timestamp", ok: "boolean", meta: "json" },
      required: ["id", "at"]
    })
    expectTypeOf(strict).toEqualTypeOf<
      Spec.SourceSpec<{
        readonly id: number
        readonly at: Date
        readonly ok: boolean | null
        readonly meta: Csv.CsvConfig.Json
      }>
    >()
    expectTypeOf(Csv.source({ path: "any.csv" })).toEqualTypeOf<Spec.SourceSpec<{ readonly [column: string]: string }>>()
  })

  it("the spec's config is the config as written", () => {
    const config = { path: "orders.csv", columns: { id: "integer" }, required: ["id"] } as const
    expectTypeOf(Csv.source(config).config).toEqualTypeOf<unknown>()
    // @ts-expect-error an unknown column type
    Csv.source({ path: "orders.csv", columns: { id: "int" } })
  })

  it("typed csv records flow into the DSL; a csv sink with columns needs those columns", () => {
    const p = Pipeline.from("orders", Csv.source({ path: "o.csv", columns: { id: "integer", amount: "number" }, required: ["amount"] }))
      .filter("large", (r) => r.amount >= 100)
    p.to("out", Ndjson.sink({ path: "out.ndjson" }))
    p.to("csv", Csv.sink({ path: "out.csv", columns: { id: "integer", amount: "number" } }))
    p.to("stdout", Stdout.sink())
    p.to("collect", Memory.sink())
    // @ts-expect-error the records have no `missing` column
    p.to("csv", Csv.sink({ path: "out.csv", columns: { id: "integer", missing: "string" } }))
  })

  it("memory and generator sources are typed from their records / make", () => {
    expectTypeOf(Memory.source({ records: [{ id: 1, status: "a" }] })).toEqualTypeOf<
      Spec.SourceSpec<{ id: number; status: string }>
    >()
    expectTypeOf(Memory.generator({ count: 3, make: (i) => ({ n: i, even: i % 2 === 0 }) })).toEqualTypeOf<
      Spec.SourceSpec<{ n: number; even: boolean }>
    >()
    expectTypeOf(Memory.generator({ count: 3 })).toEqualTypeOf<Spec.SourceSpec<{ readonly id: number }>>()
    expectTypeOf(Ndjson.source<{ readonly id: number }>({ path: "x" })).toEqualTypeOf<Spec.SourceSpec<{ readonly id: number }>>()
  })
})
