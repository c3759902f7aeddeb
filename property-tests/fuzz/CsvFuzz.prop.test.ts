/**
 * Fuzzing the CSV readers (issue 21) against the reference of reference.ts, on random bytes drawn
 * mostly from the characters that matter (delimiters, quotes, CR, LF, multi-byte characters, bytes
 * that are not UTF-8, NUL) and cut into random chunks:
 * - the parser, fed by the strict decoder as the readers feed it, reads exactly the reference's
 *   records and stops with the reference's problem (syntax / not text) at its line and field —
 *   with `next`, and with `nextSpans` (fields as places, `""` marked) as the range threads read;
 * - the one-thread `csv` source reads a file of those bytes the same way;
 * - the reader that hands bytes on (`text/csv`) and the parallel range readers give exactly the
 *   one-thread reader's outcome (records, or the same error).
 * Every file of the seed corpus (test/fuzz/corpus/csv) is run too. Runs: `DATAFLARE_PROPERTY_RUNS`
 * (`npm run fuzz` for a long campaign).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import * as Batch from "../../src/Batch.ts"
import { CsvParser, END, NEED_MORE, NOT_TEXT, QUOTED, SYNTAX_ERROR } from "../../src/connectors/csv/internal/parser.ts"
import { RecordError } from "../../src/Errors.ts"
import { chunkDecoder } from "../../src/internal/utf8.ts"
import { context, openSource, tempDir } from "../../test/connectors/csv/support.ts"
import { numRuns, timeoutFor } from "../support/effectProperty.ts"
import { type CsvReading, decodeUtf8, parseCsv } from "./reference.ts"

const CORPUS = join(import.meta.dirname, "../../test/fuzz/corpus/csv")

/** Bytes that make CSV interesting, and some that make it not text. */
const PIECES: ReadonlyArray<ReadonlyArray<number>> = [
  [0x61], [0x62], [0x20], [0x2c], [0x2c], [0x3b], [0x22], [0x22], [0x22, 0x22], [0x0a], [0x0a], [0x0d], [0x0d, 0x0a],
  [0xc3, 0xa9], // é
  [0xe6, 0x97, 0xa5], // 日
  [0xf0, 0x9f, 0x99, 0x82], // 🙂
  [0xef, 0xbb, 0xbf], // a byte order mark
  [0xe9], // Latin-1 é: not UTF-8
  [0xc3], // a lead byte alone
  [0x80], // a continuation byte alone
  [0xed, 0xa0, 0x80], // a surrogate
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0x00]
]

/** Mostly CSV-ish bytes; a few inputs of raw random bytes. */
const bytesArb = fc.oneof(
  { weight: 9, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }).map((ps) => Uint8Array.from(ps.flat())) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }) }
)

/** The reference's reading of `bytes`. */
const reference = (bytes: Uint8Array, delimiter: string): CsvReading => {
  const { text, truncated } = decodeUtf8(bytes)
  return parseCsv(text, delimiter, truncated)
}

/**
 * The parser's reading, fed `bytes` in chunks of the given sizes through the strict decoder; with
 * `spans`, as the range threads read it: fields as places (`nextSpans`, `field`), `next` for the
 * records it leaves (`QUOTED`).
 */
const parserReading = (bytes: Uint8Array, delimiter: string, sizes: ReadonlyArray<number>, spans = false): CsvReading => {
  const parser = new CsvParser(delimiter)
  const decoder = chunkDecoder("error")
  const records: Array<Array<string>> = []
  const lines: Array<number> = []
  const fields: Array<string> = []
  let at = 0
  let k = 0
  for (;;) {
    let n: number
    if (spans) {
      n = parser.nextSpans()
      if (n === QUOTED) n = parser.next(fields)
      else for (let f = 0; f < n; f++) fields[f] = parser.field(f)
    } else n = parser.next(fields)
    if (n >= 0) {
      records.push(fields.slice(0, n))
      lines.push(parser.recordLine)
    } else if (n === NEED_MORE) {
      if (at >= bytes.length) {
        parser.push(decoder.end())
        if (decoder.invalidAt() >= 0) parser.stop("not text")
        else parser.end()
      } else {
        const size = sizes.length === 0 ? bytes.length : sizes[k++ % sizes.length]
        parser.push(decoder.write(bytes.subarray(at, at + size)))
        at += size
        if (decoder.invalidAt() >= 0) parser.stop("not text")
      }
    } else if (n === END) return { records, lines }
    else {
      assert.oneOf(n, [SYNTAX_ERROR, NOT_TEXT])
      return { records, lines, error: { kind: n === NOT_TEXT ? "not-text" : "syntax", line: parser.errorLine, field: parser.errorField } }
    }
  }
}

/** What a source read: record values in field order, or the error (kind and location, or message). */
type Outcome = { readonly records: ReadonlyArray<ReadonlyArray<unknown>> } | { readonly error: string }

const describeError = (e: unknown): string =>
  e instanceof RecordError
    ? `${e.location?.line}:${e.location?.column}:${e.detail.includes("not UTF-8 text") ? "not-text" : e.detail.includes("quote") ? "syntax" : e.detail}`
    : `${String(e)}`

/** Reads the file through the `csv` source with `config`, in `mode`. */
const sourceOutcome = (path: string, config: object, mode: "serial" | "bytes" | "ranges") =>
  Effect.gen(function*() {
    const count = mode === "ranges" ? 2 : 1
    const exit = yield* Effect.exit(Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) =>
        Effect.scoped(Effect.gen(function*() {
          const ctx = mode === "bytes" ? { ...context, encoding: "text/csv" as const } : { ...context, instance: i, parallelism: count }
          const reader = yield* openSource("csv", { path, ...config }, ctx)
          const out: Array<ReadonlyArray<unknown>> = []
          for (;;) {
            const batch = yield* reader.readBatch(3)
            if (batch === undefined) return out
            const decoded = Batch.decodeRecords(batch)
            if ("error" in decoded) return yield* Effect.fail(decoded.error as RecordError)
            for (const r of decoded) out.push(Object.values(r as object))
          }
        }))
    ))
    if (Exit.isSuccess(exit)) return { records: exit.value.flat() } satisfies Outcome
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    return { error: reason?._tag === "Fail" ? describeError(reason.error) : `defect: ${String(exit.cause)}` } satisfies Outcome
  })

/** The reference's reading as a source outcome (header: false: every field a string, `c1..cN`). */
const referenceOutcome = (r: CsvReading): Outcome =>
  r.error !== undefined ? { error: `${r.error.line}:${r.error.field}:${r.error.kind}` } : { records: r.records }

const corpus = (): ReadonlyArray<readonly [string, Uint8Array]> =>
  readdirSync(CORPUS).sort().map((name) => [name, new Uint8Array(readFileSync(join(CORPUS, name)))] as const)

/** Runs the same check on the corpus, then on random inputs. */
const checkParser = (bytes: Uint8Array, delimiter: string, sizes: ReadonlyArray<number>, label: string) => {
  const expected = reference(bytes, delimiter)
  assert.deepStrictEqual(parserReading(bytes, delimiter, sizes), expected, `${label}: chunks ${JSON.stringify(sizes)}`)
  assert.deepStrictEqual(parserReading(bytes, delimiter, sizes, true), expected, `${label}: spans, chunks ${JSON.stringify(sizes)}`)
}

describe("CSV fuzz", () => {
  it("the parser fed by the strict decoder reads what the reference reads: seed corpus", () => {
    for (const [name, bytes] of corpus()) {
      for (const sizes of [[], [1], [2, 3], [7]]) checkParser(bytes, ",", sizes, name)
    }
  })

  it("the parser fed by the strict decoder reads what the reference reads, for any bytes and chunking", () => {
    fc.assert(
      fc.property(bytesArb, fc.constantFrom(",", ";"), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 4 }), (bytes, delimiter, sizes) =>
        checkParser(bytes, delimiter, sizes, Buffer.from(bytes).toString("hex"))),
      { numRuns: numRuns(2000) }
    )
  }, timeoutFor(numRuns(2000), 50, 60_000))

  it.effect("the one-thread source reads what the reference reads; the bytes path and the range readers agree with it", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      let n = 0
      const check = (bytes: Uint8Array, ranges: boolean) =>
        Effect.gen(function*() {
          const path = join(dir, `f${n++}.csv`)
          writeFileSync(path, bytes)
          const label = Buffer.from(bytes).toString("hex")
          const serial = yield* sourceOutcome(path, { header: false }, "serial")
          assert.deepStrictEqual(serial, referenceOutcome(reference(bytes, ",")), `serial vs reference: ${label}`)
          // with a header (the bytes path needs a fixed field count); the same outcome in every mode
          const withHeader = yield* sourceOutcome(path, {}, "serial")
          assert.deepStrictEqual(yield* sourceOutcome(path, {}, "bytes"), withHeader, `bytes vs serial: ${label}`)
          if (ranges) {
            const r = yield* sourceOutcome(path, {}, "ranges")
            // ranges interleave nothing here (2 instances read in order), and a split inside a
            // quoted field is refused with its own message: compare when both read
            if ("records" in r && "records" in withHeader) assert.deepStrictEqual(r, withHeader, `ranges vs serial: ${label}`)
            if ("records" in withHeader && !("records" in r)) assert.include(r.error, "parallelism: 1", `ranges: ${label}`)
          }
        })
      for (const [, bytes] of corpus()) yield* check(bytes, true)
      const samples = fc.sample(bytesArb, { numRuns: numRuns(300), seed: Number(process.env.DATAFLARE_FUZZ_SEED ?? 21) })
      for (let i = 0; i < samples.length; i++) yield* check(samples[i], i % 10 === 0)
    })), { timeout: timeoutFor(numRuns(300), 5_000, 600_000) })
})
