/** `select` and `rename` over real batches. */
import { assert, describe, it } from "@effect/vitest"
import { RangeReadError } from "../../src/connectors/csv/internal/range.ts"
import { RecordError } from "../../src/Errors.ts"
import { MapDefinition } from "../../src/processors/map.ts"
import { RenameDefinition } from "../../src/processors/rename.ts"
import { SelectDefinition } from "../../src/processors/select.ts"
import { chainOf } from "../../src/workers/internal/rangeChain.ts"
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

describe("a field named __proto__", () => {
  // JSON.parse makes `__proto__` an own key; a plain assignment would replace the prototype instead
  const record = JSON.parse('{"id": 1, "__proto__": {"polluted": true}}') as object
  const check = (out: unknown, key: string) => {
    assert.strictEqual(Object.getPrototypeOf(out), Object.prototype)
    assert.strictEqual((out as { polluted?: unknown }).polluted, undefined)
    assert.isTrue(Object.hasOwn(out as object, key))
  }
  it("select copies it as a plain field", () => {
    const [out] = run(steps(SelectDefinition, { fields: ["id", "__proto__"] }), [record])
    check(out, "__proto__")
  })
  it("rename copies and renames it as a plain field", () => {
    const [kept] = run(steps(RenameDefinition, { fields: { id: "key" } }), [record])
    check(kept, "__proto__")
    const [renamed] = run(steps(RenameDefinition, { fields: { key: "__proto__" } }), [{ key: { polluted: true } }])
    check(renamed, "__proto__")
  })
  it("map sets it as a plain field", () => {
    const fields = JSON.parse('{"__proto__": "x"}') as { readonly [name: string]: string }
    const [out] = run(steps(MapDefinition, { fields }), [{ x: { polluted: true } }])
    check(out, "__proto__")
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
  it("a rename onto a field the record has is a record error naming the node and both fields (never a silent overwrite); swaps work", () => {
    const s = steps(RenameDefinition, { fields: { a: "b" } })
    // no clash: the record lacks `b`, or lacks `a`, or its `b` holds undefined (no value to lose)
    assert.deepStrictEqual(run(s, [{ a: 1 }, { b: 3 }, { a: 4, b: undefined }]), [{ b: 1 }, { b: 3 }, { b: 4 }])
    let thrown: unknown
    try {
      run(s, [{ a: 1 }, { id: 7, a: 2, b: 3 }])
    } catch (e) {
      thrown = e
    }
    assert.instanceOf(thrown, RecordError)
    const error = thrown as RecordError
    assert.strictEqual(error.field, "b")
    assert.deepStrictEqual(error.record, { id: 7, a: 2, b: 3 })
    assert.strictEqual(error.detail, "rename 'test': renaming field 'a' to 'b' would overwrite the record's field 'b' (its value would be lost); rename or drop 'b' first (select), or rename 'a' to another name")
    assert.deepStrictEqual(run(steps(RenameDefinition, { fields: { a: "b", b: "a" } }), [{ a: 1, b: 2 }]), [{ b: 1, a: 2 }])
    assert.deepStrictEqual(run(steps(RenameDefinition, { fields: { a: "b", b: "c" } }), [{ a: 1, b: 2 }]), [{ b: 1, c: 2 }])
  })
  it("fused into a CSV range thread, the same rename onto an existing field is refused the same way", () => {
    const chain = chainOf([{ node: "named", type: "rename", config: { fields: { a: "b" } } }])
    assert.deepStrictEqual(chain.run([{ a: 1 }]), [{ b: 1 }])
    let thrown: unknown
    try {
      chain.run([{ a: 1 }, { a: 2, b: 3 }])
    } catch (e) {
      thrown = e
    }
    assert.instanceOf(thrown, RangeReadError)
    const failure = (thrown as RangeReadError).failure
    assert.strictEqual(failure._tag, "Step")
    if (failure._tag === "Step") {
      assert.strictEqual(failure.node, "named")
      assert.strictEqual(failure.name, "RecordError")
      assert.strictEqual(failure.field, "b")
      assert.include(failure.detail, "rename 'named': renaming field 'a' to 'b' would overwrite the record's field 'b'")
      assert.deepStrictEqual(failure.record, { a: 2, b: 3 })
    }
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
