/**
 * `on_error: dead_letter` of the `ndjson` source: a line that is not JSON, JSON that is not an
 * object, a value the reader refuses (too deep, an integer a double would round) and — with
 * `invalid_utf8: replace` — a line whose invalid bytes break its JSON are set aside in
 * `dead_letter.path` (the kit's envelope: node, file, line, column, error, the line's text) and
 * the good lines are read on; the default still fails at the first, naming `file:line`. A seek to
 * a position drops the entries of the lines after it (they are read again), a run that does not
 * resume starts the file afresh: each bad line is in the file once.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { RecordError } from "../../../src/Errors.ts"
import { configIssues, drain, failure, openSource, readAll, sourceLetters, withInput } from "../csv/support.ts"

const MIXED = [
  '{"id":1}',
  "not json at all",
  '{"id":3}',
  "[1,2,3]",
  '"a string"',
  "",
  '{"id":7,"big":12345678901234567890}',
  '{"id":8',
  '{"id":9}',
  "42",
  '{"id":11}'
].join("\n") + "\n"

const withFile = <A, E>(content: string | Buffer, f: (path: string, dir: string) => Effect.Effect<A, E>) => withInput("in.ndjson", content, f)

describe("ndjson source: on_error: dead_letter", () => {
  it.effect("the default fails at the first malformed line, naming file:line", () =>
    withFile(MIXED, (path) =>
      Effect.gen(function*() {
        const error = yield* failure(readAll("ndjson", { path }))
        assert.instanceOf(error, RecordError)
        assert.include(error.message, `${path}:2: invalid JSON`)
      })))

  it.effect("malformed lines go to the dead-letter file with their place, reason and text; the good ones are read", () =>
    withFile(MIXED, (path, dir) =>
      Effect.gen(function*() {
        const letters = join(dir, "bad.ndjson")
        const records = yield* readAll("ndjson", { path, on_error: "dead_letter", dead_letter: { path: letters } }, 2)
        assert.deepStrictEqual(records, [{ id: 1 }, { id: 3 }, { id: 9 }, { id: 11 }])
        const entries = sourceLetters(letters)
        assert.deepStrictEqual(entries.map((e) => e.line), [2, 4, 5, 7, 8, 10])
        assert.deepStrictEqual(entries.map((e) => e.record), ["not json at all", "[1,2,3]", '"a string"', '{"id":7,"big":12345678901234567890}', '{"id":8', "42"])
        for (const e of entries) {
          assert.strictEqual(e.node, "test")
          assert.strictEqual(e.file, path)
          assert.isFalse(Number.isNaN(Date.parse(e.at)))
        }
        assert.include(entries[0].error, "invalid JSON")
        assert.strictEqual(entries[1].error, "expected a JSON object, got an array")
        assert.strictEqual(entries[2].error, 'expected a JSON object, got "a string"')
        assert.include(entries[3].error, "2^53")
        assert.strictEqual(entries[3].field, "big")
        assert.strictEqual(entries[3].column, 15)
        assert.strictEqual(entries[5].error, "expected a JSON object, got 42")
      })))

  it.effect("a line whose invalid UTF-8 breaks its JSON is set aside with invalid_utf8: replace; without, the run fails there", () =>
    withFile(
      Buffer.concat([Buffer.from('{"id":1}\n{"id":'), Buffer.from([0xff]), Buffer.from('}\n{"name":"Jos'), Buffer.from([0xe9]), Buffer.from('"}\n{"id":4}\n')]),
      (path, dir) =>
        Effect.gen(function*() {
          const letters = join(dir, "bad.ndjson")
          const config = { path, on_error: "dead_letter", dead_letter: { path: letters } }
          const error = yield* failure(readAll("ndjson", config))
          assert.include(error.message, `${path}:2:7: field 'id': the file is not UTF-8 text here: byte 0xFF`)
          const records = yield* readAll("ndjson", { ...config, invalid_utf8: "replace" })
          assert.deepStrictEqual(records, [{ id: 1 }, { name: "Jos\uFFFD" }, { id: 4 }])
          const entries = sourceLetters(letters)
          assert.deepStrictEqual(entries.map((e) => [e.line, e.record]), [[2, '{"id":\uFFFD}']])
        })
    ))

  it.effect("a long malformed line's text is cut to 4096 characters", () =>
    withFile(`{"id":1}\n{"x":"${"y".repeat(10_000)}\n{"id":3}\n`, (path, dir) =>
      Effect.gen(function*() {
        const letters = join(dir, "bad.ndjson")
        assert.deepStrictEqual(yield* readAll("ndjson", { path, on_error: "dead_letter", dead_letter: { path: letters } }), [{ id: 1 }, { id: 3 }])
        const [entry] = sourceLetters(letters)
        assert.strictEqual(entry.record?.length, 4097)
        assert.isTrue(entry.record?.endsWith("…"))
      })))

  it.effect("a seek drops the entries of the lines after the position; a run that does not resume starts the file afresh", () =>
    withFile(MIXED, (path, dir) =>
      Effect.scoped(Effect.gen(function*() {
        const letters = join(dir, "bad.ndjson")
        const config = { path, on_error: "dead_letter", dead_letter: { path: letters } }
        const reader = yield* openSource("ndjson", config)
        // reads lines 1-3 as one batch, then lines 4-9 (setting aside 4, 5, 7, 8) as the next
        const first = yield* drain(reader, 2, 2)
        assert.deepStrictEqual(first.records, [{ id: 1 }, { id: 3 }])
        const at = yield* reader.position
        assert.deepStrictEqual(at, { offset: Buffer.byteLength('{"id":1}\nnot json at all\n{"id":3}\n'), line: 4 })
        yield* reader.readBatch(1)
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [2, 4, 5, 7, 8])
        // a restore: the entries of lines 4.. go, and come back once as they are read again
        const again = yield* openSource("ndjson", config)
        yield* again.seek(at)
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [2])
        assert.deepStrictEqual((yield* drain(again)).records, [{ id: 9 }, { id: 11 }])
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [2, 4, 5, 7, 8, 10])
        // a new run from the start: the file holds this run's entries only
        assert.strictEqual((yield* readAll("ndjson", config)).length, 4)
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [2, 4, 5, 7, 8, 10])
      }))))

  it.effect("a seek also drops an entry cut short by a crash (before or after its JSON's end), and one of a split that no longer exists", () =>
    withFile(MIXED, (path, dir) =>
      Effect.scoped(Effect.gen(function*() {
        const letters = join(dir, "bad.ndjson")
        const config = { path, on_error: "dead_letter", dead_letter: { path: letters } }
        yield* readAll("ndjson", config)
        const whole = readFileSync(letters, "utf8")
        const [first] = whole.split("\n")
        const others = JSON.stringify({ ...JSON.parse(first), instance: 3, line: 1 })
        const later = JSON.stringify({ ...JSON.parse(first), line: 5 })
        for (const tail of [first.slice(0, 20), later]) {
          writeFileSync(letters, `${first}\n${others}\n${tail}`)
          const again = yield* openSource("ndjson", config)
          yield* again.seek({ offset: Buffer.byteLength('{"id":1}\nnot json at all\n'), line: 3 })
          assert.strictEqual(readFileSync(letters, "utf8"), `${first}\n`, tail)
        }
        // nothing to drop, but the last entry lacks its line feed: it gets one (the next entry would join it)
        writeFileSync(letters, first)
        const last = yield* openSource("ndjson", config)
        yield* last.seek({ offset: Buffer.byteLength('{"id":1}\nnot json at all\n'), line: 3 })
        assert.strictEqual(readFileSync(letters, "utf8"), `${first}\n`)
      }))))

  it.effect("oversize and malformed lines share the dead-letter file, in line order", () =>
    withFile(`{"id":1}\n{"t":"${"x".repeat(5000)}"}\nnope\n{"id":4}\n`, (path, dir) =>
      Effect.gen(function*() {
        const letters = join(dir, "bad.ndjson")
        const config = { path, max_record_bytes: 4096, oversize: "dead_letter", on_error: "dead_letter", dead_letter: { path: letters } }
        assert.deepStrictEqual(yield* readAll("ndjson", config), [{ id: 1 }, { id: 4 }])
        const entries = sourceLetters(letters)
        assert.deepStrictEqual(entries.map((e) => [e.line, e.record]), [[2, null], [3, "nope"]])
        // on_error alone: the oversize line still fails the run
        const error = yield* failure(readAll("ndjson", { path, max_record_bytes: 4096, on_error: "dead_letter", dead_letter: { path: letters } }))
        assert.include(error.message, `${path}:2: the line is longer than max_record_bytes`)
      })))

  it.effect("a line the DSL's schema does not decode is set aside naming the field", () =>
    withFile('{"id":1,"name":"a"}\n{"id":"two","name":"b"}\n{"id":3}\n', (path, dir) =>
      Effect.gen(function*() {
        const letters = join(dir, "bad.ndjson")
        const schema = Schema.Struct({ id: Schema.Number, name: Schema.String })
        const records = yield* readAll("ndjson", { path, schema, on_error: "dead_letter", dead_letter: { path: letters } })
        assert.deepStrictEqual(records, [{ id: 1, name: "a" }])
        assert.deepStrictEqual(sourceLetters(letters).map((e) => [e.line, e.field, e.record]), [[2, "id", '{"id":"two","name":"b"}'], [3, "name", '{"id":3}']])
      })))

  it("on_error: dead_letter needs dead_letter: { path }", () => {
    assert.deepStrictEqual(configIssues("source", "ndjson", { path: "x.ndjson", on_error: "dead_letter" }), ["dead_letter: on_error: dead_letter needs dead_letter: { path }"])
    assert.deepStrictEqual(configIssues("source", "ndjson", { path: "x.ndjson", on_error: "dead_letter", dead_letter: { path: "x" } }), [])
    assert.strictEqual(configIssues("source", "ndjson", { path: "x.ndjson", on_error: "skip" }).length, 1)
  })
})
