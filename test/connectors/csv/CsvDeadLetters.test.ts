/**
 * `on_error: dead_letter` of the `csv` source: a typed field that does not convert, a record with
 * the wrong number of fields, a syntax error and an unterminated quote at the end of the file are
 * set aside in `dead_letter.path` (the kit's envelope: node, file, line, column, field, error, the
 * record's text) and the good records are read on — by the one-thread reader, for a sink taking
 * CSV bytes (which then checks every record), and by the parallel range threads (records, and
 * NDJSON lines for an `ndjson` sink); the default still fails at the first, naming
 * `file:line:column`. A seek drops the entries after the position: each bad record is in the file
 * once.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { OpenContext } from "../../../src/Connector.ts"
import { configIssues, context, drain, openSource, sourceLetters, withInput } from "./support.ts"

type Mode = "serial" | "bytes" | "ranges" | "ranges-ndjson"
const MODES: ReadonlyArray<Mode> = ["serial", "bytes", "ranges", "ranges-ndjson"]

const ctx = (mode: Mode, instance: number, parallelism: number): OpenContext =>
  mode === "bytes"
    ? { ...context, encoding: "text/csv" }
    : mode === "ranges"
    ? { ...context, instance, parallelism }
    : mode === "ranges-ndjson"
    ? { ...context, instance, parallelism, encoding: "application/x-ndjson" }
    : context

/** Reads the whole file in `mode` (the range modes in 2 ranges, one after the other). */
const read = (mode: Mode, config: object) =>
  Effect.gen(function*() {
    const count = mode.startsWith("ranges") ? 2 : 1
    const parts = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("csv", config, ctx(mode, i, count))
        const records: Array<unknown> = []
        for (;;) {
          const batch = yield* reader.readBatch(3)
          if (batch === undefined) return records
          const decoded = Batch.decodeRecords(batch)
          if ("error" in decoded) return yield* Effect.die(decoded.error)
          for (const r of decoded) records.push(r)
        }
      })))
    return parts.flat() as Array<{ readonly id: number }>
  })

const MIXED = [
  "id,amount,note",
  "1,10,ok",
  "2,abc,bad amount",
  "3,30",
  '4,40,"quoted, fine"',
  '5,50,"ab"c',
  '6,60,"multi',
  'line, fine"',
  "7,70,ok",
  "8,80,x,extra",
  "9,90,ok",
  '10,100,"never closed',
  "11,110,swallowed by the quote"
].join("\n") + "\n"

/** {@link MIXED} after one bad row (line 2) and 30 good ones: the split of two ranges falls in the good rows, so an unclosed quote at the end is in the last range. */
const SPLIT = [
  "id,amount,note",
  "bad,1,filler",
  ...Array.from({ length: 30 }, (_, i) => `${100 + i},1,filler`),
  ...MIXED.split("\n").slice(1)
].join("\n")

const columns = { id: "integer", amount: "integer", note: "string" }

const withFile = <A, E>(content: string, f: (path: string, dir: string) => Effect.Effect<A, E>) => withInput("in.csv", content, f)

describe("csv source: on_error: dead_letter", () => {
  it.effect("the default fails at the first malformed record, naming file:line:column and the field", () =>
    withFile(MIXED, (path) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(read("serial", { path, columns }))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(exit), `${path}:3:2: field 'amount': expected an integer, got "abc"`)
      })))

  it.effect("in every mode, malformed records go to the dead-letter file with place, reason and text; the good ones are read", () =>
    withFile(SPLIT, (path, dir) =>
      Effect.forEach(MODES, (mode) =>
        Effect.gen(function*() {
          const letters = join(dir, `${mode}.rejected.ndjson`)
          const records = yield* read(mode, { path, columns, on_error: "dead_letter", dead_letter: { path: letters } })
          assert.deepStrictEqual(records.map((r) => r.id).sort((a, b) => a - b), [1, 4, 6, 7, 9, ...Array.from({ length: 30 }, (_, i) => 100 + i)], mode)
          const entries = sourceLetters(letters).sort((a, b) => a.line - b.line)
          assert.deepStrictEqual(
            entries.map((e) => [e.line, e.column, e.field, e.error, e.record]),
            [
              [2, 1, "id", 'expected an integer, got "bad"', "bad,1,filler"],
              [34, 2, "amount", 'expected an integer, got "abc"', "2,abc,bad amount"],
              [35, 3, "note", "expected 3 fields, found 2", "3,30"],
              [37, 3, undefined, 'unexpected character "c" after the closing quote', '5,50,"ab"c'],
              [41, 4, undefined, "expected 3 fields, found 4", "8,80,x,extra"],
              [43, 3, undefined, "unterminated quoted field", '10,100,"never closed\n11,110,swallowed by the quote\n']
            ],
            mode
          )
          for (const e of entries) {
            assert.strictEqual(e.node, "test")
            assert.strictEqual(e.file, path)
            if (mode.startsWith("ranges")) assert.isNumber(e.instance, mode)
          }
          // each range sets aside the bad records it reads
          if (mode.startsWith("ranges")) assert.deepStrictEqual(entries.map((e) => e.instance), [0, 1, 1, 1, 1, 1], mode)
        })).pipe(Effect.asVoid)))

  it.effect("with invalid_utf8: replace, an entry's text says U+FFFD for a byte that is not UTF-8, as the records read do", () =>
    withInput(
      "in.csv",
      Buffer.concat([
        Buffer.from("id,amount,note\n1,10,ok\n2,20,\"x"),
        Buffer.from([0xfe]),
        Buffer.from("\"y\n3,30,\"a\""),
        Buffer.from([0xff]),
        Buffer.from("\n4,40,ok\n")
      ]),
      (path, dir) =>
        Effect.forEach(MODES, (mode) =>
          Effect.gen(function*() {
            const letters = join(dir, `${mode}.replaced.ndjson`)
            const config = { path, columns, invalid_utf8: "replace", on_error: "dead_letter", dead_letter: { path: letters } }
            const records = yield* read(mode, config)
            assert.deepStrictEqual(records.map((r) => r.id).sort((a, b) => a - b), [1, 4], mode)
            assert.deepStrictEqual(
              sourceLetters(letters).sort((a, b) => a.line - b.line).map((e) => [e.line, e.record]),
              [[3, '2,20,"x\uFFFD"y'], [4, '3,30,"a"\uFFFD']],
              mode
            )
          })).pipe(Effect.asVoid)
    ))

  it.effect("a seek drops the entries after the position; a run that does not resume starts the file afresh", () =>
    withFile(MIXED, (path, dir) =>
      Effect.scoped(Effect.gen(function*() {
        const letters = join(dir, "rejected.ndjson")
        const config = { path, columns, on_error: "dead_letter", dead_letter: { path: letters } }
        const reader = yield* openSource("csv", config)
        const first = yield* drain(reader, 2, 2)
        assert.deepStrictEqual(first.records.map((r) => (r as { readonly id: number }).id), [1, 4])
        const at = yield* reader.position
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [3, 4])
        yield* drain(reader)
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [3, 4, 6, 10, 12])
        const again = yield* openSource("csv", config)
        yield* again.seek(at)
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [3, 4])
        assert.deepStrictEqual((yield* drain(again)).records.map((r) => (r as { readonly id: number }).id), [6, 7, 9])
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [3, 4, 6, 10, 12])
        yield* read("serial", config)
        assert.deepStrictEqual(sourceLetters(letters).map((e) => e.line), [3, 4, 6, 10, 12])
      }))))

  it("on_error: dead_letter needs dead_letter: { path }; dead_letter needs oversize or on_error", () => {
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", on_error: "dead_letter" }), ["dead_letter: on_error: dead_letter needs dead_letter: { path }"])
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", on_error: "dead_letter", dead_letter: { path: "x" } }), [])
    assert.strictEqual(configIssues("source", "csv", { path: "x.csv", dead_letter: { path: "x" } }).length, 1)
  })
})
