/** `map`: fields from expressions (others kept) and record functions, over real batches. */
import { assert, describe, it } from "@effect/vitest"
import { RecordError } from "../../src/Errors.ts"
import { MapDefinition } from "../../src/processors/map.ts"
import { issue, run, steps } from "./statelessSupport.ts"

const people = [
  { id: 1, first: "Ann", last: "Lee", price: 2.5, qty: 4 },
  { id: 2, first: "Bob", last: "Kay", price: 10, qty: 0 },
  { id: 3, first: "Cy", price: null, qty: 1 }
]

describe("map", () => {
  it("sets computed fields, overwrites existing ones and keeps the others", () => {
    const out = run(
      steps(MapDefinition, {
        fields: { name: "concat(first, ' ', last)", total: "price * qty", first: "upper(first)", per: "round(price / qty, 1)" }
      }),
      people
    )
    assert.deepStrictEqual(out, [
      { id: 1, first: "ANN", last: "Lee", price: 2.5, qty: 4, name: "Ann Lee", total: 10, per: 0.6 },
      { id: 2, first: "BOB", last: "Kay", price: 10, qty: 0, name: "Bob Kay", total: 0, per: null },
      { id: 3, first: "CY", price: null, qty: 1, name: "Cy ", total: null, per: null }
    ])
  })
  it("every expression reads the input record, not fields computed before it", () => {
    const out = run(steps(MapDefinition, { fields: { a: "b", b: "a" } }), [{ a: 1, b: 2 }])
    assert.deepStrictEqual(out, [{ a: 2, b: 1 }])
  })
  it("does not change the input records", () => {
    const input = [{ x: 1 }]
    run(steps(MapDefinition, { fields: { x: "x + 1", y: "1" } }), input)
    assert.deepStrictEqual(input, [{ x: 1 }])
  })
  it("a constant list is shared by every output record, frozen", () => {
    const out = run(steps(MapDefinition, { fields: { tags: "['a', 'b']" } }), [{ id: 1 }, { id: 2 }]) as Array<{ id: number; tags: Array<string> }>
    assert.deepStrictEqual(out, [{ id: 1, tags: ["a", "b"] }, { id: 2, tags: ["a", "b"] }])
    assert.isTrue(Object.isFrozen(out[0].tags))
    assert.throws(() => out[0].tags.push("c"))
  })
  it("replaces each record by fn(record) (DSL)", () => {
    const out = run(steps(MapDefinition, { fn: (r: unknown) => ({ id: (r as { id: number }).id * 10 }) }), people)
    assert.deepStrictEqual(out, [{ id: 10 }, { id: 20 }, { id: 30 }])
  })
  it("a run-time error names the output field", () => {
    try {
      run(steps(MapDefinition, { fields: { ok: "1", bad: "first * 2" } }), [{ first: "Ann" }])
      assert.fail("should throw")
    } catch (e) {
      assert.instanceOf(e, RecordError)
      assert.strictEqual((e as RecordError).field, "bad")
      assert.strictEqual((e as RecordError).message, "field 'bad': expression `first * 2`: cannot multiply string 'Ann' by number 2 (column 7); record 1 of 1 of a batch")
    }
  })
  it("a field whose expression does not compile is a config issue at fields.<name> with its column", () => {
    assert.deepStrictEqual(issue(MapDefinition, { fields: { ok: "a", total: "price ** qty" } }), {
      _tag: "ProcessorConfigIssue",
      path: ["fields", "total"],
      message: "unknown operator '**'",
      column: 7
    })
    assert.deepStrictEqual(issue(MapDefinition, {}).path, ["fields"])
    assert.deepStrictEqual(issue(MapDefinition, { fields: {}, fn: (r: unknown) => r }).path, ["fn"])
  })
})
