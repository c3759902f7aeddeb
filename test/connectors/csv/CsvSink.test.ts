import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { RecordError } from "../../../src/Errors.ts"
import { csvRowsOf } from "../../../src/workers/internal/rangeChain.ts"
import { configIssues, context, failure, openSink, readAll, tempDir, writeAll } from "./support.ts"

const tricky = [
  { id: 1, name: "plain", note: "" },
  { id: 2, name: "with, comma", note: 'say "hi"' },
  { id: 3, name: "two\nlines", note: "crlf\r\ninside" },
  { id: 4, name: "ünïcödé 名前", note: "🙂 emoji" },
  { id: 5, name: " spaces kept ", note: '"' },
  { id: 6, name: "semi;colon", note: "tab\there" }
]

describe("csv sink", () => {
  it.effect("writes a header and rows, quoting only where needed", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "out.csv")
      yield* Effect.scoped(Effect.flatMap(openSink("csv", { path }), (w) => writeAll(w, tricky, 4)))
      assert.strictEqual(
        readFileSync(path, "utf8"),
        "id,name,note\n" +
          "1,plain,\n" +
          '2,"with, comma","say ""hi"""\n' +
          '3,"two\nlines","crlf\r\ninside"\n' +
          "4,ünïcödé 名前,🙂 emoji\n" +
          '5, spaces kept ,""""\n' +
          "6,semi;colon,tab\there\n"
      )
    })))

  it.effect("round-trips: what it writes reads back equal (quotes, delimiters, newlines, unicode)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      for (const delimiter of [",", ";", "\t", "|"]) {
        const path = join(dir, `out-${delimiter.charCodeAt(0)}.csv`)
        const config = { path, delimiter, columns: { id: "integer", name: "string", note: "string" } }
        yield* Effect.scoped(Effect.flatMap(openSink("csv", config), (w) => writeAll(w, tricky, 2)))
        assert.deepStrictEqual(yield* readAll("csv", config), tricky, `delimiter ${JSON.stringify(delimiter)}`)
      }
    })))

  it.effect("formats null as empty, Date as ISO text, objects as JSON, and reads them back typed", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "typed.csv")
      const columns = { n: "number", b: "boolean", t: "timestamp", j: "json", s: "string" } as const
      const records = [
        { n: 1.5, b: true, t: new Date("2024-01-02T03:04:05.678Z"), j: { a: [1, "x,y"] }, s: "x" },
        { n: null, b: null, t: null, j: null, s: "" }
      ]
      yield* Effect.scoped(Effect.flatMap(openSink("csv", { path, columns }), (w) => writeAll(w, records)))
      assert.strictEqual(
        readFileSync(path, "utf8"),
        'n,b,t,j,s\n1.5,true,2024-01-02T03:04:05.678Z,"{""a"":[1,""x,y""]}",x\n,,,,\n'
      )
      assert.deepStrictEqual(yield* readAll("csv", { path, columns }), records)
    })))

  it.effect("writes bigints with all their digits, -0, NaN, Infinity and bytes exactly", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "exact.csv")
      const records = [
        { id: 9223372036854775807n, z: -0, nan: NaN, inf: -Infinity, b: new Uint8Array([0, 255]), a: [1n, -0, NaN] },
        { id: -1n, z: 0, nan: 1.5, inf: Infinity, b: new Uint8Array([]), a: [] }
      ]
      yield* Effect.scoped(Effect.flatMap(openSink("csv", { path }), (w) => writeAll(w, records)))
      assert.strictEqual(
        readFileSync(path, "utf8"),
        'id,z,nan,inf,b,a\n9223372036854775807,-0,NaN,-Infinity,\\x00ff,"[1,-0,""NaN""]"\n-1,0,1.5,Infinity,\\x,[]\n'
      )
    })))

  it.effect("column order: `columns` when given (other fields are not written), else the first record's keys", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const a = join(dir, "a.csv")
      yield* Effect.scoped(Effect.flatMap(
        openSink("csv", { path: a, columns: { b: "string", a: "integer" } }),
        (w) => writeAll(w, [{ a: 1, b: "x", c: "dropped" }])
      ))
      assert.strictEqual(readFileSync(a, "utf8"), "b,a\nx,1\n")
      const b = join(dir, "b.csv")
      yield* Effect.scoped(Effect.flatMap(openSink("csv", { path: b }), (w) => writeAll(w, [{ z: 1, y: 2 }, { y: 4, z: 3 }, { z: 5 }])))
      assert.strictEqual(readFileSync(b, "utf8"), "z,y\n1,2\n3,4\n5,\n")
    })))

  it.effect("without `columns`, a later record's field not among the first record's keys is a record error, never dropped", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "extra.csv")
      // a field absent from a record is written empty (nothing lost); a field that is not a column would be lost
      const records = [{ id: 1, name: "a" }, { id: 2 }, { id: 3, name: "c", email: "c@x" }, { id: 4, name: "d" }]
      const error = yield* failure(Effect.scoped(Effect.flatMap(openSink("csv", { path }, { ...context, node: "out" }), (w) => writeAll(w, records))))
      assert.instanceOf(error, RecordError)
      assert.include(error.message, "node 'out'")
      assert.include(error.message, "field 'email'")
      assert.include(error.message, "(id, name)")
      assert.include(error.message, "declare `columns:`")
      assert.include(error.message, '"email":"c@x"')
      assert.notInclude(readFileSync(path, "utf8"), "3,c")

      // on_error: dead_letter sets it aside and writes the rest, in order
      const letters = join(dir, "extra.rejected.ndjson")
      yield* Effect.scoped(
        Effect.flatMap(
          openSink("csv", { path, on_error: "dead_letter", dead_letter: { path: letters } }, { ...context, node: "out" }),
          (w) => writeAll(w, records, 2)
        )
      )
      assert.strictEqual(readFileSync(path, "utf8"), "id,name\n1,a\n2,\n4,d\n")
      const set = readFileSync(letters, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: unknown; error: string })
      assert.deepStrictEqual(set.map((l) => l.record), [{ id: 3, name: "c", email: "c@x" }])
      assert.include(set[0].error, "field 'email'")

      // with `columns` declared, the fields not listed are a deliberate projection
      const projected = join(dir, "projected.csv")
      yield* Effect.scoped(Effect.flatMap(openSink("csv", { path: projected, columns: { id: "integer" } }), (w) => writeAll(w, records)))
      assert.strictEqual(readFileSync(projected, "utf8"), "id\n1\n2\n3\n4\n")
      // a field holding undefined is no value to lose
      const undef = join(dir, "undefined.csv")
      yield* Effect.scoped(Effect.flatMap(openSink("csv", { path: undef }), (w) => writeAll(w, [{ id: 1 }, { id: 2, gone: undefined }])))
      assert.strictEqual(readFileSync(undef, "utf8"), "id\n1\n2\n")
    })))

  it.effect("header: false writes rows only; a one-column empty value is written as \"\" so it is not a blank line", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "one.csv")
      const config = { path, header: false, columns: { v: "string" } }
      yield* Effect.scoped(Effect.flatMap(openSink("csv", config), (w) => writeAll(w, [{ v: "a" }, { v: "" }, { v: "b" }])))
      assert.strictEqual(readFileSync(path, "utf8"), 'a\n""\nb\n')
      assert.deepStrictEqual(yield* readAll("csv", config), [{ v: "a" }, { v: "" }, { v: "b" }])
    })))

  it.effect("with `columns`, an empty run still writes the header; one write per batch reports its bytes", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "empty.csv")
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* openSink("csv", { path, columns: { id: "integer" } })
        const stats = yield* writer.writeBatch(Batch.make([{ id: 1 }, { id: 22 }]))
        assert.deepStrictEqual(stats, { written: 2, bytes: 8 }) // "id\n1\n22\n": the header comes with the first write
        yield* writer.flush
      }))
      assert.strictEqual(readFileSync(path, "utf8"), "id\n1\n22\n")
      const empty = join(dir, "none.csv")
      yield* Effect.scoped(Effect.flatMap(openSink("csv", { path: empty, columns: { id: "integer" } }), (w) => w.flush))
      assert.strictEqual(readFileSync(empty, "utf8"), "id\n")
    })))

  it.effect("writes only the batch view (a sliced batch)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "slice.csv")
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* openSink("csv", { path })
        yield* writer.writeBatch(Batch.slice(Batch.make([{ a: 1 }, { a: 2 }, { a: 3 }]), 1, 2))
      }))
      assert.strictEqual(readFileSync(path, "utf8"), "a\n2\n")
    })))

  it.effect("a string with a lone surrogate (no UTF-8 form) fails naming the field, or is set aside — never written as U+FFFD", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "lone.csv")
      // what an NDJSON line {"s":"a\ud800b"} reads as; a pair (an emoji) is fine
      const records = [{ id: 1, s: "ok 😀" }, { id: 2, s: "a\ud800b" }, { id: 3, s: "\udc00" }, { id: 4, s: "end" }]
      const error = yield* failure(Effect.scoped(Effect.flatMap(openSink("csv", { path }), (w) => writeAll(w, records))))
      assert.include(error.message, "field 's' holds a lone surrogate (U+D800), which has no UTF-8 form")
      assert.notInclude(readFileSync(path, "utf8"), "\ufffd")

      const letters = join(dir, "lone.rejected.ndjson")
      yield* Effect.scoped(
        Effect.flatMap(openSink("csv", { path, on_error: "dead_letter", dead_letter: { path: letters } }), (w) => writeAll(w, records))
      )
      assert.strictEqual(readFileSync(path, "utf8"), "id,s\n1,ok 😀\n4,end\n")
      const set = readFileSync(letters, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: unknown; error: string })
      assert.deepStrictEqual(set.map((l) => l.record), [{ id: 2, s: "a\ud800b" }, { id: 3, s: "\udc00" }])
      assert.include(set[1].error, "field 's' holds a lone surrogate (U+DC00)")
    })))

  it.effect("CSV rows a source's threads wrote: written as they are when they are its columns (the first batch fixes them), read back otherwise", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "rows.csv")
      const rows = (records: ReadonlyArray<{ readonly [k: string]: unknown }>, decode: () => ReadonlyArray<unknown>) => {
        const encoded = csvRowsOf(records)
        assert.isDefined(encoded)
        const e: Batch.CsvRowsEncoded = { format: "application/x-csv-rows", bytes: encoded!.bytes, delimiter: ",", columns: encoded!.columns, types: encoded!.types }
        return Batch.encoded(e, records.length, decode)
      }
      const first = [{ id: 1, name: "a, b", n: null }, { id: 2, name: "", n: -0 }]
      const other = [{ id: 3, n: 7 }]
      let decoded = 0
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* openSink("csv", { path })
        // its columns come from this first batch; the bytes are written, the records never read
        yield* writer.writeBatch(rows(first, () => assert.fail("the rows of the sink's columns are not decoded")))
        // rows of other columns: decoded and written in the sink's columns
        yield* writer.writeBatch(rows(other, () => {
          decoded++
          return other
        }))
        yield* writer.flush
      }))
      assert.strictEqual(decoded, 1)
      assert.strictEqual(readFileSync(path, "utf8"), 'id,name,n\n1,"a, b",\n2,,-0\n3,,7\n')
      // not uniform: no rows (the batch goes as records)
      assert.isUndefined(csvRowsOf([{ a: 1 }, { b: 1 }]))
      assert.isUndefined(csvRowsOf([{ a: 1, b: 2 }, { b: 1, a: 2 }]))
      assert.isUndefined(csvRowsOf([{ a: new Date(0) }]))
    })))

  it.effect("a missing directory fails at open with a ConnectorError", () =>
    Effect.gen(function*() {
      const error = yield* failure(Effect.scoped(openSink("csv", { path: "/nonexistent/dir/out.csv" })))
      assert.notInstanceOf(error, RecordError)
      assert.strictEqual(error.message, "csv open: no such file: /nonexistent/dir/out.csv")
    }))

  it("shares the source's config Schema", () => {
    assert.deepStrictEqual(configIssues("sink", "csv", { path: "" }).length, 1)
  })
})
