import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ConnectorError, RecordError } from "../../../src/Errors.ts"
import { configIssues, drain, failure, openSource, readAll, tempDir } from "./support.ts"

/** Writes `text` to a file in a new temp dir and runs `f` with its path. */
const withFile = <A, E>(text: string | Buffer, f: (path: string) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, "in.csv")
    writeFileSync(path, text)
    return yield* f(path)
  }))

describe("csv source", () => {
  it.effect("reads RFC 4180 edge cases into records keyed by header name", () =>
    withFile(
      '\uFEFFid,name,note\r\n1,plain,\r\n2,"with, comma","say ""hi"""\r\n3,"two\nlines","crlf\r\ninside"\r\n\r\n4,ünï,🙂\n5,"",""""\n',
      (path) =>
        Effect.gen(function*() {
          const records = yield* readAll("csv", { path })
          assert.deepStrictEqual(records, [
            { id: "1", name: "plain", note: "" },
            { id: "2", name: "with, comma", note: 'say "hi"' },
            { id: "3", name: "two\nlines", note: "crlf\r\ninside" },
            { id: "4", name: "ünï", note: "🙂" },
            { id: "5", name: "", note: '"' }
          ])
        })
    ))

  it.effect("uses a custom delimiter", () =>
    withFile("a;b\n1,5;x\n", (path) =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* readAll("csv", { path, delimiter: ";" }), [{ a: "1,5", b: "x" }])
      })))

  it.effect("without a header names the columns from `columns`, else c1..cN", () =>
    withFile("1,x\n2,y\n", (path) =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* readAll("csv", { path, header: false, columns: { id: "integer", name: "string" } }), [
          { id: 1, name: "x" },
          { id: 2, name: "y" }
        ])
        assert.deepStrictEqual(yield* readAll("csv", { path, header: false }), [
          { c1: "1", c2: "x" },
          { c1: "2", c2: "y" }
        ])
      })))

  it.effect("decodes typed columns; an empty field is null, or \"\" for a string column", () =>
    withFile(
      "i,n,b,t,j,s\n" +
        '-42,1.5e3,TRUE,2024-03-01T10:20:30Z,"{""a"":[1,2]}",x\n' +
        "7,-0.25,false,2024-03-01,null,\n" +
        "+3,.5,true,2024-03-01T10:20:30.5+02:00,3,y\n" +
        ",,,,,\n",
      (path) =>
        Effect.gen(function*() {
          const records = yield* readAll("csv", {
            path,
            columns: { i: "integer", n: "number", b: "boolean", t: "timestamp", j: "json" }
          })
          assert.deepStrictEqual(records, [
            { i: -42, n: 1500, b: true, t: new Date("2024-03-01T10:20:30Z"), j: { a: [1, 2] }, s: "x" },
            { i: 7, n: -0.25, b: false, t: new Date("2024-03-01T00:00:00Z"), j: null, s: "" },
            { i: 3, n: 0.5, b: true, t: new Date("2024-03-01T08:20:30.500Z"), j: 3, s: "y" },
            { i: null, n: null, b: null, t: null, j: null, s: "" }
          ])
        })
    ))

  it.effect("reads a timestamp without an offset as UTC", () =>
    withFile("t\n2024-03-01T10:20:30\n2024-03-01 10:20\n", (path) =>
      Effect.gen(function*() {
        const records = yield* readAll("csv", { path, columns: { t: "timestamp" } })
        assert.deepStrictEqual(records, [{ t: new Date("2024-03-01T10:20:30Z") }, { t: new Date("2024-03-01T10:20:00Z") }])
      })))

  it.effect("fails on an invalid typed value with file:line:column (field index) and the field name", () =>
    withFile('id,note,amount\n1,"multi\nline",2.5\n2,ok,abc\n', (path) =>
      Effect.gen(function*() {
        const error = yield* failure(readAll("csv", { path, columns: { id: "integer", amount: "number" } }))
        assert.instanceOf(error, RecordError)
        if (!(error instanceof RecordError)) return
        // the record starts on physical line 4: the header, then a record spanning lines 2-3
        assert.deepStrictEqual(error.location, { file: path, line: 4, column: 3 })
        assert.strictEqual(error.field, "amount")
        assert.strictEqual(error.message, `${path}:4:3: field 'amount': expected a number, got "abc"`)
        assert.deepStrictEqual(error.record, ["2", "ok", "abc"])
      })))

  it.effect("rejects integers with a fraction, booleans other than true/false, and dates that are not ISO-8601", () =>
    Effect.gen(function*() {
      for (
        const [type, text, expected] of [
          ["integer", "1.5", 'expected an integer, got "1.5"'],
          ["integer", "12abc", 'expected an integer, got "12abc"'],
          ["integer", "99999999999999999999", "an integer beyond ±(2^53 − 1) would be read as 100000000000000000000 (read the column as string to keep it): \"99999999999999999999\""],
          ["number", "1,5", 'expected a number, got "1,5"'],
          ["number", "Infinity", 'expected a number, got "Infinity"'],
          ["boolean", "yes", 'expected a boolean (true or false), got "yes"'],
          ["timestamp", "03/01/2024", 'expected an ISO-8601 timestamp, got "03/01/2024"'],
          ["timestamp", "2024-13-45", 'no such date or time: "2024-13-45"'],
          ["json", "{oops", 'expected JSON, got "{oops"']
        ] as const
      ) {
        const error = yield* withFile(`v\n"${text}"\n`, (path) => failure(readAll("csv", { path, columns: { v: type } })))
        assert.instanceOf(error, RecordError)
        if (error instanceof RecordError) {
          assert.strictEqual(error.detail, expected)
          assert.strictEqual(error.location?.line, 2)
          assert.strictEqual(error.location?.column, 1)
        }
      }
    }))

  it.effect("a required column may not be empty", () =>
    withFile("id,name\n1,a\n,b\n", (path) =>
      Effect.gen(function*() {
        const error = yield* failure(readAll("csv", { path, columns: { id: "integer" }, required: ["id"] }))
        assert.instanceOf(error, RecordError)
        if (error instanceof RecordError) {
          assert.strictEqual(error.message, `${path}:3:1: field 'id': empty value in a required column`)
        }
      })))

  it.effect("fails on a record with the wrong number of fields", () =>
    withFile("a,b\n1,2\n3\n", (path) =>
      Effect.gen(function*() {
        const error = yield* failure(readAll("csv", { path }))
        assert.instanceOf(error, RecordError)
        if (error instanceof RecordError) assert.strictEqual(error.message, `${path}:3:2: field 'b': expected 2 fields, found 1`)
      })))

  it.effect("fails on a syntax error with its line and field", () =>
    withFile('a,b\n1,"open\n', (path) =>
      Effect.gen(function*() {
        const error = yield* failure(readAll("csv", { path }))
        assert.instanceOf(error, RecordError)
        if (error instanceof RecordError) assert.strictEqual(error.message, `${path}:2:2: unterminated quoted field`)
      })))

  it.effect("refuses at open: a missing file, columns not in the header, a duplicate header name", () =>
    Effect.gen(function*() {
      const missing = yield* failure(readAll("csv", { path: "/nonexistent/dir/in.csv" }))
      assert.instanceOf(missing, ConnectorError)
      if (missing instanceof ConnectorError) {
        assert.strictEqual(missing.reason._tag, "ConfigurationError")
        assert.strictEqual(missing.message, "csv open: no such file: /nonexistent/dir/in.csv")
      }
      const notInHeader = yield* withFile("a,b\n1,2\n", (path) => failure(readAll("csv", { path, columns: { c: "integer" } })))
      assert.instanceOf(notInHeader, ConnectorError)
      assert.include(notInHeader.message, "column(s) c listed in config.columns are not in the header (a, b)")
      const duplicate = yield* withFile("a,a\n1,2\n", (path) => failure(readAll("csv", { path })))
      assert.include(duplicate.message, "the header names column 'a' twice")
    }))

  it("validates the config with its Schema", () => {
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", delimiter: ";;" }), [
      "delimiter: expected one character other than a quote or a line break"
    ])
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", columns: { a: "int" } }).length, 1)
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", columns: { a: "integer" }, required: ["b"] }), [
      "required: required column(s) b must be listed in columns"
    ])
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", unknown_key: 1 }).length, 1)
  })

  it.effect("an empty file, or one with only a header, has no records", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* withFile("", (path) => readAll("csv", { path })), [])
      assert.deepStrictEqual(yield* withFile("a,b\n", (path) => readAll("csv", { path })), [])
    }))

  it.effect("reads a file larger than one chunk, with records and characters across chunk boundaries", () =>
    Effect.gen(function*() {
      const expected: Array<{ id: number; text: string }> = []
      let text = "id,text\n"
      for (let i = 0; i < 30_000; i++) {
        const value = i % 7 === 0 ? `line ${i}\nnext "q" ü🙂` : i % 3 === 0 ? `a,b ${i}` : `plain ${i} ü`
        expected.push({ id: i, text: value })
        const quoted = /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
        text += `${i},${quoted}${i % 2 === 0 ? "\r\n" : "\n"}`
      }
      assert.isAbove(Buffer.byteLength(text), 600_000)
      const records = yield* withFile(text, (path) => readAll("csv", { path, columns: { id: "integer" } }, 333))
      assert.deepStrictEqual(records, expected)
    }))

  it.effect("position and seek: read part, reopen at the position, read the rest — the union is a full read", () =>
    Effect.gen(function*() {
      let text = "id,name\n"
      for (let i = 0; i < 5_000; i++) text += `${i},"nämé\n${i}"\n`
      yield* withFile(text, (path) =>
        Effect.gen(function*() {
          const config = { path, columns: { id: "integer" } }
          const full = yield* readAll("csv", config)
          assert.strictEqual(full.length, 5_000)
          for (const cut of [0, 1, 999, 2_500, 4_999, 5_000]) {
            const first = yield* Effect.scoped(Effect.gen(function*() {
              const reader = yield* openSource("csv", config)
              const part = yield* drain(reader, 700, cut)
              const position = yield* reader.position
              if (cut > 0) assert.deepStrictEqual(part.positions.at(-1), position)
              return { records: part.records, position }
            }))
            assert.strictEqual(first.records.length, cut)
            const rest = yield* Effect.scoped(Effect.gen(function*() {
              const reader = yield* openSource("csv", config)
              yield* reader.seek(first.position)
              return (yield* drain(reader, 700)).records
            }))
            assert.deepStrictEqual([...first.records, ...rest], full, `cut at ${cut}`)
          }
          // The position names the line of the next record (each record spans two lines).
          const at = yield* Effect.scoped(Effect.gen(function*() {
            const reader = yield* openSource("csv", config)
            yield* drain(reader, 10, 10)
            return yield* reader.position
          }))
          assert.deepStrictEqual(at, { offset: Buffer.byteLength(text.split("\n").slice(0, 21).join("\n") + "\n"), line: 22 })
        }))
    }))

  it.effect("seek refuses a position that is not a csv position", () =>
    withFile("a\n1\n", (path) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("csv", { path })
        const error = yield* failure(reader.seek(42))
        assert.strictEqual(error.message, "csv seek: not a csv position: 42")
      }))))

  it.effect("with parallelism > 1 each instance reads its own part of the file (see CsvSourceParallel.test.ts)", () =>
    withFile("a\n1\n2\n", (path) =>
      Effect.scoped(Effect.gen(function*() {
        const read = (instance: number) =>
          Effect.flatMap(openSource("csv", { path }, { node: "n", batchSize: 10, instance, parallelism: 2 }), (r) => drain(r, 10))
        const [first, second] = [(yield* read(0)).records, (yield* read(1)).records]
        assert.deepStrictEqual([...first, ...second], [{ a: "1" }, { a: "2" }])
      }))))
})
