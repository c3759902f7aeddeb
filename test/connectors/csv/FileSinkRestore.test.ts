import { Buffer } from "node:buffer"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { journalPath } from "../../../src/internal/sinkFile.ts"
import { failure, openSink, prepare, tempDir } from "./support.ts"

const cases = [
  {
    type: "csv",
    file: "out.csv",
    config: {},
    content: (rows: ReadonlyArray<{ id: number; name: string }>) =>
      "id,name\n" + rows.map((r) => `${r.id},${r.name}\n`).join("")
  },
  {
    type: "ndjson",
    file: "out.ndjson",
    config: {},
    content: (rows: ReadonlyArray<{ id: number; name: string }>) => rows.map((r) => JSON.stringify(r) + "\n").join("")
  }
] as const

const a = [{ id: 1, name: "a" }, { id: 2, name: "b" }]
const b = [{ id: 3, name: "c" }]
const c = [{ id: 4, name: "d" }, { id: 5, name: "e" }]

describe("file sinks and checkpoints (exactly-once)", () => {
  for (const { type, file, config, content } of cases) {
    it.effect(`${type}: restore(id) truncates to the checkpoint; the replay then equals a run without failure`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const path = join(dir, file)
        // First attempt: a, checkpoint 1, b, checkpoint 2, c — then a crash before checkpoint 3.
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, { ...config, path })
          yield* w.restore!(undefined)
          yield* w.writeBatch(Batch.make(a))
          yield* w.preCommit!(1)
          yield* w.writeBatch(Batch.make(b))
          yield* w.preCommit!(2)
          yield* w.writeBatch(Batch.make(c))
          yield* w.flush
        }))
        assert.strictEqual(readFileSync(path, "utf8"), content([...a, ...b, ...c]))
        assert.isTrue(existsSync(journalPath(path)))
        // Restored from checkpoint 1: b and c are read again and written again.
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, { ...config, path })
          yield* w.restore!(1)
          assert.strictEqual(readFileSync(path, "utf8"), content(a))
          yield* w.writeBatch(Batch.make(b))
          yield* w.writeBatch(Batch.make(c))
          yield* w.preCommit!(3)
        }))
        assert.strictEqual(readFileSync(path, "utf8"), content([...a, ...b, ...c]))
        // A fresh run starts from an empty file and an empty journal.
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, { ...config, path })
          yield* w.restore!(undefined)
          assert.strictEqual(readFileSync(path, "utf8"), "")
          assert.isFalse(existsSync(journalPath(path)))
          yield* w.writeBatch(Batch.make(b))
          yield* w.flush
        }))
        assert.strictEqual(readFileSync(path, "utf8"), content(b))
      })))

    it.effect(`${type}: without restore, a writer starts afresh at its first write (old content is replaced)`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const path = join(dir, file)
        writeFileSync(path, "old content that is much longer than the new one\n")
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, { ...config, path })
          // opening alone changes nothing
          assert.strictEqual(readFileSync(path, "utf8"), "old content that is much longer than the new one\n")
          yield* w.writeBatch(Batch.make(a))
          yield* w.flush
        }))
        assert.strictEqual(readFileSync(path, "utf8"), content(a))
      })))

    it.effect(`${type}: restoring a checkpoint the journal does not have fails clearly`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const path = join(dir, file)
        const w = yield* openSink(type, { ...config, path })
        const error = yield* failure(w.restore!(7))
        assert.include(error.message, `checkpoint 7 is not in ${journalPath(path)}`)
        assert.include(error.message, "--from-scratch")
      })))

    it(`${type}: declares one instance and the file it writes (validate refuses more, and a second writer)`, () => {
      const sink = prepare("sink", type, { path: file })
      assert.strictEqual(sink._tag, "PreparedSink")
      if (sink._tag !== "PreparedSink") return
      assert.strictEqual(sink.capabilities.maxParallelism, 1)
      assert.deepStrictEqual(sink.resources, { writes: [{ kind: "file", name: file, key: ["path"] }] })
    })
  }

  for (const { type, file, config, content } of cases) {
    it.effect(`${type}: its dead-letter file (on_error: dead_letter, dead_letter: { path }) is restored with the output: each letter once`, () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        const path = join(dir, file)
        const letters = join(dir, "rejected.ndjson")
        const withLetters = { ...config, path, on_error: "dead_letter", dead_letter: { path: letters } }
        const loop = (id: number) => {
          const r: { id: number; name: unknown } = { id, name: undefined }
          r.name = r
          return r
        }
        const ids = () => readFileSync(letters, "utf8").split("\n").filter((l) => l.length > 0).map((l) => (JSON.parse(l) as { record: { id: number } }).record.id)
        // a (+ bad 10), checkpoint 1, b (+ bad 11), then a crash before checkpoint 2
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, withLetters)
          yield* w.restore!(undefined)
          assert.deepStrictEqual(yield* w.writeBatch(Batch.make([...a, loop(10)])), { written: a.length, bytes: Buffer.byteLength(content(a)) })
          yield* w.preCommit!(1)
          yield* w.writeBatch(Batch.make([loop(11), ...b]))
          yield* w.flush
        }))
        assert.deepStrictEqual(ids(), [10, 11])
        assert.isTrue(existsSync(journalPath(letters)))
        // restored from checkpoint 1: the letter of b is taken back with b, and written again once
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, withLetters)
          yield* w.restore!(1)
          assert.deepStrictEqual(ids(), [10])
          yield* w.writeBatch(Batch.make([loop(11), ...b]))
          yield* w.preCommit!(2)
        }))
        assert.deepStrictEqual(ids(), [10, 11])
        assert.strictEqual(readFileSync(path, "utf8"), content([...a, ...b]))
        const letter = JSON.parse(readFileSync(letters, "utf8").split("\n")[0]) as Record<string, unknown>
        assert.strictEqual(letter.node, "test")
        assert.strictEqual(letter.file, path)
        assert.deepStrictEqual(letter.record, { id: 10, name: "[Circular]" })
        // a new run starts both files afresh
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, withLetters)
          yield* w.restore!(undefined)
          yield* w.writeBatch(Batch.make(c))
          yield* w.flush
        }))
        assert.strictEqual(readFileSync(letters, "utf8"), "")
        // and the file never grows past dead_letter.max_bytes: the write fails, naming the file
        const small = yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* openSink(type, { ...withLetters, dead_letter: { path: letters, max_bytes: 10 } })
          yield* w.restore!(undefined)
          return yield* failure(w.writeBatch(Batch.make([loop(12)])))
        }))
        assert.include(small.message, `the dead-letter file ${letters} would grow past dead_letter.max_bytes (10 bytes; it holds 0)`)
      })))
  }

  it.effect("csv: the columns taken from the first record survive a restore (no second header)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "cols.csv")
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* openSink("csv", { path })
        yield* w.restore!(undefined)
        yield* w.writeBatch(Batch.make([{ x: 1, y: 2 }]))
        yield* w.preCommit!(1)
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* openSink("csv", { path })
        yield* w.restore!(1)
        yield* w.writeBatch(Batch.make([{ y: 4, x: 3 }]))
        yield* w.flush
      }))
      assert.strictEqual(readFileSync(path, "utf8"), "x,y\n1,2\n3,4\n")
    })))
})
