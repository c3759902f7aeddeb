/**
 * `recordJson` (the fast JSON text of a record, used by the `ndjson` codec and the CSV range
 * threads) writes exactly what `toJsonText` writes: for generated records of every value kind,
 * dates over the whole range `Date` allows (six-digit years, invalid dates), strings with
 * characters JSON escapes (quotes, controls, lone and paired surrogates), -0, non-finite numbers,
 * bigints, bytes, nested values and objects with their own `toJSON`.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { recordJson } from "../../../src/connectors/kit/internal/recordJson.ts"
import { toJsonText } from "../../../src/internal/jsonText.ts"

const MAX_TIME = 8.64e15

const date = fc.oneof(
  fc.integer({ min: -MAX_TIME, max: MAX_TIME }).map((ms) => new Date(ms)),
  fc.integer({ min: -62167219200000 - 1000, max: -62167219200000 + 1000 }).map((ms) => new Date(ms)),
  fc.integer({ min: 253402300800000 - 1000, max: 253402300800000 + 1000 }).map((ms) => new Date(ms)),
  fc.date({ noInvalidDate: true }),
  fc.constant(new Date(Number.NaN))
)

const scalar = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.constantFrom("\"", "\\", "\n", "\u0000", "\u001f", "\ud800", "\udc00", "😀", "é", "\u2028", "a") }),
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, 5e-324),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  date
)

const value = fc.oneof(
  { weight: 5, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string(), scalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }) }
)

const key = fc.oneof(fc.string(), fc.constantFrom("id", "1", "0", "__proto__x", "a\"b", "\u0001", "toJSON2"))

describe("recordJson", () => {
  it("writes what toJsonText writes, for records of every value kind (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 8 }), (record) => {
        assert.strictEqual(recordJson(record), toJsonText(record))
      }),
      { numRuns: 3000 }
    )
  })

  it("dates: every day of years 0000-9999 at random times, and the edges", () => {
    fc.assert(
      fc.property(date, (d) => {
        assert.strictEqual(recordJson({ at: d }), toJsonText({ at: d }))
      }),
      { numRuns: 5000 }
    )
    for (const ms of [0, -1, 1, 951782400000, 951868800000, -62135596800000, -62167219200000, 253402300799999, 253402300800000]) {
      assert.strictEqual(recordJson({ at: new Date(ms) }), toJsonText({ at: new Date(ms) }), String(ms))
    }
  })

  it("values it does not write itself: a record or value with its own toJSON, a class instance, an array, a non-object", () => {
    const own = { toJSON: () => "mine" }
    class Point {
      readonly x = 1
    }
    const dateWithToJson = Object.assign(new Date(0), { toJSON: () => "own" })
    for (const v of [own, { a: own }, new Point(), { p: new Point() }, [1, new Date(0)], "text", 1, null, { d: dateWithToJson }, Object.create(null)]) {
      assert.strictEqual(recordJson(v), toJsonText(v))
    }
    const cyclic: { self?: unknown } = {}
    cyclic.self = { back: cyclic }
    assert.throws(() => recordJson(cyclic))
  })
})
