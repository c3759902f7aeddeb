/**
 * Hostile and extreme NDJSON input (issues 21 and 12 item 7): lines over `max_record_bytes`, a
 * line spanning many chunks, bytes that are not UTF-8, values nested too deep to carry, integers a
 * double would round and numbers beyond a double — each an error naming `file:line:column` and the
 * field, or read exactly when the user asks for it.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { RecordError } from "../../../src/Errors.ts"
import { configIssues, drain, failure, openSource, readAll, tempDir } from "../csv/support.ts"

const withFile = <A, E>(content: string | Buffer, f: (path: string) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const path = join(yield* tempDir, "in.ndjson")
    writeFileSync(path, content)
    return yield* f(path)
  }))

/** The RecordError of reading the whole file with `config`. */
const errorOf = (config: object) =>
  Effect.gen(function*() {
    const error = yield* failure(readAll("ndjson", config))
    assert.instanceOf(error, RecordError, String(error))
    return error as RecordError
  })

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: from + i })).join("\n")

describe("ndjson source, hostile input", () => {
  it.effect("a line spanning hundreds of chunks is read whole, and positions stay exact after it", () => {
    const big = "ü".repeat(1 << 20) // 2 MiB of UTF-8 in 32 chunks
    return withFile(`${lines(1, 10)}\n{"id":11,"text":"${big}"}\r\n${lines(12, 10)}\n`, (path) =>
      Effect.scoped(Effect.gen(function*() {
        const all = (yield* readAll("ndjson", { path })) as Array<{ readonly id: number; readonly text?: string }>
        assert.strictEqual(all.length, 21)
        assert.strictEqual(all[10].text, big)
        const reader = yield* openSource("ndjson", { path })
        yield* drain(reader, 11, 11)
        const at = yield* reader.position
        const again = yield* openSource("ndjson", { path })
        yield* again.seek(at)
        assert.deepStrictEqual((yield* drain(again)).records, all.slice(11))
      })))
  })

  it.effect("a line over max_record_bytes fails with file:line, before it is held whole", () =>
    withFile(`${lines(1, 50)}\n{"text":"${"x".repeat(10_000)}"}\n${lines(52, 50)}\n`, (path) =>
      Effect.gen(function*() {
        const error = yield* errorOf({ path, max_record_bytes: 4096 })
        assert.include(error.message, `${path}:51: the line is longer than max_record_bytes (4096 bytes)`)
        assert.strictEqual((yield* readAll("ndjson", { path, max_record_bytes: 20_000 })).length, 101)
      })))

  it.effect("oversize: dead_letter skips a line over the limit, notes its place, and reads on with exact positions", () =>
    withFile(`${lines(1, 3)}\n{"text":"${"x".repeat(200_000)}"}\r\n${lines(5, 3)}\n{"last":"${"y".repeat(9000)}"}`, (path) =>
      Effect.scoped(Effect.gen(function*() {
        const deadLetter = `${path}.dlq`
        const config = { path, max_record_bytes: 4096, oversize: "dead_letter", dead_letter: { path: deadLetter } }
        const reader = yield* openSource("ndjson", config)
        const first = yield* drain(reader, 4, 4)
        assert.deepStrictEqual(first.records, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 5 }])
        const at = yield* reader.position
        const again = yield* openSource("ndjson", config)
        yield* again.seek(at)
        assert.deepStrictEqual((yield* drain(again)).records, [{ id: 6 }, { id: 7 }])
        const entries = readFileSync(deadLetter, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { line: number; offset: number })
        assert.deepStrictEqual(entries.map((e) => e.line), [4, 8])
        assert.strictEqual(entries[0].offset, Buffer.byteLength(`${lines(1, 3)}\n`))
      }))))

  it.effect("bytes that are not UTF-8 fail with file:line:column and the field; invalid_utf8: replace reads U+FFFD", () =>
    withFile(
      Buffer.concat([Buffer.from(`${lines(1, 3)}\n{"id":4,"user":{"name":"Jos`), Buffer.from([0xe9]), Buffer.from(`"}}\n${lines(5, 3)}\n`)]),
      (path) =>
        Effect.gen(function*() {
          const error = yield* errorOf({ path })
          assert.include(error.message, `${path}:4:28: field 'user.name': the file is not UTF-8 text here: byte 0xE9`)
          const records = (yield* readAll("ndjson", { path, invalid_utf8: "replace" })) as Array<{ readonly user?: { readonly name: string } }>
          assert.strictEqual(records[3].user?.name, "Jos\uFFFD")
        })
    ))

  it.effect("with invalid_utf8: replace, positions stay exact after invalid bytes", () =>
    withFile(Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe9, 0xff]), Buffer.from('"}\n{"a":"x"}\n{"a":"y"}\n')]), (path) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("ndjson", { path, invalid_utf8: "replace" })
        assert.deepStrictEqual((yield* drain(reader, 1, 1)).records, [{ a: "\uFFFD\uFFFD" }])
        const at = yield* reader.position
        assert.deepStrictEqual(at, { offset: 6 + 2 + 3, line: 2 })
        const again = yield* openSource("ndjson", { path, invalid_utf8: "replace" })
        yield* again.seek(at)
        assert.deepStrictEqual((yield* drain(again)).records, [{ a: "x" }, { a: "y" }])
      }))))

  it.effect("a UTF-16 file is refused at line 1 (NUL bytes), not read as garbage", () =>
    withFile(Buffer.from('{"id":1}\n', "utf16le"), (path) =>
      Effect.gen(function*() {
        const error = yield* errorOf({ path })
        assert.include(error.message, `${path}:1:`)
        assert.include(error.message, "NUL byte")
      })))

  it.effect("a value nested 200,000 deep is refused at the source, naming line, column and field", () =>
    withFile(`${lines(1, 2)}\n{"a":{"b":${"[".repeat(200_000)}${"]".repeat(200_000)}}}\n`, (path) =>
      Effect.gen(function*() {
        const error = yield* errorOf({ path })
        assert.include(error.message, `${path}:3:${10 + 998 + 1}: field 'a.b${"[0]".repeat(10)}... (1000 levels)': the value is nested deeper than max_depth (1000`)
        assert.notInclude(error.message, "Maximum call stack")
        // within the limit it reads
        const ok = `{"a":${"[".repeat(50)}${"]".repeat(50)}}\n`
        yield* withFile(ok, (p) => Effect.map(readAll("ndjson", { path: p, max_depth: 51 }), (r) => assert.strictEqual(r.length, 1)))
        const deep = yield* withFile(ok, (p) => errorOf({ path: p, max_depth: 50 }))
        assert.include(deep.message, "max_depth (50")
        // the largest max_depth reads values every later step can still copy and write
        const deepest = `{"a":${"[".repeat(1999)}${"]".repeat(1999)}}\n`
        const read = yield* withFile(deepest, (p) => readAll("ndjson", { path: p, max_depth: 2000 }))
        assert.strictEqual(JSON.stringify(structuredClone(read[0])).length, deepest.length - 1)
      })))

  it.effect("an integer beyond 2^53 is an error by default, or read exactly as a bigint or a string", () =>
    withFile(`{"id":1,"big":9007199254740991}\n{"id":2,"n":{"big":[1,12345678901234567890]}}\n`, (path) =>
      Effect.gen(function*() {
        const error = yield* errorOf({ path })
        assert.include(error.message, `${path}:2:23: field 'n.big[1]': the integer 12345678901234567890 is beyond ±(2^53 − 1) and would be read as 12345678901234567000`)
        assert.deepStrictEqual(yield* readAll("ndjson", { path, big_integers: "bigint" }), [
          { id: 1, big: 9007199254740991 },
          { id: 2, n: { big: [1, 12345678901234567890n] } }
        ])
        assert.deepStrictEqual(yield* readAll("ndjson", { path, big_integers: "string" }), [
          { id: 1, big: 9007199254740991 },
          { id: 2, n: { big: [1, "12345678901234567890"] } }
        ])
      })))

  it.effect("numbers beyond a double fail whatever big_integers says; large floats written as floats still read", () =>
    withFile(`{"a":1.5e300,"b":-2e20,"c":1e21}\n{"x":[1e999]}\n`, (path) =>
      Effect.gen(function*() {
        for (const big_integers of ["error", "bigint", "string"]) {
          const error = yield* errorOf({ path, big_integers })
          assert.include(error.message, `${path}:2:7: field 'x[0]': the number 1e999 is beyond the range of a double`)
        }
        const first = yield* Effect.scoped(Effect.flatMap(openSource("ndjson", { path }), (r) => drain(r, 1, 1)))
        assert.deepStrictEqual(first.records, [{ a: 1.5e300, b: -2e20, c: 1e21 }])
        // too small: read as 0 by JSON.parse; zeros written as zeros still read
        const small = yield* withFile(`{"z":0,"y":0.0,"w":0e-5,"note":"e-mail"}\n{"a":{"x":1e-400}}\n`, (p) => errorOf({ path: p }))
        assert.include(small.message, ":2:11: field 'a.x': the number 1e-400 is too small for a double (it would read as 0)")
      })))

  it.effect("a key named twice in one object is refused naming it (JSON.parse keeps the last value and drops the first)", () =>
    Effect.gen(function*() {
      // colons inside strings, escaped keys, `__proto__` and nesting do not hide a repeated key
      const repeated: ReadonlyArray<readonly [string, string]> = [
        [`{"a":1,"a":2}`, ":1:8: field 'a': the key 'a' appears twice in one object"],
        [`{"at":"10:20:30","n":{"k":"x:y","k":"z"}}`, ":1:33: field 'n.k': the key 'k' appears twice"],
        [`{"a:b":1,"a\\u003ab":2}`, ":1:10: field 'a:b': the key 'a:b' appears twice"],
        [`{"\\u0061":1,"a":"\\u003a"}`, ":1:13: field 'a': the key 'a' appears twice"],
        [`{"__proto__":1,"__proto__":2}`, ":1:16: field '__proto__': the key '__proto__' appears twice"],
        [`{"l":[{"id":1},{"id":2,"id":3}]}`, ":1:24: field 'l[1].id': the key 'id' appears twice"]
      ]
      for (const [line, expected] of repeated) {
        const error = yield* withFile(`{"ok":1}\n${line}\n`, (path) => errorOf({ path }))
        assert.include(error.message, expected.replace(":1:", ":2:"), line)
      }
      // the same key in different objects, and colons in keys and values, are fine
      const fine = `{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}],"c:d":"e:f:g","url":"https://x","esc":"\\u003a","k\\u003a":1}`
      assert.deepStrictEqual(
        yield* withFile(`${fine}\n`, (path) => readAll("ndjson", { path })),
        [JSON.parse(fine) as unknown]
      )
    }))

  it("the reading options are checked by the source's config Schema and refused by the sink's", () => {
    assert.deepStrictEqual(configIssues("source", "ndjson", { path: "x", max_depth: 10, big_integers: "bigint", max_record_bytes: 10, invalid_utf8: "replace" }), [])
    assert.strictEqual(configIssues("source", "ndjson", { path: "x", max_depth: 2001 }).length, 1)
    assert.deepStrictEqual(configIssues("source", "ndjson", { path: "x", max_depth: 2000 }), [])
    assert.strictEqual(configIssues("source", "ndjson", { path: "x", big_integers: "float" }).length, 1)
    assert.strictEqual(configIssues("sink", "ndjson", { path: "x", max_depth: 10 }).length, 1)
  })
})
