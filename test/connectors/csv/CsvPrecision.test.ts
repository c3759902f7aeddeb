/**
 * Typed CSV columns never change a value without a word: a `timestamp` column holds a `Date`
 * (milliseconds), so a fraction of a second finer than that (`30.123456Z`) is a record error, not
 * cut to `.123Z`; a `number` column holds a double, so an integer a double would change
 * (`9007199254740993` → 9007199254740992) is a record error, as in an `integer` column and the
 * ndjson source. Found by a QA pass (both were cut silently, in every read mode).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { RecordError } from "../../../src/Errors.ts"
import { failure, readAll, withInput } from "./support.ts"

describe("csv typed columns: no value cut without a word", () => {
  it("a fraction of a second finer than milliseconds is a record error, not cut to milliseconds", async () => {
    for (const text of ["2024-03-01T10:20:30.123456Z", "2024-03-01T10:20:30.9999999Z", "2024-03-01 10:20:30.0001"]) {
      const error = await Effect.runPromise(
        withInput("t.csv", `id,t\n1,2024-03-01T10:20:30.5Z\n2,${text}\n`, (path) => failure(readAll("csv", { path, columns: { t: "timestamp" } })))
      )
      assert.instanceOf(error, RecordError, text)
      if (error instanceof RecordError) {
        assert.strictEqual(error.location?.line, 3, text)
        assert.strictEqual(error.location?.column, 2, text)
        assert.strictEqual(error.field, "t", text)
      }
    }
  })

  it("a number column refuses an integer a double would change, as the integer column and the ndjson source do", async () => {
    const error = await Effect.runPromise(
      withInput("n.csv", "id,n\n1,1.5\n2,9007199254740993\n", (path) => failure(readAll("csv", { path, columns: { n: "number" } })))
    )
    assert.instanceOf(error, RecordError)
    if (error instanceof RecordError) {
      assert.strictEqual(error.location?.line, 3)
      assert.strictEqual(error.field, "n")
    }
  })

  it.effect("trailing zeros after the milliseconds change nothing and still read", () =>
    withInput("t.csv", "id,t\n1,2024-03-01T10:20:30.123000Z\n", (path) =>
      Effect.map(readAll("csv", { path, columns: { t: "timestamp" } }), (records) =>
        assert.deepStrictEqual(records, [{ id: "1", t: new Date("2024-03-01T10:20:30.123Z") }]))))
})

describe("csv typed columns: values a double or a Date holds exactly still read", () => {
  it.effect("integers a double holds exactly, however large; decimals and exponents as the nearest double; a refusal says why", () =>
    Effect.gen(function*() {
      const records = yield* withInput(
        "n.csv",
        "n,t\n9007199254740992,2024-03-01T10:20:30.1Z\n+000100000000000000000000,2024-03-01 10:20:30.120\n-49216459571713050,2024-03-01T10:20:30Z\n0.1,2024-03-01\n1e16,2024-03-01T10:20:30.999000+02:00\n",
        (path) => readAll("csv", { path, columns: { n: "number", t: "timestamp" } })
      )
      assert.deepStrictEqual(records.map((r) => (r as { n: number }).n), [9007199254740992, 1e20, -49216459571713050, 0.1, 1e16])
      assert.deepStrictEqual(records.map((r) => (r as { t: Date }).t.toISOString()), [
        "2024-03-01T10:20:30.100Z",
        "2024-03-01T10:20:30.120Z",
        "2024-03-01T10:20:30.000Z",
        "2024-03-01T00:00:00.000Z",
        "2024-03-01T08:20:30.999Z"
      ])
      const number = yield* withInput("n.csv", "n\n-9007199254740993\n", (path) => failure(readAll("csv", { path, columns: { n: "number" } })))
      assert.include(String(number.message), "would be read as -9007199254740992")
      const time = yield* withInput("t.csv", "t\n2024-03-01T10:20:30.1234+01:00\n", (path) => failure(readAll("csv", { path, columns: { t: "timestamp" } })))
      assert.include(String(time.message), "finer than milliseconds")
    }))
})
