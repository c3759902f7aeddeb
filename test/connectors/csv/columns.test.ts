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

  it("a timestamp column reads the common ISO forms (computed from the digits) as Date reads them", () => {
    const layout = makeLayout(["t"], { t: "timestamp" }, undefined)
    const pad = (v: number, n = 2) => String(v).padStart(n, "0")
    const time = fc.record({
      year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 99, 100, 1000, 1970, 2000, 2024)),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 24 }),
      minute: fc.integer({ min: 0, max: 60 }),
      second: fc.integer({ min: 0, max: 60 }),
      ms: fc.integer({ min: 0, max: 999 }),
      form: fc.integer({ min: 0, max: 8 })
    }).map(({ year, month, day, hour, minute, second, ms, form }) => {
      const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`
      const t = `${pad(hour)}:${pad(minute)}:${pad(second)}`
      return [date, `${date}T${t}`, `${date}T${t}Z`, `${date}T${t}.${pad(ms, 3)}`, `${date}T${t}.${pad(ms, 3)}Z`, `${date} ${t}`, `${date}T${t}+02:00`, `${date}T${pad(hour)}:${pad(minute)}`, `${date}Z`][form]
    })
    fc.assert(
      fc.property(time, (text) => {
        const record = build(layout, [text], 1, error)
        const hasZone = text.length === 10 || /(Z|[+-]\d\d:\d\d)$/.test(text)
        const expected = new Date(hasZone ? text : `${text}Z`).getTime()
        const [, m, d, h, mi, sec] = /^\d{4}-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?/.exec(text)!.map(Number)
        const days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        const year = Number(text.slice(0, 4))
        const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
        const exists = m >= 1 && m <= 12 && d >= 1 && d <= (m === 2 && leap ? 29 : days[m - 1]) &&
          !(h > 23 || mi > 59 || sec > 59)
        // a date or time that does not exist, a form Date refuses (a space before the time of a
        // year below 100, a Z after a date alone) are refused; the rest reads as Date reads it
        if (!exists) assert.match(error.detail, /no such date or time/, text)
        if (!exists || Number.isNaN(expected) || /^\d{4}-\d\d-\d\dZ$/.test(text)) assert.isUndefined(record, text)
        else assert.strictEqual((record?.t as Date | undefined)?.getTime(), expected, text)
      }),
      { numRuns: runs * 10 }
    )
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
