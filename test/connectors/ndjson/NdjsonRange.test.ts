/**
 * The byte ranges of an NDJSON file that instance `i` of `n > 1` reads (a parallel source's range
 * thread, a cluster part): the ranges partition the file's lines, each read once, whatever the
 * cuts (multi-byte characters, CRLF, blank lines, a line longer than a range), errors name the
 * line in the file, and a range resumed from a position inside it reads on to its own end only.
 * Many ranges (64, 700) are read with the thread's reader itself, without a thread each.
 */
import { statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { NdjsonRangeReader } from "../../../src/connectors/ndjson/internal/rangeReader.ts"
import { RecordError } from "../../../src/Errors.ts"
import { context, drain, failure, openSource, tempDir } from "../csv/support.ts"

/** The records of range `index` of `count`, read by a range thread's reader in this thread. */
const readerRange = (path: string, index: number, count: number): Array<unknown> => {
  const reader = new NdjsonRangeReader({
    path,
    size: statSync(path).size,
    index,
    count,
    chunkSize: 4096,
    maxLineBytes: 1 << 20,
    invalidUtf8: "error",
    maxDepth: 1000,
    bigIntegers: "error",
    setAside: false,
    rejects: false
  })
  try {
    reader.start()
    const out: Array<unknown> = []
    for (;;) {
      const batch = reader.read(7)
      out.push(...batch.records)
      if (batch.done) return out
    }
  } finally {
    reader.close()
  }
}

const readRange = (path: string, instance: number, parallelism: number, max = 7) =>
  Effect.scoped(Effect.flatMap(openSource("ndjson", { path }, { ...context, instance, parallelism }), (reader) => drain(reader, max)))

describe("ndjson byte ranges", () => {
  it.effect("partition the lines: every record once, in file order by range", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "in.ndjson")
      const lines: Array<string> = []
      for (let i = 0; i < 500; i++) {
        const pad = i % 37 === 0 ? "x".repeat(3000) : "ü名🙂".repeat(i % 5)
        lines.push(JSON.stringify({ i, pad }) + (i % 11 === 0 ? "\r\n" : "\n") + (i % 13 === 0 ? "\n  \n" : ""))
      }
      writeFileSync(path, lines.join(""))
      const all = Array.from({ length: 500 }, (_, i) => i)
      for (const n of [1, 2, 3, 7]) {
        const seen: Array<number> = []
        for (let part = 0; part < n; part++) {
          const { records } = yield* readRange(path, part, n)
          for (const r of records as Array<{ i: number }>) seen.push(r.i)
        }
        assert.deepStrictEqual(seen, all, `${n} ranges`)
      }
      for (const n of [64, 700]) {
        const seen: Array<number> = []
        for (let part = 0; part < n; part++) {
          for (const r of readerRange(path, part, n) as Array<{ i: number }>) seen.push(r.i)
        }
        assert.deepStrictEqual(seen, all, `${n} ranges (the thread's reader)`)
      }
    })))

  it.effect("a bad line in a later range fails naming its line in the file", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "bad.ndjson")
      const lines = Array.from({ length: 100 }, (_, i) => (i === 80 ? '{"i":80' : JSON.stringify({ i })))
      writeFileSync(path, `${lines.join("\n")}\n`)
      const error = yield* failure(readRange(path, 1, 2))
      assert.instanceOf(error, RecordError)
      if (error instanceof RecordError) assert.deepStrictEqual(error.location, { file: path, line: 81 })
    })))

  it.effect("a range resumed from its position reads the rest of its own lines only", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "seek.ndjson")
      writeFileSync(path, Array.from({ length: 300 }, (_, i) => `${JSON.stringify({ i })}\n`).join(""))
      const whole = (yield* readRange(path, 1, 3, 10)).records as Array<{ i: number }>
      const first = whole[0]!.i
      const resumed = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* openSource("ndjson", { path }, { ...context, instance: 1, parallelism: 3 })
        const head = yield* reader.readBatch(25)
        assert.isDefined(head)
        const at = yield* reader.position
        // a fresh open of the same range, restored at that position
        const again = yield* openSource("ndjson", { path }, { ...context, instance: 1, parallelism: 3 })
        yield* again.seek(at)
        return ((yield* drain(again, 10)).records as Array<{ i: number }>).map((r) => r.i)
      }))
      assert.deepStrictEqual(resumed, whole.slice(25).map((r) => r.i))
      assert.isAbove(first, 0)
      assert.isBelow(whole[whole.length - 1]!.i, 299)
    })))
})
