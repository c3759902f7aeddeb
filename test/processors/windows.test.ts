import { assert, describe, it } from "@effect/vitest"
import { RecordError } from "../../src/Errors.ts"
import {
  eventTime,
  fromJsonSafe,
  insertSorted,
  keyOf,
  keyOfValues,
  openStarts,
  toJsonSafe
} from "../../src/processors/internal/windows.ts"

/** Every window start s (a multiple of slide) with s <= t < s + size and s + size > watermark, by enumeration. */
const bruteStarts = (size: number, slide: number, t: number, watermark: number): Array<number> => {
  const out: Array<number> = []
  for (let s = Math.floor((t - 3 * size) / slide) * slide; s <= t + size; s += slide) {
    if (s <= t && t < s + size && s + size > watermark) out.push(s)
  }
  return out
}

const catchError = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error("expected a throw")
}

describe("window assignment", () => {
  it("openStarts lists exactly the open windows containing t, ascending (tumbling, sliding, negative times)", () => {
    const buffer: Array<number> = []
    const shapes: Array<[number, number]> = [[10, 10], [10, 5], [10, 3], [7, 7], [60_000, 15_000], [5, 1]]
    let checked = 0
    for (const [size, slide] of shapes) {
      for (let t = -25; t <= 40; t++) {
        for (const watermark of [-Infinity, t - 20, t - 9, t - 4, t - 1, t]) {
          const n = openStarts(size, slide, t, watermark, buffer)
          assert.deepStrictEqual(buffer.slice(0, n), bruteStarts(size, slide, t, watermark), `size ${size} slide ${slide} t ${t} wm ${watermark}`)
          checked += 1
        }
      }
    }
    assert.strictEqual(checked, 6 * 66 * 6)
    // a tumbling 1m window of 12:34:56 starts at 12:34:00
    const t = Date.parse("2024-05-01T12:34:56.789Z")
    assert.strictEqual(openStarts(60_000, 60_000, t, -Infinity, buffer), 1)
    assert.strictEqual(new Date(buffer[0]).toISOString(), "2024-05-01T12:34:00.000Z")
  })

  it("eventTime reads epoch ms, ISO strings and Dates, and names the field and record otherwise", () => {
    const ms = Date.parse("2024-01-02T03:04:05.006Z")
    assert.strictEqual(eventTime({ ts: ms }, "ts"), ms)
    assert.strictEqual(eventTime({ ts: "2024-01-02T03:04:05.006Z" }, "ts"), ms)
    assert.strictEqual(eventTime({ ts: new Date(ms) }, "ts"), ms)
    const bad = { ts: "yesterday", id: 7 }
    const e = catchError(() => eventTime(bad, "ts"))
    assert.instanceOf(e, RecordError)
    assert.strictEqual((e as RecordError).field, "ts")
    assert.strictEqual((e as RecordError).record, bad)
    assert.include((e as RecordError).message, "field 'ts'")
    const missing = catchError(() => eventTime({ id: 1 }, "ts")) as RecordError
    assert.include(missing.detail, "missing")
    assert.instanceOf(catchError(() => eventTime({ ts: Number.NaN }, "ts")), RecordError)
  })
})

describe("keys", () => {
  it("different tuples never share a key string; missing and null are one value", () => {
    const tuples: Array<ReadonlyArray<unknown>> = [
      ["a|b", "c"],
      ["a", "b|c"],
      ["1:sa", ""],
      ["", "1:sa"],
      [1, "x"],
      ["1", "x"],
      [true, "x"],
      ["T", "x"],
      [null, "x"],
      [1n, "x"],
      [new Date(5), "x"],
      [5, "x"],
      [{ a: 1 }, "x"],
      [[1, 2], "x"]
    ]
    const keys = tuples.map(keyOfValues)
    assert.strictEqual(new Set(keys).size, tuples.length)
    assert.strictEqual(keyOf({ a: null, b: 2 }, ["a", "b"]), keyOf({ b: 2 }, ["a", "b"]))
    assert.strictEqual(keyOf({ a: "x", b: 2 }, ["a", "b"]), keyOfValues(["x", 2]))
    assert.notStrictEqual(keyOf({ a: 1 }, ["a"]), keyOf({ a: "1" }, ["a"]))
  })

  it("toJsonSafe / fromJsonSafe round-trip through JSON text, Dates and bigints included", () => {
    const value = { d: new Date(1_700_000_000_123), b: 12345678901234567890n, n: [1, "two", null, { x: Infinity }], s: "s", u: undefined }
    const text = JSON.stringify(toJsonSafe(value))
    const back = fromJsonSafe(JSON.parse(text)) as typeof value
    assert.deepStrictEqual(back, { ...value, u: null } as unknown as typeof value)
    assert.instanceOf(back.d, Date)
  })

  it("insertSorted keeps an ascending array of distinct numbers", () => {
    const xs: Array<number> = []
    for (const v of [5, 1, 9, 5, -3, 7, 1, 100]) insertSorted(xs, v)
    assert.deepStrictEqual(xs, [-3, 1, 5, 7, 9, 100])
  })
})
