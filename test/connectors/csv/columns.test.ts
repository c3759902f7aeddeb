/**
 * The record builder: number columns take a fast path for short decimals that must give exactly
 * `Number(text)`, and records are made by one object literal per layout (same keys, same order).
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { numRuns, timeoutFor } from "../../../property-tests/support/effectProperty.ts"
import { type BuildError, build, makeLayout } from "../../../src/connectors/csv/internal/columns.ts"

const error: BuildError = { detail: "", column: 0, field: undefined }
const runs = numRuns(500)

describe("csv columns", () => {
  it("a number column decodes every decimal exactly as Number() does", () => {
    const layout = makeLayout(["n"], { n: "number" }, undefined)
    const decimal = fc.tuple(
      fc.constantFrom("", "-", "+"),
      fc.stringMatching(/^[0-9]{0,17}$/),
      fc.option(fc.stringMatching(/^[0-9]{0,17}$/), { nil: undefined })
    ).map(([sign, int, frac]) => `${sign}${int}${frac === undefined ? "" : `.${frac}`}`)
    fc.assert(
      fc.property(fc.oneof(decimal, fc.double({ noNaN: true, noDefaultInfinity: true }).map(String)), (text) => {
        const record = build(layout, [text], 1, error)
        const expected = Number(text)
        if (text.length === 0) assert.deepStrictEqual(record, { n: null })
        else if (Number.isNaN(expected) || !/[0-9]/.test(text)) assert.isUndefined(record, text)
        else assert.isTrue(Object.is(record?.n, expected), `${text}: ${String(record?.n)} vs ${expected}`)
      }),
      { numRuns: runs * 10 }
    )
    for (const text of ["0.1", "0.3", "123456789012345", "1234567890123456", "-0", ".5", "5.", "007.50", "1e3", "-", "."]) {
      const record = build(layout, [text], 1, error)
      const expected = Number(text)
      if (Number.isNaN(expected) || !/[0-9]/.test(text)) assert.isUndefined(record, text)
      else assert.isTrue(Object.is(record?.n, expected), text)
    }
  }, timeoutFor(runs * 10, 2, 60_000))

  it("records keep the column order and a __proto__ column is an own field", () => {
    const layout = makeLayout(["b", "a", "__proto__"], undefined, undefined)
    const record = build(layout, ["1", "2", "3"], 3, error)
    assert.deepStrictEqual(Object.keys(record ?? {}), ["b", "a", "__proto__"])
    assert.strictEqual(Object.getPrototypeOf(record), Object.prototype)
    const plain = build(makeLayout(["x", "y"], undefined, undefined), ["1", "2"], 2, error)
    assert.deepStrictEqual(Object.keys(plain ?? {}), ["x", "y"])
  })
})
