import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { RecordError } from "../../../src/Errors.ts"
import { drain, failure, openSink, openSource, readAll, tempDir, writeAll } from "../csv/support.ts"

const records = [
  { id: 1, name: "plain" },
  { id: 2, name: 'quotes " and \\ backslash', tags: ["a", "b"] },
  { id: 3, name: "line\nbreak\r\nand unicode ünï 名前 🙂", nested: { deep: { x: null } } },
  { id: 4, name: "", ok: true, n: -1.5e-7 }
]

describe("ndjson", () => {
  it.effect("round-trips records through the sink and the source", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "out.ndjson")
      yield* Effect.scoped(Effect.flatMap(openSink("ndjson", { path }), (w) => writeAll(w, records, 3)))
      assert.strictEqual(readFileSync(path, "utf8"), records.map((r) => JSON.stringify(r) + "\n").join(""))
      assert.deepStrictEqual(yield* readAll("ndjson", { path }), records)
      assert.deepStrictEqual(yield* readAll("ndjson", { path }, 1), records)
    })))

  it.effect("writes a Date as its ISO text", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "dates.ndjson")
      yield* Effect.scoped(Effect.flatMap(
        openSink("ndjson", { path }),
        (w) => writeAll(w, [{ at: new Date("2024-05-06T07:08:09.010Z") }])
      ))
      assert.strictEqual(readFileSync(path, "utf8"), '{"at":"2024-05-06T07:08:09.010Z"}\n')
    })))

  it.effect("skips blank lines, accepts CRLF, a BOM and a last line without a line break", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "in.ndjson")
      writeFileSync(path, '\uFEFF{"a":1}\r\n\n   \r\n{"a":2}\n\t\n{"a":3}')
      assert.deepStrictEqual(yield* readAll("ndjson", { path }), [{ a: 1 }, { a: 2 }, { a: 3 }])
    })))

  it.effect("a bad line fails with a RecordError naming file:line and the JSON error", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "bad.ndjson")
      writeFileSync(path, '{"a":1}\n\n{"a":2\n{"a":3}\n')
      const error = yield* failure(readAll("ndjson", { path }))
      assert.instanceOf(error, RecordError)
      if (!(error instanceof RecordError)) return
      assert.deepStrictEqual(error.location, { file: path, line: 3 })
      assert.match(error.message, new RegExp(`^${path.replaceAll(".", "\\.")}:3: invalid JSON: .+`))
      assert.strictEqual(error.record, '{"a":2')
    })))

  it.effect("a line that is JSON but not an object fails", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "array.ndjson")
      writeFileSync(path, '{"a":1}\n[1,2]\n')
      const error = yield* failure(readAll("ndjson", { path }))
      assert.strictEqual(error.message, `${path}:2: expected a JSON object, got an array`)
    })))

  it.effect("position and seek: read part, reopen at the position, read the rest — the union is a full read", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "many.ndjson")
      const all = Array.from({ length: 40_000 }, (_, i) => ({ id: i, text: i % 5 === 0 ? "ünïcödé 🙂" : "x".repeat(i % 13) }))
      writeFileSync(path, all.map((r) => JSON.stringify(r)).join("\n") + "\n")
      for (const cut of [0, 1, 12_345, 39_999, 40_000]) {
        const first = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* openSource("ndjson", { path })
          const part = yield* drain(reader, 1000, cut)
          return { records: part.records, position: yield* reader.position }
        }))
        const rest = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* openSource("ndjson", { path })
          yield* reader.seek(first.position)
          return (yield* drain(reader, 999)).records
        }))
        assert.deepStrictEqual([...first.records, ...rest], all, `cut at ${cut}`)
      }
      const at = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("ndjson", { path })
        yield* drain(reader, 3, 3)
        return yield* reader.position
      }))
      const firstThree = all.slice(0, 3).map((r) => JSON.stringify(r) + "\n").join("")
      assert.deepStrictEqual(at, { offset: Buffer.byteLength(firstThree), line: 4 })
    })))

  it.effect("writes values JSON.stringify refuses or changes exactly: bigint digits, -0, NaN/Infinity, bytes", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "exact.ndjson")
      const rows = [
        { id: 9223372036854775807n, neg: -9223372036854775808n, z: -0, nan: NaN, inf: Infinity, ninf: -Infinity },
        { bytes: new Uint8Array([0, 255, 10]), arr: [1n, -0, null, [NaN]], nested: { at: new Date(0), big: 12345678901234567890n } },
        { plain: 1.5, s: "x" }
      ]
      yield* Effect.scoped(Effect.flatMap(openSink("ndjson", { path }), (w) => writeAll(w, rows)))
      assert.strictEqual(
        readFileSync(path, "utf8"),
        '{"id":9223372036854775807,"neg":-9223372036854775808,"z":-0,"nan":"NaN","inf":"Infinity","ninf":"-Infinity"}\n' +
          '{"bytes":"\\\\x00ff0a","arr":[1,-0,null,["NaN"]],"nested":{"at":"1970-01-01T00:00:00.000Z","big":12345678901234567890}}\n' +
          '{"plain":1.5,"s":"x"}\n'
      )
      // Each line is valid JSON, and the digits are all there for a reader that keeps them.
      for (const line of readFileSync(path, "utf8").trim().split("\n")) JSON.parse(line)
    })))

  it.effect("a record JSON cannot represent fails the write with a RecordError", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const writer = yield* openSink("ndjson", { path: join(dir, "x.ndjson") })
      const cycle: { [k: string]: unknown } = { big: 10n }
      cycle.self = cycle
      const error = yield* failure(writer.writeBatch(Batch.make([{ ok: 1 }, cycle])))
      assert.instanceOf(error, RecordError)
      assert.include(error.message, "cannot write the record as JSON")
    })))

  it.effect("a missing file fails at open with a ConnectorError", () =>
    Effect.gen(function*() {
      const error = yield* failure(readAll("ndjson", { path: "/nonexistent/in.ndjson" }))
      assert.strictEqual(error.message, "ndjson open: no such file: /nonexistent/in.ndjson")
    }))
})
