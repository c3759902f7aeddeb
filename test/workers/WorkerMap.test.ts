import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { readdirSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { dirname, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { threadId } from "node:worker_threads"
import * as Batch from "../../src/Batch.ts"
import { WorkerMapError } from "../../src/workers/WorkerMapError.ts"
import * as WorkerMap from "../../src/workers/WorkerMap.ts"

const fixture = fileURLToPath(new URL("./fixtures/transforms.ts", import.meta.url))

const resolved = (
  exportName: string,
  extra?: { readonly mode?: "record" | "batch"; readonly workers?: number; readonly max_heap_mb?: number }
): WorkerMap.ResolvedConfig => {
  const r = WorkerMap.resolveConfig({ module: fixture, export: exportName, ...extra })
  assert.strictEqual(r._tag, "ResolvedConfig")
  return r as WorkerMap.ResolvedConfig
}

const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: from + i, value: (from + i) * 3 }))

/** The failure of an effect that must fail with a WorkerMapError. */
const failureOf = <A, R>(effect: Effect.Effect<A, WorkerMapError, R>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    assert.isTrue(Exit.isFailure(exit))
    const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
    assert.isDefined(reason)
    const error = reason !== undefined && reason._tag === "Fail" ? reason.error : undefined
    assert.instanceOf(error, WorkerMapError)
    return error as WorkerMapError
  })

/** OS threads of this process (Linux): a worker thread is one more. */
const osThreads = () => readdirSync("/proc/self/task").length

describe("worker_map", () => {
  it.effect("maps every record on a worker thread, keeping the order of the batch", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerMap.make(resolved("double"))
      const input = rows(1_000)
      const out = (yield* pool.process(Batch.slice(Batch.make([{ id: -1, value: 0 }, ...input]), 1))) as ReadonlyArray<
        { id: number; value: number; thread: number }
      >
      assert.deepStrictEqual(out.map((r) => r.id), input.map((r) => r.id))
      assert.deepStrictEqual(out.map((r) => r.value), input.map((r) => r.value * 2))
      assert.notStrictEqual(out[0].thread, threadId)
      assert.deepStrictEqual(yield* pool.process(Batch.empty()), [])
      assert.strictEqual(pool.started(), 1)
    })))

  it.effect("drops records for which the function returns null or undefined", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerMap.make(resolved("keepEven"))
      const out = (yield* pool.process(Batch.make(rows(20)))) as ReadonlyArray<{ id: number }>
      assert.deepStrictEqual(out.map((r) => r.id), [2, 4, 6, 8, 12, 14, 16, 18])
    })))

  it.effect("batch mode calls the export once per batch, also when it is async", () =>
    Effect.scoped(Effect.gen(function*() {
      const sync = yield* WorkerMap.make(resolved("summarize", { mode: "batch" }))
      const later = yield* WorkerMap.make(resolved("summarizeLater", { mode: "batch" }))
      const input = Batch.make(rows(10))
      const expected = { count: 10, sum: 135 }
      const a = (yield* sync.process(input)) as ReadonlyArray<{ count: number; sum: number }>
      const b = (yield* later.process(input)) as ReadonlyArray<{ count: number; sum: number }>
      assert.deepStrictEqual(a.map(({ count, sum }) => ({ count, sum })), [expected])
      assert.deepStrictEqual(b.map(({ count, sum }) => ({ count, sum })), [expected])
    })))

  it.effect("an exception thrown by the function fails the batch, naming module, export, record and message", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerMap.make(resolved("explode"))
      const error = yield* failureOf(pool.process(Batch.make(rows(10))))
      assert.strictEqual(error.reason, "user")
      assert.strictEqual(error.index, 3)
      assert.deepStrictEqual(error.record, { id: 3, value: 9 })
      assert.include(error.message, `worker_map ${fixture}#explode`)
      assert.include(error.message, "record 3 of the batch: value 9 is not allowed")
      assert.include(error.stack ?? "", "transforms.ts")
      // The thread survives a user error and serves the next batch.
      const out = yield* pool.process(Batch.make(rows(2, 10)))
      assert.strictEqual(out.length, 2)
      assert.strictEqual(pool.started(), 1)
    })))

  it.effect("a missing export, a non-function export or a batch function returning no array fails with a clear message", () =>
    Effect.scoped(Effect.gen(function*() {
      const missing = yield* failureOf(Effect.flatMap(WorkerMap.make(resolved("trnsform")), (p) => p.process(Batch.make(rows(1)))))
      assert.strictEqual(missing.reason, "load")
      assert.include(missing.message, "#trnsform: cannot load: the module has no export 'trnsform'")
      assert.include(missing.message, "double")
      const notFn = yield* failureOf(Effect.flatMap(WorkerMap.make(resolved("answer")), (p) => p.process(Batch.make(rows(1)))))
      assert.include(notFn.message, "export 'answer' is a number, not a function")
      const notArray = yield* failureOf(
        Effect.flatMap(WorkerMap.make(resolved("notAnArray", { mode: "batch" })), (p) => p.process(Batch.make(rows(3))))
      )
      assert.strictEqual(notArray.reason, "user")
      assert.include(notArray.message, "the batch function returned number, not an array")
    })))

  it.effect("values structured clone refuses fail the batch as clone errors, both ways", () =>
    Effect.scoped(Effect.gen(function*() {
      const back = yield* failureOf(Effect.flatMap(WorkerMap.make(resolved("returnsFunction")), (p) => p.process(Batch.make(rows(2)))))
      assert.strictEqual(back.reason, "clone")
      assert.include(back.message, "cannot be sent back to the main thread")
      // The first batch of a thread (sent while it starts) and a later one fail the same way.
      const cold = yield* WorkerMap.make(resolved("double"))
      const first = yield* failureOf(cold.process(Batch.make([{ id: 1, value: 1, f: () => 1 }])))
      assert.strictEqual(first.reason, "clone")
      assert.include(first.message, "the batch cannot be sent to the worker")
      const warm = yield* WorkerMap.make(resolved("double"))
      assert.strictEqual((yield* warm.process(Batch.make(rows(1)))).length, 1)
      const later = yield* failureOf(warm.process(Batch.make([{ id: 1, value: 1, f: () => 1 }])))
      assert.strictEqual(later.reason, "clone")
      assert.include(later.message, "the batch cannot be sent to the worker")
      assert.include(later.message, "could not be cloned")
      assert.strictEqual((yield* warm.process(Batch.make(rows(1)))).length, 1)
      assert.strictEqual(warm.started(), 1)
    })))

  it.effect("a worker that exits fails the batch (no hang) and leaves the pool", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerMap.make(resolved("quit"))
      const error = yield* failureOf(pool.process(Batch.make(rows(3))))
      assert.strictEqual(error.reason, "crash")
      assert.include(error.message, "worker crashed")
      assert.include(error.message, "code: 7")
      assert.strictEqual(pool.threads(), 0)
    })))

  it.effect("a worker that runs out of memory (max_heap_mb) fails the batch as a crash", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerMap.make(resolved("hog", { max_heap_mb: 32 }))
      const error = yield* failureOf(pool.process(Batch.make(rows(1))))
      assert.strictEqual(error.reason, "crash")
      assert.include(error.message, "ERR_WORKER_OUT_OF_MEMORY")
      assert.strictEqual(pool.threads(), 0)
    })))

  it.effect("two workers run two batches at the same time; one worker runs them one after the other", () =>
    Effect.gen(function*() {
      type Span = { thread: number; start: number; end: number }
      const twoBatches = (workers: number) =>
        Effect.scoped(Effect.gen(function*() {
          const pool = yield* WorkerMap.make(resolved("block", { mode: "batch", workers }))
          const batch = Batch.make([{ id: 0, value: 400 }])
          const [a, b] = yield* Effect.all([pool.process(batch), pool.process(batch)], { concurrency: 2 })
          return [(a as ReadonlyArray<Span>)[0], (b as ReadonlyArray<Span>)[0], pool.started()] as const
        }))
      const [a2, b2, started2] = yield* twoBatches(2)
      assert.strictEqual(started2, 2)
      assert.notStrictEqual(a2.thread, b2.thread)
      assert.isTrue(a2.start < b2.end && b2.start < a2.end, "the two batches overlap in time")
      const [a1, b1, started1] = yield* twoBatches(1)
      assert.strictEqual(started1, 1)
      assert.strictEqual(a1.thread, b1.thread)
      assert.isTrue(a1.end <= b1.start || b1.end <= a1.start, "the two batches do not overlap")
    }))

  it.effect("closing the scope terminates every thread, also while a batch is running", () =>
    Effect.gen(function*() {
      yield* Effect.promise(() => readFile(fixture)) // start libuv's thread pool before counting
      const before = osThreads()
      let pool: WorkerMap.WorkerMap | undefined
      yield* Effect.scoped(Effect.gen(function*() {
        pool = yield* WorkerMap.make(resolved("double", { workers: 2 }))
        yield* Effect.all([pool.process(Batch.make(rows(5))), pool.process(Batch.make(rows(5)))], { concurrency: 2 })
        assert.strictEqual(pool.threads(), 2)
        assert.isAtLeast(osThreads(), before + 2)
      }))
      assert.strictEqual(pool!.threads(), 0)
      // A batch blocked for 20 s is interrupted: the scope closes at once and the thread is gone.
      const started = performance.now()
      const fiber = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        pool = yield* WorkerMap.make(resolved("block", { mode: "batch" }))
        yield* pool.process(Batch.make([{ id: 0, value: 20_000 }]))
      })))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 500)))
      assert.strictEqual(pool!.threads(), 1)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(pool!.threads(), 0)
      assert.isBelow(performance.now() - started, 5_000)
      for (let i = 0; i < 50 && osThreads() > before; i++) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
      }
      assert.isAtMost(osThreads(), before)
    }))

  it.effect("the definition's processor: acquire opens a pool in a scope; process works with or without a scope", () =>
    Effect.gen(function*() {
      yield* Effect.promise(() => readFile(fixture)) // start libuv's thread pool before counting
      const before = osThreads()
      const made = WorkerMap.definition.make({ module: fixture, export: "double", workers: 2 }, { node: "heavy" })
      assert.strictEqual(made._tag, "Batch")
      const processor = made as WorkerMap.WorkerMapProcessor
      const input = Batch.make(rows(5))
      const expected = rows(5).map((r) => r.value * 2)
      const values = (out: ReadonlyArray<unknown>) => (out as ReadonlyArray<{ value: number }>).map((r) => r.value)
      yield* Effect.scoped(Effect.gen(function*() {
        const process = yield* processor.acquire
        assert.deepStrictEqual(values(yield* process(input)), expected)
        assert.isAtLeast(osThreads(), before + 1)
      }))
      // Inside a scope: the pool lives until that scope closes, shared by every call in it.
      yield* Effect.scoped(Effect.gen(function*() {
        assert.deepStrictEqual(values(yield* processor.process(input)), expected)
        assert.deepStrictEqual(values(yield* processor.process(input)), expected)
        assert.strictEqual(osThreads(), before + 1)
      }))
      // Without any scope (it.effect provides one, so run it on its own): a pool for that one batch.
      assert.deepStrictEqual(values(yield* Effect.promise(() => Effect.runPromise(processor.process(input)))), expected)
      for (let i = 0; i < 50 && osThreads() > before; i++) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
      }
      assert.isAtMost(osThreads(), before)
    }))

  it("resolves relative module paths against the working directory, and rejects what is not a path", () => {
    const here = dirname(fixture)
    const r = WorkerMap.resolveConfig({ module: "./transforms.ts", export: "double" }, { cwd: here })
    assert.strictEqual(r._tag, "ResolvedConfig")
    if (r._tag === "ResolvedConfig") {
      assert.strictEqual(r.path, fixture)
      assert.strictEqual(r.mode, "record")
    }
    const fromCwd = WorkerMap.resolveConfig({ module: `./${relative(process.cwd(), fixture)}` })
    assert.strictEqual(fromCwd._tag === "ResolvedConfig" ? fromCwd.path : undefined, fixture)
    const dflt = WorkerMap.resolveConfig({ module: fixture })
    assert.strictEqual(dflt._tag === "ResolvedConfig" ? dflt.export : undefined, "default")
    const bare = WorkerMap.resolveConfig({ module: "heavy-transforms" })
    assert.strictEqual(bare._tag, "ProcessorConfigIssue")
    if (bare._tag === "ProcessorConfigIssue") {
      assert.deepStrictEqual(bare.path, ["module"])
      assert.include(bare.message, "package names are not resolved")
    }
    const missing = WorkerMap.resolveConfig({ module: "./nope.ts" }, { cwd: here })
    assert.strictEqual(missing._tag, "ProcessorConfigIssue")
    if (missing._tag === "ProcessorConfigIssue") assert.include(missing.message, `no such file: ${here}/nope.ts`)
  })
})
