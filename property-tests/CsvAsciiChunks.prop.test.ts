/**
 * The CSV range threads learn that a chunk of text is ASCII from the decoder (`ChunkDecoder.ascii`:
 * a UTF-8 text is ASCII exactly when it has as many characters as bytes) instead of scanning the
 * text, and the parser then makes the text's bytes (`CsvParser.asciiBytes`) and counts its byte
 * offsets (`offset`) without a UTF-8 length scan. On generated files of ASCII and multi-byte
 * characters cut into chunks at any byte: the decoder says ASCII of exactly the ASCII texts it returns, and a parser told so reads the same fields, places, line numbers, offsets and bytes
 * as one that is not told. Runs: `DATAFLARE_PROPERTY_RUNS`.
 */
import { Buffer } from "node:buffer"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { CsvParser, END, NEED_MORE, QUOTED } from "../src/connectors/csv/internal/parser.ts"
import { chunkDecoder } from "../src/internal/utf8.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

const runs = numRuns(300)

/** Field text: mostly ASCII, now and then a multi-byte character, a quote or a line break. */
const field = fc.array(fc.constantFrom("a", "b", "1", "-", " ", "é", "日", "🙂", "\"", "\n", "x"), { maxLength: 8 }).map((cs) => cs.join(""))
const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replaceAll("\"", "\"\"")}"` : s)
const file = fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 30 })
  .map((rows) => rows.map((r) => r.map(csvField).join(",") + "\n").join(""))

/** Cuts `bytes` at the given fractions of its length (anywhere, inside a character too). */
const cut = (bytes: Buffer, at: ReadonlyArray<number>): Array<Buffer> => {
  const points = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b)
  const pieces: Array<Buffer> = []
  let from = 0
  for (const p of points) {
    pieces.push(bytes.subarray(from, p))
    from = p
  }
  pieces.push(bytes.subarray(from))
  return pieces
}

interface Read {
  readonly fields: Array<string>
  readonly line: number
  readonly offset: number
  readonly bytes: string | undefined
}

/** Reads the pieces with `nextSpans` as a range thread does, telling the parser what the decoder says when `tell`. */
const readAll = (pieces: ReadonlyArray<Buffer>, tell: boolean): Array<Read> => {
  const decoder = chunkDecoder("error")
  const parser = new CsvParser(",", 0, 1, 1 << 20)
  const out: Array<Read> = []
  let next = 0
  for (;;) {
    let n = parser.nextSpans()
    const fields: Array<string> = []
    // a record on several lines: read with `next`, as the range thread does
    const quoted = n === QUOTED
    if (quoted) n = parser.next(fields)
    if (n === NEED_MORE) {
      if (next < pieces.length) {
        const text = decoder.write(pieces[next++])
        parser.push(text, tell && decoder.ascii())
      } else {
        parser.push(decoder.end())
        parser.end()
      }
      continue
    }
    if (n === END) return out
    assert.isAtLeast(n, 0, parser.errorMessage)
    if (quoted) {
      out.push({ fields: fields.slice(0, n), line: parser.recordLine, offset: parser.offset(), bytes: undefined })
      continue
    }
    for (let k = 0; k < n; k++) fields.push(parser.field(k))
    const bytes = parser.asciiBytes()
    const spans = parser.spans
    out.push({
      fields,
      line: parser.recordLine,
      offset: parser.offset(),
      // the places read from the bytes, where the text has them
      bytes: bytes === undefined ? undefined : Array.from({ length: n }, (_, k) => bytes.toString("latin1", spans[2 * k], spans[2 * k + 1])).join("\u0000")
    })
  }
}

describe("ASCII told by the decoder (CSV range threads)", () => {
  it("the decoder says ASCII of exactly the ASCII texts it returns", () => {
    fc.assert(
      fc.property(file, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (text, at) => {
        const decoder = chunkDecoder("error")
        for (const piece of cut(Buffer.from(text, "utf8"), at)) {
          const s = decoder.write(piece)
          assert.strictEqual(decoder.ascii(), Buffer.byteLength(s, "utf8") === s.length, JSON.stringify(s))
        }
      }),
      { numRuns: runs }
    )
  }, timeoutFor(runs, 50, 30_000))

  it("a parser told so reads the same fields, lines, offsets and bytes as one that is not", () => {
    fc.assert(
      fc.property(file, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (text, at) => {
        const pieces = cut(Buffer.from(text, "utf8"), at)
        assert.deepStrictEqual(readAll(pieces, true), readAll(pieces, false))
      }),
      { numRuns: runs }
    )
  }, timeoutFor(runs, 100, 60_000))
})
