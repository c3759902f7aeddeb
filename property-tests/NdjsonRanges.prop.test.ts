/**
 * The byte ranges of an NDJSON file, read by the range threads' reader (`rangeReader.ts`), hold
 * exactly what the serial reader reads, whatever the file and the split: random lines (multi-byte
 * characters, CRLF and LF, blank and whitespace lines, long lines, malformed lines set aside, a
 * BOM), split into 1 to 12 ranges, read in random batch sizes, restored at a random position in
 * a random range. The records in range order equal the serial records; the set-aside lines (with
 * their line and column) equal the serial ones.
 */
import { statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { NdjsonRangeReader } from "../src/connectors/ndjson/internal/rangeReader.ts"
import type { RangeSetAside } from "../src/connectors/kit/internal/rangeProtocol.ts"
import { context, drain, openSource, sourceLetters, tempDir } from "../test/connectors/csv/support.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("ü", "名🙂", "\u2028", "a\"b\\c", "x".repeat(300)),
  fc.string({ unit: "grapheme", maxLength: 6 })
)

/** One line: a record, a blank line, or a malformed one; its line break. */
const line = fc.record({
  kind: fc.constantFrom("record", "record", "record", "blank", "malformed"),
  value: text,
  n: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  crlf: fc.boolean()
})

const shape = fc.record({
  lines: fc.array(line, { minLength: 0, maxLength: 80 }),
  bom: fc.boolean(),
  count: fc.integer({ min: 1, max: 12 }),
  batch: fc.integer({ min: 1, max: 9 }),
  chunk: fc.constantFrom(7, 64, 4096),
  resumeAfter: fc.nat(20)
})

type Shape = typeof shape extends fc.Arbitrary<infer A> ? A : never

const fileText = (s: Shape): string =>
  (s.bom ? "\uFEFF" : "") +
  s.lines.map((l, i) =>
    (l.kind === "blank" ? " \t" : l.kind === "malformed" ? `{"i":${i},"v":` : JSON.stringify({ i, v: l.value, n: l.n })) + (l.crlf ? "\r\n" : "\n")
  ).join("")

/** Reads range `index` of `count` with the thread's reader (in this thread), restarting at a position after `resumeAfter` batches. */
const readRange = (path: string, s: Shape, index: number) => {
  const init = {
    path,
    size: statSync(path).size,
    index,
    count: s.count,
    chunkSize: s.chunk,
    maxLineBytes: 1 << 20,
    invalidUtf8: "error" as const,
    maxDepth: 1000,
    bigIntegers: "error" as const,
    setAside: false,
    rejects: true
  }
  const records: Array<unknown> = []
  const setAside: Array<RangeSetAside> = []
  let reader = new NdjsonRangeReader(init)
  reader.start()
  for (let b = 0; ; b++) {
    const batch = reader.read(s.batch)
    records.push(...batch.records)
    setAside.push(...batch.setAside)
    if (batch.done) break
    if (b === s.resumeAfter) {
      // a restore: a fresh reader of the same range, sought to the position after this batch
      reader.close()
      reader = new NdjsonRangeReader(init)
      reader.start()
      reader.seek(batch.offset, batch.line)
    }
  }
  reader.close()
  return { records, setAside }
}

const check = (s: Shape) =>
  Effect.scoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, "in.ndjson")
    writeFileSync(path, fileText(s))
    const letters = join(dir, "letters.ndjson")
    const serial = yield* Effect.scoped(Effect.flatMap(
      openSource("ndjson", { path, on_error: "dead_letter", dead_letter: { path: letters } }, context),
      (r) => drain(r, s.batch)
    ))
    const records: Array<unknown> = []
    const setAside: Array<{ readonly line: number; readonly column: number | undefined; readonly error: string }> = []
    for (let index = 0; index < s.count; index++) {
      const range = readRange(path, s, index)
      records.push(...range.records)
      for (const e of range.setAside) setAside.push({ line: e.line, column: e.column, error: e.error })
    }
    assert.deepStrictEqual(records, serial.records)
    const expected = sourceLetters(letters).map((e) => ({ line: e.line, column: e.column, error: e.error }))
    assert.deepStrictEqual(setAside, expected)
  }))

const runs = numRuns(150)

describe("ndjson byte ranges", () => {
  it.effect("hold exactly the serial read, whatever the file, the split, the batches and a restore", () =>
    Effect.promise(() => fc.assert(fc.asyncProperty(shape, (s) => Effect.runPromise(check(s))), { numRuns: runs })), timeoutFor(runs, 200, 60_000))
})
