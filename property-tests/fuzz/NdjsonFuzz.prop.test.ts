/**
 * Fuzzing the NDJSON reader (issue 21): random files of JSON lines — values of every shape, blank
 * lines, CRLF, mutated lines, bytes that are not UTF-8, integers beyond 2^53, numbers beyond a
 * double, nesting around `max_depth` — read by the `ndjson` source must give exactly what a plain
 * reference gives (split at LF, strict UTF-8, `JSON.parse` with the source text of each number):
 * the same records, or a failure of the same kind at the same line. The line splitter alone, fed
 * in random chunks, must give the reference's lines and byte offsets. Seed corpus:
 * test/fuzz/corpus/ndjson.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { END, LineSplitter, LINE, NEED_MORE } from "../../src/connectors/ndjson/internal/lines.ts"
import { RecordError } from "../../src/Errors.ts"
import { chunkDecoder, replaceEscapes } from "../../src/internal/utf8.ts"
import { readAll, tempDir } from "../../test/connectors/csv/support.ts"
import { numRuns, timeoutFor } from "../support/effectProperty.ts"
import { decodeLenient, decodeUtf8 } from "./reference.ts"

const CORPUS = join(import.meta.dirname, "../../test/fuzz/corpus/ndjson")
const MAX_DEPTH = 6

type Outcome = { readonly records: ReadonlyArray<unknown> } | { readonly error: string }

const depthOf = (v: unknown): number =>
  typeof v !== "object" || v === null ? 0 : 1 + Math.max(0, ...Object.values(v as object).map(depthOf))

/** The reference reading of a file's bytes (max_depth = MAX_DEPTH, big_integers: error). */
const reference = (bytes: Uint8Array): Outcome => {
  const { text, truncated } = decodeUtf8(bytes)
  const body = text.charCodeAt(0) === 0xfeff && !(bytes[0] !== 0xef) ? text.slice(1) : text
  const lines = body.split("\n")
  const records: Array<unknown> = []
  for (let i = 0; i < lines.length; i++) {
    const last = i === lines.length - 1
    if (last && truncated) return { error: `${i + 1}:not-text` }
    const line = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i]
    // blank: empty, or whitespace starting with a JSON whitespace (a lone U+FEFF inside the file is no blank line)
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)) continue
    let problem: string | undefined
    let value: unknown
    try {
      value = JSON.parse(line, (_k, v: unknown, ctx?: { readonly source?: string }) => {
        if (typeof v === "number" && ctx?.source !== undefined) {
          if (!Number.isFinite(v)) problem ??= "range"
          else if (v === 0 && /[1-9]/.test(ctx.source.split(/[eE]/)[0])) problem ??= "small"
          else if (!/[.eE]/.test(ctx.source) && !Number.isSafeInteger(v)) problem ??= "big-integer"
        }
        return v
      })
    } catch {
      return { error: `${i + 1}:syntax` }
    }
    if (depthOf(value) > MAX_DEPTH) return { error: `${i + 1}:depth` }
    if (problem !== undefined) return { error: `${i + 1}:${problem}` }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: `${i + 1}:not-object` }
    records.push(value)
  }
  return { records }
}

const kindOf = (e: RecordError): string => {
  const d = e.detail
  return d.includes("not UTF-8") ? "not-text"
    : d.startsWith("invalid JSON") ? "syntax"
    : d.includes("max_depth") ? "depth"
    : d.includes("range of a double") ? "range"
    : d.includes("too small for a double") ? "small"
    : d.includes("2^53") ? "big-integer"
    : d.includes("expected a JSON object") ? "not-object"
    : d
}

const sourceOutcome = (path: string) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(readAll("ndjson", { path, max_depth: MAX_DEPTH }, 3))
    if (Exit.isSuccess(exit)) return { records: exit.value } satisfies Outcome
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    const error = reason?._tag === "Fail" ? reason.error : undefined
    return { error: error instanceof RecordError ? `${error.location?.line}:${kindOf(error)}` : `defect: ${String(exit.cause)}` } satisfies Outcome
  })

/** A JSON line, sometimes nested around the depth limit, sometimes with a number a double changes. */
const lineArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_DEPTH + 2 }).map((d) => `{"a":${"[".repeat(d - 1)}1${"]".repeat(d - 1)}}`) },
  { weight: 1, arbitrary: fc.constantFrom("9007199254740993", "-12345678901234567890", "1e999", "-1e400", "9007199254740991", "1.5e300", "12345678901234567890.5", "1e-400", "0e-5", "-0.0").map((n) => `{"n":[${n}]}`) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\t", "{", "}", '{"a":}', "null", "[]", '"s"') }
)

/** A file: lines joined by LF or CRLF, then a few byte-level mutations. */
const fileArb = fc.tuple(
  fc.array(lineArb, { maxLength: 12 }),
  fc.boolean(),
  fc.array(fc.tuple(fc.nat(), fc.constantFrom([0xe9], [0x00], [0xc3], [0x0a], [0x22], [0x7b], [0xef, 0xbb, 0xbf], [0xf0, 0x9f, 0x99, 0x82])), { maxLength: 2 })
).map(([lines, crlf, mutations]) => {
  let bytes = Buffer.from(lines.join(crlf ? "\r\n" : "\n") + (lines.length > 0 ? "\n" : ""))
  for (const [at, insert] of mutations) {
    const p = bytes.length === 0 ? 0 : at % (bytes.length + 1)
    bytes = Buffer.concat([bytes.subarray(0, p), Buffer.from(insert), bytes.subarray(p)])
  }
  return new Uint8Array(bytes)
})

const corpus = (): ReadonlyArray<readonly [string, Uint8Array]> =>
  readdirSync(CORPUS).sort().map((name) => [name, new Uint8Array(readFileSync(join(CORPUS, name)))] as const)

/** The splitter's lines (text, line number, byte offset after), fed in chunks through the strict decoder. */
const split = (bytes: Uint8Array, sizes: ReadonlyArray<number>) => {
  const lines = new LineSplitter()
  const decoder = chunkDecoder("replace")
  const out: Array<readonly [string, number, number]> = []
  let at = 0
  let k = 0
  for (;;) {
    const s = lines.next()
    if (s === LINE) out.push([lines.escaped ? replaceEscapes(lines.value) : lines.value, lines.valueLine, lines.offset()])
    else if (s === NEED_MORE) {
      if (at >= bytes.length) {
        const rest = decoder.end()
        if (decoder.escaped()) lines.escaped = true
        lines.push(rest)
        lines.end()
      } else {
        const size = sizes.length === 0 ? bytes.length : sizes[k++ % sizes.length]
        const text = decoder.write(bytes.subarray(at, at + size))
        if (decoder.escaped()) lines.escaped = true
        lines.push(text)
        at += size
      }
    } else {
      assert.strictEqual(s, END)
      return out
    }
  }
}

/** The reference lines: split at LF, CR dropped before it, byte offset after each line feed. */
const splitReference = (bytes: Uint8Array) => {
  const out: Array<readonly [string, number, number]> = []
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  let line = 1
  while (start < bytes.length) {
    let end = bytes.indexOf(10, start)
    const after = end === -1 ? bytes.length : end + 1
    if (end === -1) end = bytes.length
    const stop = end > start && bytes[end - 1] === 13 ? end - 1 : end
    out.push([decodeLenient(bytes.subarray(start, stop)), line++, after])
    start = after
  }
  return out
}

describe("NDJSON fuzz", () => {
  it("the line splitter gives the reference's lines and byte offsets, for any chunking", () => {
    for (const [, bytes] of corpus()) assert.deepStrictEqual(split(bytes, [1]), splitReference(bytes))
    fc.assert(
      fc.property(fileArb, fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 3 }), (bytes, sizes) => {
        assert.deepStrictEqual(split(bytes, sizes), splitReference(bytes))
      }),
      { numRuns: numRuns(2000) }
    )
  }, timeoutFor(numRuns(2000), 50, 60_000))

  it.effect("the source reads what the reference reads: the same records, or the same failure at the same line", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      let n = 0
      const check = (bytes: Uint8Array) =>
        Effect.gen(function*() {
          const path = join(dir, `f${n++}.ndjson`)
          writeFileSync(path, bytes)
          assert.deepStrictEqual(yield* sourceOutcome(path), reference(bytes), Buffer.from(bytes).toString("hex"))
        })
      for (const [, bytes] of corpus()) yield* check(bytes)
      for (const bytes of fc.sample(fileArb, { numRuns: numRuns(500), seed: Number(process.env.DATAFLARE_FUZZ_SEED ?? 21) })) yield* check(bytes)
    })), { timeout: timeoutFor(numRuns(500), 500, 600_000) })
})
