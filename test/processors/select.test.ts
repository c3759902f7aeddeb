/** `select` and `rename` over real batches. */
import { assert, describe, it } from "@effect/vitest"
import { RenameDefinition } from "../../src/processors/rename.ts"
import { SelectDefinition } from "../../src/processors/select.ts"
import { issue, run, steps } from "./statelessSupport.ts"

describe("select", () => {
  it("keeps only the listed fields, in the listed order; a missing field stays absent", () => {
    const out = run(steps(SelectDefinition, { fields: ["name", "id"] }), [
      { id: 1, name: "a", extra: true },
      { id: 2, extra: false },
      { name: "c", id: 3 }
    ])
    assert.deepStrictEqual(out, [{ name: "a", id: 1 }, { id: 2 }, { name: "c", id: 3 }])
    assert.deepStrictEqual(Object.keys(out[0] as object), ["name", "id"])
  })
  it("never copies inherited members", () => {
    assert.deepStrictEqual(run(steps(SelectDefinition, { fields: ["constructor", "toString"] }), [{}]), [{}])
  })
  it("refuses an empty list and duplicates", () => {
    assert.deepStrictEqual(issue(SelectDefinition, { fields: [] }).path, ["fields"])
    assert.deepStrictEqual(issue(SelectDefinition, { fields: ["a", "b", "a"] }), {
      _tag: "ProcessorConfigIssue",
      path: ["fields", 2],
      message: "field 'a' is listed twice"
    })
  })
})

describe("rename", () => {
  it("renames fields in place, keeping the others and the order", () => {
    const out = run(steps(RenameDefinition, { fields: { first: "first_name", zip: "postcode" } }), [
      { id: 1, first: "Ann", zip: "10115", city: "Berlin" },
      { id: 2, city: "Paris" }
    ])
    assert.deepStrictEqual(out, [
      { id: 1, first_name: "Ann", postcode: "10115", city: "Berlin" },
      { id: 2, city: "Paris" }
    ])
    assert.deepStrictEqual(Object.keys(out[0] as object), ["id", "first_name", "postcode", "city"])
  })
  it("a renamed field replaces an existing field of the new name; swaps work", () => {
    assert.deepStrictEqual(run(steps(RenameDefinition, { fields: { a: "b" } }), [{ a: 1, b: 2 }, { b: 3 }]), [{ b: 1 }, { b: 3 }])
    assert.deepStrictEqual(run(steps(RenameDefinition, { fields: { a: "b", b: "a" } }), [{ a: 1, b: 2 }]), [{ b: 1, a: 2 }])
  })
  it("refuses two fields renamed to one name, and empty names", () => {
    assert.deepStrictEqual(issue(RenameDefinition, { fields: { a: "x", b: "x" } }), {
      _tag: "ProcessorConfigIssue",
      path: ["fields", "b"],
      message: "'a' and 'b' are both renamed to 'x'"
    })
    assert.deepStrictEqual(issue(RenameDefinition, { fields: { a: "" } }).path, ["fields", "a"])
    assert.deepStrictEqual(issue(RenameDefinition, { fields: {} }).path, ["fields"])
  })
})
