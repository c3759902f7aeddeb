/** `filter`: conditions from expressions and from predicates, over real batches. */
import { assert, describe, it } from "@effect/vitest"
import * as Batch from "../../src/Batch.ts"
import { RecordError } from "../../src/Errors.ts"
import * as Processor from "../../src/Processor.ts"
import { FilterDefinition } from "../../src/processors/filter.ts"
import { issue, run, steps } from "./statelessSupport.ts"

const orders = [
  { id: 1, status: "active", amount: 5, country: "DE" },
  { id: 2, status: "active", amount: 15, country: "FR" },
  { id: 3, status: "closed", amount: 50, country: "DE" },
  { id: 4, status: "active", amount: 10, country: "US" },
  { id: 5, status: "active", amount: 99, country: "DE", deleted: true },
  { id: 6, status: "active", amount: null, country: "FR" }
]
const countries = ["DE", "FR", "US"]
const ids = (rs: ReadonlyArray<unknown>) => rs.map((r) => (r as { id: number }).id)

describe("filter", () => {
  it("keeps the records for which the condition is true", () => {
    assert.deepStrictEqual(ids(run(steps(FilterDefinition, { condition: "status == 'active' && amount >= 10" }), orders)), [2, 4, 5])
    assert.deepStrictEqual(ids(run(steps(FilterDefinition, { condition: "country in ['DE','FR'] and not deleted" }), orders)), [1, 2, 3, 6])
    assert.deepStrictEqual(ids(run(steps(FilterDefinition, { condition: "amount == null" }), orders)), [6])
  })
  it("keeps the records for which a predicate (DSL) is true", () => {
    const predicate = (r: unknown) => (r as { amount: number | null }).amount === 10
    assert.deepStrictEqual(ids(run(steps(FilterDefinition, { predicate }), orders)), [4])
  })
  it("accepts and ignores `vectorized` (the original workflow format)", () => {
    assert.deepStrictEqual(ids(run(steps(FilterDefinition, { condition: "id > 4", vectorized: true }), orders)), [5, 6])
  })
  it("a run-time type error throws a RecordError naming the expression and carrying the record", () => {
    const s = steps(FilterDefinition, { condition: "amount * 2 > 10" })
    try {
      run(s, [{ amount: "lots" }])
      assert.fail("should throw")
    } catch (e) {
      assert.instanceOf(e, RecordError)
      assert.strictEqual((e as RecordError).detail, "expression `amount * 2 > 10`: cannot multiply string 'lots' by number 2 (column 8)")
      assert.deepStrictEqual((e as RecordError).record, { amount: "lots" })
    }
  })
  it("filters more than 1 M records/s through the fused loop", () => {
    const run1 = Processor.runSteps(steps(FilterDefinition, { condition: "status == 'active' && amount >= 10 && country in ['DE', 'FR']" }))
    const statuses = ["active", "closed"]
    const records = Array.from({ length: 200_000 }, (_, i) => ({ id: i, status: statuses[i % 2], amount: i % 50, country: countries[i % 3] }))
    const batches = Batch.chunksOf(Batch.make(records), 1000)
    let best = 0
    let kept = 0
    for (let rep = 0; rep < 3; rep++) {
      const start = performance.now()
      kept = 0
      for (const b of batches) kept += run1(b).length
      best = Math.max(best, records.length / ((performance.now() - start) / 1000))
    }
    assert.strictEqual(kept, records.filter((r) => r.status === "active" && r.amount >= 10 && r.country !== "US").length)
    assert.isAbove(best, 1_000_000)
  })
  it("a condition that does not compile is a config issue at `condition` with its column", () => {
    assert.deepStrictEqual(issue(FilterDefinition, { condition: "status == 'active')" }), {
      _tag: "ProcessorConfigIssue",
      path: ["condition"],
      message: "unexpected token ')'",
      column: 19
    })
    assert.deepStrictEqual(issue(FilterDefinition, { condition: "price * 2" }).path, ["condition"])
  })
  it("needs exactly one of condition and predicate", () => {
    assert.deepStrictEqual(issue(FilterDefinition, {}).path, ["condition"])
    assert.strictEqual(issue(FilterDefinition, { condition: "true", predicate: () => true }).message, "give either 'condition' or 'predicate', not both")
  })
})
