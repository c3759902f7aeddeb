/**
 * Hostile and extreme CSV input (issues 21 and 12 item 7): records over `max_record_bytes`, bytes
 * that are not UTF-8, NUL bytes and binary files, fields spanning many chunks, numbers and dates
 * that a lenient reader would change. Each case goes through the three readers — the one-thread
 * reader, the reader that hands bytes on (`text/csv`) and the parallel range readers — which must
 * agree: the same records, or the same error naming `file:line:field`.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { OpenContext } from "../../../src/Connector.ts"
import { RecordError } from "../../../src/Errors.ts"
import { configIssues, context, drain, openSource, tempDir } from "./support.ts"

type Mode = "serial" | "bytes" | "ranges"
const MODES: ReadonlyArray<Mode> = ["serial", "bytes", "ranges"]

const ctx = (mode: Mode, instance = 0, parallelism = 1): OpenContext =>
  mode === "bytes" ? { ...context, encoding: "text/csv" } : mode === "ranges" ? { ...context, instance, parallelism } : context

/** Reads the whole file in `mode`; records decoded (an encoded batch too), or the first error. */
const read = (mode: Mode, config: object) =>
  Effect.gen(function*() {
    const count = mode === "ranges" ? 2 : 1
    const parts = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) =>
        Effect.scoped(Effect.gen(function*() {
          const reader = yield* openSource("csv", config, ctx(mode, i, count))
          const records: Array<unknown> = []
          for (;;) {
            const batch = yield* reader.readBatch(100)
            if (batch === undefined) return records
            const decoded = Batch.decodeRecords(batch)
            if ("error" in decoded) return yield* Effect.fail(decoded.error as RecordError)
            for (const r of decoded) records.push(r)
          }
        }))
    )
    return parts.flat()
  })

/** The error of reading in `mode` (the test fails when the read succeeds). */
const errorOf = (mode: Mode, config: object) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(read(mode, config))
    if (Exit.isSuccess(exit)) return assert.fail(`${mode}: expected a failure, read ${JSON.stringify(exit.value).slice(0, 200)}`)
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (reason === undefined || reason._tag !== "Fail") return assert.fail(`${mode}: expected a typed failure: ${String(exit.cause)}`)
    return reason.error
  })

const withFile = <A, E>(content: string | Buffer, f: (path: string) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const path = join(yield* tempDir, "in.csv")
    writeFileSync(path, content)
    return yield* f(path)
  }))

/** Asserts every mode fails with a RecordError at `file:line[:column]` (and `field`), whose message includes `text`. */
const expectRecordError = (config: { readonly path: string }, where: string, text: string, field?: string) =>
  Effect.forEach(MODES, (mode) =>
    Effect.gen(function*() {
      const error = yield* errorOf(mode, config)
      assert.instanceOf(error, RecordError, `${mode}: ${String(error)}`)
      const e = error as RecordError
      assert.include(e.message, `${config.path}:${where}: `, mode)
      assert.include(e.message, text, mode)
      assert.strictEqual(e.field, field, `${mode}: field`)
    }))

const filler = (from: number, n: number) => Array.from({ length: n }, (_, i) => `${from + i},plain,x`).join("\n")

describe("csv source, hostile input", () => {
  it.effect("a field spanning hundreds of chunks is read whole, quoted or not, in every mode", () => {
    const big = "0123456789abcdef".repeat(65536) // 1 MiB: 16 chunks of 64 KiB
    const quoted = `${big}""\n${big}`
    const text = `id,text,n\n1,${big},a\n${filler(2, 300)}\n400,"${quoted}",b\n${filler(401, 300)}\n`
    return withFile(text, (path) =>
      Effect.forEach(MODES, (mode) =>
        Effect.gen(function*() {
          const records = (yield* read(mode, { path })) as Array<{ readonly id: string; readonly text: string }>
          assert.strictEqual(records.length, 602, mode)
          const byId = new Map(records.map((r) => [r.id, r.text]))
          assert.strictEqual(byId.get("1"), big, mode)
          assert.strictEqual(byId.get("400"), `${big}"\n${big}`, mode)
          assert.strictEqual(byId.get("700"), "plain", mode)
        })))
  })

  it.effect("a record over max_record_bytes fails with file:line in every mode, before it is held whole", () =>
    withFile(`id,text,n\n${filler(1, 200)}\n201,${"x".repeat(5000)},y\n${filler(202, 200)}\n`, (path) =>
      expectRecordError({ path, max_record_bytes: 4096 } as { path: string }, "202", "larger than max_record_bytes (4096 bytes")))

  it.effect("oversize: dead_letter skips a record over the limit (in every mode), notes its place, and reads on", () =>
    Effect.gen(function*() {
      const big = "x".repeat(300_000) // five chunks
      const text = `id,text,n\n${filler(1, 100)}\n101,"${big}\n${big}",y\n${filler(102, 100)}\n202,${big},z\n203,last,w\n`
      yield* withFile(text, (path) =>
        Effect.forEach(MODES, (mode) =>
          Effect.gen(function*() {
            const deadLetter = `${path}.${mode}.rejected.ndjson`
            const config = { path, max_record_bytes: 4096, oversize: "dead_letter", dead_letter: { path: deadLetter } }
            const records = (yield* read(mode, config)) as Array<{ readonly id: string }>
            // (the range threads read two ranges; each keeps file order)
            assert.deepStrictEqual(records.map((r) => r.id).sort(), [...Array.from({ length: 100 }, (_, i) => String(i + 1)), ...Array.from({ length: 100 }, (_, i) => String(i + 102)), "203"].sort(), mode)
            const entries = readFileSync(deadLetter, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { line: number; offset: number; head: string; file: string })
            assert.deepStrictEqual(entries.map((e) => e.line).sort(), [102, 204], mode)
            const bytes = Buffer.from(text)
            for (const e of entries) {
              assert.strictEqual(e.file, path)
              // the offset is the record's first byte in the file
              assert.strictEqual(bytes.subarray(e.offset, e.offset + 4).toString(), e.line === 102 ? "101," : "202,")
              assert.strictEqual(e.head.length, 200)
            }
          })))
    }))

  it.effect("a skipped record's end is found with its quotes: a line feed inside quotes does not end it; positions after it resume", () =>
    withFile(`a,b\n1,"${"q".repeat(5000)}\n2,not a record"\n3,real\n`, (path) =>
      Effect.scoped(Effect.gen(function*() {
        const config = { path, max_record_bytes: 1000, oversize: "dead_letter", dead_letter: { path: `${path}.dlq` } }
        const reader = yield* openSource("csv", config, context)
        const all = yield* drain(reader)
        assert.deepStrictEqual(all.records, [{ a: "3", b: "real" }])
        assert.deepStrictEqual(yield* reader.position, { offset: Buffer.byteLength(`a,b\n1,"${"q".repeat(5000)}\n2,not a record"\n3,real\n`), line: 5 })
      }))))

  it("oversize: dead_letter needs a dead_letter path, and a dead_letter path needs it", () => {
    assert.strictEqual(configIssues("source", "csv", { path: "x.csv", oversize: "dead_letter" }).length, 1)
    assert.strictEqual(configIssues("source", "csv", { path: "x.csv", dead_letter: { path: "x" } }).length, 1)
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", oversize: "dead_letter", dead_letter: { path: "x" } }), [])
  })

  it.effect("an unclosed quote makes the rest of the file one field: refused at the quote's line", () =>
    withFile(`id,text,n\n${filler(1, 100)}\n101,"oops,x\n${filler(102, 3000)}\n`, (path) =>
      expectRecordError({ path, max_record_bytes: 8192 } as { path: string }, "102", "an unclosed quote")))

  it.effect("a record of multi-byte characters is measured in bytes", () =>
    withFile(`id,text,n\n1,${"é".repeat(3000)},y\n`, (path) =>
      Effect.gen(function*() {
        // 6,000 bytes in 3,000 characters
        yield* expectRecordError({ path, max_record_bytes: 5000 } as { path: string }, "2", "max_record_bytes (5000 bytes")
        const records = yield* read("serial", { path, max_record_bytes: 6100 })
        assert.strictEqual(records.length, 1)
      })))

  it.effect("bytes that are not UTF-8 fail with file:line:field and the column's name, in every mode", () =>
    withFile(
      Buffer.concat([Buffer.from(`id,name,city\n${filler(1, 150)}\n151,"Jos`), Buffer.from([0xe9]), Buffer.from(`",Paris\n${filler(152, 150)}\n`)]),
      (path) => expectRecordError({ path }, "152:2", "byte 0xE9, which is not UTF-8", "name")
    ))

  it.effect("with invalid_utf8: replace, such bytes read as U+FFFD (the old behaviour, asked for)", () =>
    withFile(Buffer.concat([Buffer.from("id,name\n1,Jos"), Buffer.from([0xe9]), Buffer.from("\n2,ok\n")]), (path) =>
      Effect.forEach(MODES, (mode) =>
        Effect.gen(function*() {
          const records = yield* read(mode, { path, invalid_utf8: "replace" })
          assert.deepStrictEqual(records, [{ id: "1", name: "Jos\uFFFD" }, { id: "2", name: "ok" }], mode)
        }))))

  it.effect("with invalid_utf8: replace, such bytes in the header read as U+FFFD too (not as the reader's inner escape, a lone surrogate)", () =>
    withFile(Buffer.concat([Buffer.from("id,k"), Buffer.from([0xe9]), Buffer.from("y\n1,v"), Buffer.from([0xff]), Buffer.from("\n")]), (path) =>
      Effect.forEach(MODES, (mode) =>
        Effect.gen(function*() {
          const records = yield* read(mode, { path, invalid_utf8: "replace" })
          assert.deepStrictEqual(records, [{ id: "1", "k\uFFFDy": "v\uFFFD" }], mode)
        }))))

  it.effect("with invalid_utf8: replace, positions stay exact after invalid bytes (U+FFFD would count 3 bytes for 1)", () =>
    withFile(Buffer.concat([Buffer.from("id,name\n1,"), Buffer.from([0xe9, 0xe9, 0xff]), Buffer.from("\n2,x\n3,y\n")]), (path) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("csv", { path, invalid_utf8: "replace" }, context)
        const first = yield* drain(reader, 1, 1)
        assert.deepStrictEqual(first.records, [{ id: "1", name: "\uFFFD\uFFFD\uFFFD" }])
        const at = yield* reader.position
        assert.deepStrictEqual(at, { offset: 8 + 2 + 3 + 1, line: 3 })
        const again = yield* openSource("csv", { path, invalid_utf8: "replace" }, context)
        yield* again.seek(at)
        assert.deepStrictEqual((yield* drain(again)).records, [{ id: "2", name: "x" }, { id: "3", name: "y" }])
      }))))

  it.effect("a UTF-16 file (NUL bytes) and a binary file are refused at their first line", () =>
    Effect.gen(function*() {
      yield* withFile(Buffer.from("id,name\n1,x\n", "utf16le"), (path) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(read("serial", { path }))
          assert.isTrue(Exit.isFailure(exit))
          assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "a NUL byte (is the file UTF-16 or binary?)")
        }))
      const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))
      yield* withFile(binary, (path) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(read("serial", { path, header: false }))
          assert.isTrue(Exit.isFailure(exit))
          assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), `${path}:1:`)
        }))
    }))

  it.effect("a character cut short by the end of the file is not text either", () =>
    withFile(Buffer.concat([Buffer.from("id,name\n1,ok\n2,"), Buffer.from([0xe6, 0x97])]), (path) =>
      expectRecordError({ path }, "3:2", "cut short by the end of the file", "name")))

  it.effect("numbers beyond a double and impossible dates are errors naming file:line:field, not Infinity or March", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, object, string]> = [
        ["n\n1.5\n1e999\n", { n: "number" }, "beyond the range of a double"],
        ["n\n-1e400\n", { n: "number" }, "beyond the range of a double"],
        ["n\n1e-999\n", { n: "number" }, "too small for a double"],
        ["n\n2024-02-30\n", { n: "timestamp" }, "no such date or time"],
        ["n\n2023-02-29T10:00:00Z\n", { n: "timestamp" }, "no such date or time"],
        ["n\n2024-03-01T24:00:00\n", { n: "timestamp" }, "no such date or time"],
        ["n\n2024-03-01 10:61\n", { n: "timestamp" }, "no such date or time"],
        ['n\n"{""a"":12345678901234567890}"\n', { n: "json" }, "at a: the integer 12345678901234567890 is beyond"],
        [`n\n${"[".repeat(1001)}${"]".repeat(1001)}\n`, { n: "json" }, "nested deeper than max_depth (1000"]
      ]
      for (const [text, columns, message] of cases) {
        yield* withFile(text, (path) =>
          Effect.gen(function*() {
            const lines = text.split("\n")
            const line = lines.findIndex((l, i) => i > 0 && l !== "1.5") + 1
            yield* expectRecordError({ path, columns } as { path: string }, `${line}:1`, message, "n")
          }))
      }
    }))

  it.effect("valid edge values still read: a leap day, 2^53 − 1, the largest double, 0e5", () =>
    withFile("t,i,n\n2024-02-29,9007199254740991,1.7976931348623157e308\n2000-02-29T23:59:59Z,-9007199254740991,0e5\n", (path) =>
      Effect.gen(function*() {
        const records = yield* read("serial", { path, columns: { t: "timestamp", i: "integer", n: "number" } })
        assert.deepStrictEqual(records, [
          { t: new Date("2024-02-29T00:00:00Z"), i: 9007199254740991, n: 1.7976931348623157e308 },
          { t: new Date("2000-02-29T23:59:59Z"), i: -9007199254740991, n: 0 }
        ])
      })))

  it("max_record_bytes and invalid_utf8 are checked by the config Schema", () => {
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", max_record_bytes: 0 }).length, 1)
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", invalid_utf8: "ignore" }).length, 1)
    assert.deepStrictEqual(configIssues("source", "csv", { path: "x.csv", max_record_bytes: 1024, invalid_utf8: "replace" }), [])
    // reading options belong to the source: the sink refuses them
    assert.deepStrictEqual(configIssues("sink", "csv", { path: "x.csv", max_record_bytes: 1024 }).length, 1)
  })

  it.effect("positions after a long record resume exactly (the record is counted in bytes once)", () =>
    withFile(`id,text\n1,${"ü".repeat(100_000)}\n2,b\n3,c\n`, (path) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("csv", { path }, context)
        const first = yield* drain(reader, 1, 1)
        const at = yield* reader.position
        assert.deepStrictEqual(at, { offset: 8 + 2 + 200_000 + 1, line: 3 })
        const again = yield* openSource("csv", { path }, context)
        yield* again.seek(at)
        const rest = yield* drain(again)
        assert.strictEqual(first.records.length, 1)
        assert.deepStrictEqual(rest.records, [{ id: "2", text: "b" }, { id: "3", text: "c" }])
      }))))
})
