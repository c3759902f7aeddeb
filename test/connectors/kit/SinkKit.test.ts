/**
 * The sink kit around a destination that behaves as real ones do: transient failures that pass,
 * batches refused whole for one bad record (a transaction), and bulk answers naming the records
 * refused. Good records are written exactly once, bad ones isolated and set aside (or the run
 * fails naming them), and the dead-letter envelope is the shared one.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { Batch, DeadLetter, Errors, Retry, SinkKit } from "../../../src/index.ts"

type Row = { readonly id: number; readonly bad?: boolean }

const rows = (n: number, bad: ReadonlyArray<number>): Array<Row> =>
  Array.from({ length: n }, (_, i) => (bad.includes(i + 1) ? { id: i + 1, bad: true } : { id: i + 1 }))

/** A destination writing a batch all or nothing: one bad record refuses the whole call. */
const transactional = () => {
  const stored: Array<Row> = []
  let calls = 0
  const write = (records: ReadonlyArray<Row>) =>
    Effect.suspend(() => {
      calls++
      const bad = records.find((r) => r.bad === true)
      if (bad !== undefined) return Effect.fail(new Errors.RecordError({ detail: `id ${bad.id} violates check "positive"` }))
      stored.push(...records)
      return Effect.succeed(records.length)
    })
  return { stored, write, calls: () => calls }
}

const context = (letters: Array<number>) => ({ node: "out", batchSize: 100, instance: 0, parallelism: 1, onDeadLetters: (n: number) => letters.push(n) })

const withDir = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "sinkkit-"))),
    f,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("SinkKit", () => {
  it.live("transient failures are retried with backoff; recover runs between attempts; the batch is written once", () =>
    Effect.gen(function*() {
      const stored: Array<Row> = []
      let failures = 2
      let recovered = 0
      const writer = SinkKit.make({
        connector: "test",
        context: context([]),
        config: { retry: { attempts: 3, delay: "1ms" } },
        writeBatch: (records: ReadonlyArray<Row>) =>
          Effect.suspend(() => {
            if (failures-- > 0) return Effect.fail(new Retry.Retryable({ message: "connection reset" }))
            stored.push(...records)
            return Effect.void
          }),
        recover: () => Effect.sync(() => void recovered++)
      })
      const stats = yield* writer.writeBatch(Batch.make(rows(5, [])))
      assert.strictEqual(stats.written, 5)
      assert.deepStrictEqual(stored.map((r) => r.id), [1, 2, 3, 4, 5])
      assert.strictEqual(recovered, 2)
    }))

  it.live("retries used up: a ConnectorError saying so; an error classified fail is not retried", () =>
    Effect.gen(function*() {
      let calls = 0
      const writer = SinkKit.make({
        connector: "test",
        context: context([]),
        config: { retry: { attempts: 2, delay: "1ms" } },
        writeBatch: () =>
          Effect.suspend(() => {
            calls++
            return Effect.fail(new Retry.Retryable({ message: "broker busy" }))
          })
      })
      const exit = yield* Effect.exit(writer.writeBatch(Batch.make(rows(3, []))))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(calls, 3)
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.match(String(error !== undefined && "error" in error ? (error.error as Error).message : ""), /test write: gave up after 2 retries: broker busy/)

      let fatal = 0
      const failing = SinkKit.make({
        connector: "test",
        context: context([]),
        config: {},
        writeBatch: () =>
          Effect.suspend(() => {
            fatal++
            return Effect.fail(new Error("permission denied"))
          }),
        classify: () => "fail" as const
      })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(failing.writeBatch(Batch.make(rows(3, []))))))
      assert.strictEqual(fatal, 1)
    }))

  it.live("a refused batch is bisected: bad records go to the dead letters with the shared envelope, good ones are written once", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const dest = transactional()
        const counted: Array<number> = []
        const path = join(dir, "dead.ndjson")
        const writer = SinkKit.make({
          connector: "test",
          context: context(counted),
          config: { on_error: "dead_letter", dead_letter: { path } },
          writeBatch: dest.write,
          deadLetterContext: { table: "orders" },
          fieldsOf: () => ({ code: "23514" })
        })
        const stats = yield* writer.writeBatch(Batch.make(rows(100, [7, 8, 61])))
        assert.strictEqual(stats.written, 97)
        const ids = dest.stored.map((r) => r.id)
        assert.strictEqual(new Set(ids).size, ids.length, "no record written twice")
        assert.deepStrictEqual(ids.sort((a, b) => a - b), rows(100, []).map((r) => r.id).filter((id) => ![7, 8, 61].includes(id)))
        const letters = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
        assert.deepStrictEqual(letters.map((l) => Object.keys(l)), Array(3).fill(["table", "node", "at", "code", "error", "record"]))
        assert.deepStrictEqual(letters.map((l) => l.record), [{ id: 7, bad: true }, { id: 8, bad: true }, { id: 61, bad: true }])
        assert.strictEqual(letters[0].error, 'id 7 violates check "positive"')
        assert.deepStrictEqual(counted, [3])
        // far fewer calls than one per record
        assert.isBelow(dest.calls(), 40)
      })
    ))

  it.live("on_error: fail — the run fails with a RecordError naming the first bad record", () =>
    Effect.gen(function*() {
      const dest = transactional()
      const writer = SinkKit.make({ connector: "test", context: context([]), config: {}, writeBatch: dest.write })
      const exit = yield* Effect.exit(writer.writeBatch(Batch.make(rows(10, [4, 9]))))
      assert.isTrue(Exit.isFailure(exit))
      const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      const error = reason !== undefined && "error" in reason ? reason.error : undefined
      assert.instanceOf(error, Errors.RecordError)
      assert.deepStrictEqual((error as Errors.RecordError).record, { id: 4, bad: true })
      assert.include((error as Errors.RecordError).message, "id 4 violates")
    }))

  it.live("a bulk answer naming refused records: those are set aside, nothing is written again", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const path = join(dir, "dead.ndjson")
        let calls = 0
        const writer = SinkKit.make({
          connector: "bulk",
          context: context([]),
          config: { on_error: "dead_letter", dead_letter: { path } },
          writeBatch: (records: ReadonlyArray<Row>) =>
            Effect.suspend(() => {
              calls++
              const rejected = records.flatMap((r, index) => (r.bad === true ? [{ index, reason: "mapper_parsing_exception" }] : []))
              return rejected.length > 0 ? Effect.fail(new SinkKit.RecordsRejected({ written: records.length - rejected.length, rejected })) : Effect.void
            })
        })
        const stats = yield* writer.writeBatch(Batch.make(rows(20, [3, 17])))
        assert.strictEqual(stats.written, 18)
        assert.strictEqual(calls, 1)
        const letters = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: Row; error: string })
        assert.deepStrictEqual(letters.map((l) => [l.record.id, l.error]), [[3, "mapper_parsing_exception"], [17, "mapper_parsing_exception"]])
      })
    ))

  it.live("the dead-letter file stops at max_bytes: the write fails naming the file and the limit", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const path = join(dir, "dead.ndjson")
        const dest = transactional()
        const writer = SinkKit.make({
          connector: "test",
          context: context([]),
          config: { on_error: "dead_letter", dead_letter: { path, max_bytes: 150 } },
          writeBatch: dest.write
        })
        yield* writer.writeBatch(Batch.make(rows(3, [2])))
        const exit = yield* Effect.exit(writer.writeBatch(Batch.make(rows(3, [1, 2, 3]))))
        assert.isTrue(Exit.isFailure(exit))
        const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        const error = reason !== undefined && "error" in reason ? reason.error : undefined
        assert.instanceOf(error, Errors.RecordError)
        assert.include((error as Errors.RecordError).message, `the dead-letter file ${path} would grow past dead_letter.max_bytes (150 bytes`)
        assert.strictEqual(readFileSync(path, "utf8").trim().split("\n").length, 1, "nothing more appended")
      })
    ))

  it("the shared config pieces: on_error: dead_letter without a path is refused", () => {
    const Config = Schema.Struct({ url: Schema.String, ...Retry.RetryFields, ...DeadLetter.ErrorHandlingFields }).check(
      Schema.makeFilter(DeadLetter.checkErrorHandling)
    )
    const decode = Schema.decodeUnknownExit(Config)
    assert.isTrue(Exit.isSuccess(decode({ url: "x", on_error: "dead_letter", dead_letter: { path: "d.ndjson" }, retry: { attempts: 2, delay: "10ms" } })))
    const refused = decode({ url: "x", on_error: "dead_letter" })
    assert.isTrue(Exit.isFailure(refused))
    assert.include(String(refused), "on_error: dead_letter needs dead_letter: { path }")
    assert.isTrue(Exit.isFailure(decode({ url: "x", retry: { delay: "soon" } })))
  })

  it("bisect writes each good record once, in order", async () => {
    const written: Array<number> = []
    const items = Array.from({ length: 33 }, (_, i) => i)
    const bad = new Set([0, 16, 32])
    const result = await Effect.runPromise(
      SinkKit.bisect({
        size: items.length,
        attempt: (from, to) =>
          items.slice(from, to).some((i) => bad.has(i))
            ? Effect.fail("rejected" as const)
            : Effect.sync(() => {
              written.push(...items.slice(from, to))
              return to - from
            }),
        isRejection: () => true
      })
    )
    assert.deepStrictEqual(result.rejected.map((r) => r.index), [0, 16, 32])
    assert.deepStrictEqual(written, items.filter((i) => !bad.has(i)))
    assert.strictEqual(result.written, 30)
  })
})
