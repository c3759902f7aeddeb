/**
 * The csv source handing its bytes on unparsed (`OpenContext.encoding: "text/csv"`): the records
 * of its batches (encoded ones decoded on demand) and its positions must be exactly those of the
 * ordinary reader, for any file, batch size and chunking; the bytes of an encoded batch must be
 * exactly the file's bytes between two positions; and the byte scanner must stop at everything
 * outside the plain subset.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import { type ScanResult, scanPlain } from "../../../src/connectors/csv/internal/scan.ts"
import { RecordError } from "../../../src/Errors.ts"
import { context, failure, openSource, tempDir } from "./support.ts"

const encodedContext = { ...context, encoding: "text/csv" as const }

interface Read {
  readonly records: ReadonlyArray<unknown>
  readonly positions: ReadonlyArray<Position>
  readonly encoded: number
  /** Every encoded batch's bytes equal the file's bytes between the previous position and its own. */
  readonly bytesMatch: boolean
}

/** Reads a whole file through the csv source, with or without the encoding, in batches of `max`. */
const read = (path: string, config: object, max: number, encoded: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* openSource("csv", { path, ...config }, encoded ? encodedContext : context)
    const file = readFileSync(path)
    const records: Array<unknown> = []
    const positions: Array<Position> = []
    let count = 0
    let bytesMatch = true
    let from = (yield* reader.position) as { offset: number }
    for (;;) {
      const batch = yield* reader.readBatch(max)
      if (batch === undefined) break
      const to = batch.origin?.position as { offset: number }
      const enc = Batch.encodedOf(batch)
      if (enc !== undefined) {
        count++
        if (!Buffer.from(enc.bytes).equals(file.subarray(from.offset, to.offset))) bytesMatch = false
      }
      // an encoded batch's record errors surface when it is decoded (a sink decodes it this way)
      const decoded = Batch.decodeRecords(batch)
      if ("error" in decoded) return yield* Effect.fail(decoded.error as RecordError)
      assert.strictEqual(decoded.length, Batch.size(batch), "decoded records = counted records")
      for (const r of decoded) records.push(r)
      positions.push(batch.origin?.position ?? null)
      from = to
    }
    positions.push((yield* reader.position) as Position)
    return { records, positions, encoded: count, bytesMatch } satisfies Read
  }))

const CHARS = ["a", "b", " ", ",", ";", "\"", "\n", "\r", "\\", ".", "é", "日", "🙂"]
const field = fc.array(fc.constantFrom(...CHARS), { maxLength: 5 }).map((c) => c.join(""))

/** A field written as CSV: quoted with doubled quotes, or raw (which may make odd CSV on purpose). */
const write = (value: string, quote: boolean): string => (quote ? `"${value.replace(/"/g, "\"\"")}"` : value)

describe("csv source, bytes handed on (text/csv)", () => {
  it.effect("reads the same records and positions as the parser, for any file, batch size and chunk boundary", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "in.csv")
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(fc.tuple(field, field, fc.boolean(), fc.boolean(), fc.constantFrom("\n", "\r\n", "\n\n")), { maxLength: 60 }),
            fc.integer({ min: 1, max: 40 }),
            fc.constantFrom(",", ";"),
            fc.boolean(),
            // a filler record makes chunk boundaries (64 KiB) fall at different places
            fc.integer({ min: 0, max: 70_000 }),
            async (rows, max, delimiter, trailing, filler) => {
              let text = `a${delimiter}b\n` + (filler > 0 ? `${"x".repeat(filler)}${delimiter}y\n` : "")
              for (const [a, b, qa, qb, end] of rows) text += write(a, qa) + delimiter + write(b, qb) + end
              if (!trailing) text = text.replace(/\n$/, "")
              writeFileSync(path, text)
              const config = { delimiter }
              const parsed = await Effect.runPromise(Effect.result(read(path, config, max, false)))
              const passed = await Effect.runPromise(Effect.result(read(path, config, max, true)))
              if (parsed._tag === "Failure") {
                // a file the parser rejects is rejected the same way
                assert.strictEqual(passed._tag, "Failure")
                if (passed._tag === "Failure") assert.strictEqual(passed.failure.message, parsed.failure.message)
                return
              }
              if (passed._tag === "Failure") return assert.fail(passed.failure.message)
              assert.deepStrictEqual(passed.success.records, parsed.success.records)
              assert.deepStrictEqual(passed.success.positions[passed.success.positions.length - 1], parsed.success.positions[parsed.success.positions.length - 1])
              assert.isTrue(passed.success.bytesMatch, "encoded bytes are the file's bytes between positions")
            }
          ),
          { numRuns: 200 }
        )
      )
    }).pipe(Effect.scoped), 120_000)

  it.effect("hands plain files on as bytes, and parses only the stretches outside the plain subset", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const plain = join(dir, "plain.csv")
      writeFileSync(plain, "id,name\n" + Array.from({ length: 1000 }, (_, i) => `${i},"n, ${i}"`).join("\n") + "\n")
      const a = yield* read(plain, {}, 100, true)
      assert.strictEqual(a.encoded, 10, "every batch encoded")
      assert.isTrue(a.bytesMatch)
      const odd = join(dir, "odd.csv")
      // a CRLF record in the middle: its batch is parsed, the others are bytes
      writeFileSync(odd, "id,name\n" + Array.from({ length: 1000 }, (_, i) => `${i},n${i}${i === 550 ? "\r" : ""}`).join("\n") + "\n")
      const b = yield* read(odd, {}, 100, true)
      const c = yield* read(odd, {}, 100, false)
      assert.deepStrictEqual(b.records, c.records)
      assert.isTrue(b.encoded >= 8 && b.encoded < b.positions.length - 1, `${b.encoded} of ${b.positions.length - 1} batches encoded`)
    }).pipe(Effect.scoped))

  it.effect("resumes from a position taken in either mode", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "in.csv")
      writeFileSync(path, "id,note\n" + Array.from({ length: 500 }, (_, i) => `${i},"line ${i}\nnext"`).join("\n") + "\n")
      const all = (yield* read(path, {}, 1000, false)).records
      for (const encodedFirst of [true, false]) {
        const rest = yield* Effect.scoped(Effect.gen(function*() {
          const first = yield* openSource("csv", { path }, encodedFirst ? encodedContext : context)
          for (let i = 0; i < 3; i++) yield* first.readBatch(57)
          const at = yield* first.position
          const second = yield* openSource("csv", { path }, encodedFirst ? context : encodedContext)
          yield* second.seek(at)
          const out: Array<unknown> = []
          for (;;) {
            const batch = yield* second.readBatch(100)
            if (batch === undefined) return out
            out.push(...Batch.toArray(batch))
          }
        }))
        assert.deepStrictEqual(rest, all.slice(171))
      }
    }).pipe(Effect.scoped))

  it.effect("a record with the wrong number of fields fails when its batch is read, naming file, line and field", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "bad.csv")
      writeFileSync(path, "a,b\n1,2\n3,4,5\n")
      const error = yield* failure(Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("csv", { path }, encodedContext)
        const batch = yield* reader.readBatch(10)
        assert.isDefined(batch)
        const records = Batch.decodeRecords(batch!)
        if ("error" in records) return yield* Effect.fail(records.error as RecordError)
        return records
      })))
      assert.instanceOf(error, RecordError)
      assert.include(error.message, `${path}:3:3`)
    }).pipe(Effect.scoped))
})

describe("scanPlain", () => {
  const scan = (text: string, eof: boolean, max = 100): ScanResult => {
    const out: ScanResult = { end: 0, records: 0, lines: 0, odd: false }
    const buf = Buffer.from(text)
    scanPlain(buf, 0, buf.length, max, ",".charCodeAt(0), eof, out)
    return out
  }

  it("counts complete records and their lines", () => {
    assert.deepStrictEqual(scan("a,b\nc,\"d\ne\"\nf,g\n", false), { end: 16, records: 3, lines: 4, odd: false })
    assert.deepStrictEqual(scan("a,b\nc,d\n", false, 1), { end: 4, records: 1, lines: 1, odd: false })
  })

  it("leaves an incomplete record for later, or counts it at the end of the input", () => {
    assert.deepStrictEqual(scan("a,b\nc,d", false), { end: 4, records: 1, lines: 1, odd: false })
    assert.deepStrictEqual(scan("a,b\nc,d", true), { end: 7, records: 2, lines: 2, odd: false })
    assert.deepStrictEqual(scan("a,\"b\nc", false), { end: 0, records: 0, lines: 0, odd: false })
    assert.deepStrictEqual(scan("a,\"b\nc", true), { end: 0, records: 0, lines: 0, odd: true }, "unterminated quote")
  })

  for (
    const [what, text] of [
      ["a carriage return", "a,b\nc,d\r\n"],
      ["an empty line", "a,b\n\nc,d\n"],
      ["a quote inside an unquoted field", "a,b\nc,d\"e\n"],
      ["a record starting with a backslash", "a,b\n\\.\n"],
      ["text after a closing quote", "a,b\n\"c\"d,e\n"]
    ] as const
  ) {
    it(`stops before ${what}`, () => {
      const r = scan(text, true)
      assert.deepStrictEqual({ end: r.end, records: r.records, odd: r.odd }, { end: 4, records: 1, odd: true })
    })
  }
})
