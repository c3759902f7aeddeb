/**
 * The conformance suite every seekable source passes — the built-in ones and yours.
 *
 * `SourceSuite.cases(makeSource)` returns the checks, free of any test framework
 * ({@link SuiteCase}); `sourceSuite` of `dataflare/vitest` registers them as vitest tests. They
 * check what the runtime relies on when it checkpoints and restores a source: the records do not
 * depend on the batch size; every batch carries the reader's position after it; a new reader that
 * seeks to a position taken after any batch continues exactly there (what was read before plus
 * what is read after equals a full read); the end stays the end.
 *
 * **Unbounded sources** (brokers, CDC: a read never ends, `readBatch` returns empty batches while
 * nothing arrives): pass `unbounded` (see {@link Unbounded}). A full read is then the `records`
 * records the input holds (read until that many arrived, or nothing arrived for `idleMs`), and
 * "the end stays the end" means: after them, reads return no record, and a new reader seeking to
 * the position then (which may have moved over input that yields no record) reads none either.
 * With `batchMarks`, batches may carry a cheaper mark of the reader's position (the cases take
 * the reader's `position` after each batch). With `acknowledges`, a further case checks that `commit`
 * acknowledges upstream: a reader opened without `seek` after a commit goes on right after the
 * committed position (a restart from the broker's own state). With `upstream` (and `acknowledged`
 * of the source under test), a further case checks on the server that a reader acknowledges only
 * what a commit covers, never before (see {@link Upstream}).
 *
 * **Backpressure** (every source): a pipeline slower than the source — it reads one record, stalls,
 * then reads small batches, committing after each, with more stalls — gets every record once, in
 * order (nothing lost after it resumes). A reader reporting its read-ahead
 * ({@link SourceReader.readAhead}: a push client's buffer) must never have held more records
 * than its bound, and its input must outnumber that bound (else the case shows nothing: give the
 * source under test a smaller buffer or more records; option `backpressure` gives the case a source
 * of its own for that). A reader that fetches only inside
 * `readBatch` (a file, a key-range query) has nothing ahead to measure.
 *
 * **Bad config** (`misconfigured`): a reader over a config that cannot work (a missing queue or
 * stream, an unreachable server) fails — when it opens or when it reads — with a tagged error,
 * instead of waiting forever.
 *
 * `makeSource` runs once per case in the case's scope (create files, queues, streams there); its
 * `open` must open a new reader over the same input each time.
 *
 * @example
 * ```ts
 * import { test } from "node:test"
 * import { Effect } from "effect"
 * import { SourceSuite, SuiteCase } from "dataflare/testing"
 * import { openMySource } from "./MySource.js"
 *
 * for (const c of SourceSuite.cases(Effect.succeed({ open: openMySource() }))) {
 *   test(c.name, () => SuiteCase.runPromise(c))
 * }
 * ```
 * @since 0.1.0
 */
import { Cause, Clock, Effect, type Scope } from "effect"
import assert from "node:assert/strict"
import * as Batch from "../Batch.ts"
import type { Position } from "../Batch.ts"
import type { SourceReader } from "../Connector.ts"
import type { SuiteCase } from "./SuiteCase.ts"

/**
 * A source under test: how to open a new reader over the same input, and optionally the records
 * a full read must return.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceUnderTest<E = unknown> {
  readonly open: Effect.Effect<SourceReader<unknown>, E, Scope.Scope>
  readonly expected?: ReadonlyArray<unknown>
  /**
   * What the server holds as acknowledged by the source now (a replication slot's confirmed LSN,
   * a consumer group's committed offset), for option `upstream` (see {@link Upstream}).
   */
  readonly acknowledged?: Effect.Effect<unknown, unknown>
}

/**
 * How the server shows what an unbounded source acknowledged (option `upstream` of {@link cases},
 * with `acknowledged` of the {@link SourceUnderTest}): the case "acknowledges upstream only what a
 * commit covers" reads the input without committing and checks that the server shows nothing of
 * it acknowledged, commits the position after a batch in the middle and checks that the server
 * shows that position acknowledged and not the next one, then opens a new reader without `seek`:
 * it goes on right after the committed position (nothing acknowledged is delivered again, nothing
 * after it is lost).
 *
 * @category models
 * @since 0.4.0
 */
export interface Upstream {
  /** True when `acknowledged` (what the server showed) covers the records before `position`. */
  readonly covers: (acknowledged: unknown, position: Position) => boolean
  /**
   * The positions a commit acknowledges at (default: every position after a batch); e.g. CDC:
   * a transaction's end, not a position inside a transaction larger than a batch.
   */
  readonly at?: (position: Position) => boolean
  /**
   * How long the case lets the source run (answering the server's keepalives) before it checks
   * that nothing more was acknowledged, and waits at most five times this for an acknowledgement
   * to show (default 2000 ms).
   */
  readonly settleMs?: number
}

/**
 * How an unbounded source is read by the suite (option `unbounded` of {@link cases}).
 *
 * @category models
 * @since 0.4.0
 */
export interface Unbounded {
  /** How many records the input holds: a full read stops after this many (default: `expected.length`). */
  readonly records?: number
  /** How long a read waits without a record before it takes the input as exhausted (default 3000 ms). */
  readonly idleMs?: number
  /**
   * `commit` acknowledges upstream (a broker's consumer group, queue or session): a reader
   * opened without `seek` after a commit goes on right after the committed position.
   */
  readonly acknowledges?: boolean
  /**
   * Batches carry a mark of the reader's position rather than the position itself (a broker
   * source whose whole position is costly: the `rabbitmq` and `mqtt` sources); default: the
   * position, as for a bounded source.
   */
  readonly batchMarks?: boolean
}

/**
 * Options of {@link cases}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Batch sizes to read with (default `[1, 7, 1000]`). */
  readonly batchSizes?: ReadonlyArray<number>
  /** At most this many positions are tried as seek targets (default 25, spread evenly). */
  readonly seekTargets?: number
  /** The source does not end: how to read it (see {@link Unbounded}). */
  readonly unbounded?: Unbounded
  /**
   * The server shows what the source acknowledged (`acknowledged` of the source under test): a
   * further case checks it acknowledges only what a commit covers (see {@link Upstream}).
   */
  readonly upstream?: Upstream
  /**
   * A reader over a config that cannot work (a missing queue, an unreachable server): it must
   * fail, when it opens or reads, with a tagged error.
   */
  readonly misconfigured?: Effect.Effect<SourceReader<unknown>, unknown, Scope.Scope>
  /**
   * The source the backpressure case reads (default: `makeSource`): the same source configured
   * with a read-ahead bound below its input's size, when the source under test of the other cases
   * needs a larger one (a broker window that must hold the whole input while nothing is committed).
   */
  readonly backpressure?: {
    readonly source: Effect.Effect<SourceUnderTest<unknown>, unknown, Scope.Scope>
    /** Unbounded: how many records its input holds (default: its `expected.length`). */
    readonly records?: number
  }
  /**
   * Why the backpressure case's input cannot outnumber the reader's read-ahead bound (a known
   * limit of the server the source is tested against): the case then still checks that a slow
   * pipeline loses nothing and that the bound is kept, but not that the input exceeds it.
   */
  readonly boundNotReached?: string
  /**
   * How long the backpressure case's slow pipeline stalls, each time, letting the source run ahead
   * (default 500 ms; it stalls three times).
   */
  readonly stallMs?: number
  /** The timeout of each case in milliseconds (default: the test runner's). */
  readonly timeout?: number
}

interface Cut {
  readonly count: number
  readonly position: Position
}

/** How a read stops: at the end (`undefined`), or after `want` records, or `idleMs` without one. */
interface Reading {
  readonly want?: number | undefined
  readonly idleMs: number
  /** Batches carry the reader's position (else a mark of it: the reader's is taken). */
  readonly strictOrigin: boolean
  /** The input ends (`undefined`), or a read stops at `want` records or after `idleMs` without one. */
  readonly unbounded: boolean
}

const readAll = (reader: SourceReader<unknown>, max: number, how: Reading) =>
  Effect.gen(function*() {
    const records: Array<unknown> = []
    const cuts: Array<Cut> = []
    let lastRecordAt = yield* Clock.currentTimeMillis
    for (;;) {
      if (how.want !== undefined && records.length >= how.want) break
      const batch = yield* reader.readBatch(how.want === undefined ? max : Math.min(max, how.want - records.length))
      if (batch === undefined) break
      assert.ok(Batch.size(batch) <= max, `a batch holds at most \`max\` records: ${Batch.size(batch)} > ${max}`)
      const position = yield* reader.position
      if (how.strictOrigin) assert.deepStrictEqual(batch.origin?.position, position, "a batch carries the position after it")
      else assert.ok(batch.origin !== undefined, "a batch carries a position")
      const now = yield* Clock.currentTimeMillis
      if (Batch.size(batch) === 0) {
        if (how.unbounded && now - lastRecordAt >= how.idleMs) break
        if (!how.unbounded) cuts.push({ count: records.length, position })
        continue
      }
      lastRecordAt = now
      for (const r of Batch.toArray(batch)) records.push(r)
      cuts.push({ count: records.length, position })
    }
    return { records, cuts } as const
  })

/**
 * Reads like a pipeline slower than the source: one record, a stall, then batches of 1, 2, 4, ...
 * up to 64 records, committing after each and stalling again at a third and two thirds of
 * `count`, to the end of a bounded input or `count` records of an unbounded one; a reader reporting its read-ahead is checked against its bound after every batch.
 */
const slowRead = (reader: SourceReader<unknown>, count: number, stall: Effect.Effect<void>, how: Reading) =>
  Effect.gen(function*() {
    const records: Array<unknown> = []
    const stallsAt = new Set([1, Math.max(2, Math.floor(count / 3)), Math.max(3, Math.floor((2 * count) / 3))])
    let size = 1
    let lastRecordAt = yield* Clock.currentTimeMillis
    // a bounded input is read to its end (`undefined`), an unbounded one to its `count` records
    while (!how.unbounded || records.length < count) {
      const batch = yield* reader.readBatch(how.unbounded ? Math.min(size, count - records.length) : size)
      if (batch === undefined) break
      const now = yield* Clock.currentTimeMillis
      if (Batch.size(batch) === 0) {
        if (how.unbounded && now - lastRecordAt >= how.idleMs) break
        continue
      }
      const before = records.length
      for (const r of Batch.toArray(batch)) records.push(r)
      yield* reader.commit(yield* reader.position)
      size = Math.min(64, size * 2)
      if (reader.readAhead !== undefined) {
        const { held, peak, bound } = reader.readAhead()
        assert.ok(held <= bound && peak <= bound, `after ${records.length} records the reader holds ${held} (at most ${peak}) ahead, over its bound ${bound}`)
      }
      for (const at of stallsAt) {
        if (before < at && records.length >= at) yield* stall
      }
      lastRecordAt = yield* Clock.currentTimeMillis
    }
    return records
  })

/**
 * The source conformance checks, one {@link SuiteCase} each.
 *
 * @category suites
 * @since 0.1.0
 */
export const cases = <E, E2>(
  makeSource: Effect.Effect<SourceUnderTest<E>, E2, Scope.Scope>,
  options?: Options
): ReadonlyArray<SuiteCase> => {
  const sizes = options?.batchSizes ?? [1, 7, 1000]
  const targets = options?.seekTargets ?? 25
  const unbounded = options?.unbounded
  const idleMs = unbounded?.idleMs ?? 3000
  const timeout = options?.timeout
  /** The records of a full read: `unbounded.records`, `expected.length`, or (bounded) to the end. */
  const total = (source: SourceUnderTest<unknown>): number | undefined => {
    if (unbounded === undefined) return undefined
    const n = unbounded.records ?? source.expected?.length
    assert.ok(n !== undefined, "an unbounded source under test needs `unbounded.records` or `expected`")
    return n
  }
  const reading = (want: number | undefined): Reading => ({
    want,
    idleMs,
    strictOrigin: unbounded?.batchMarks !== true,
    unbounded: unbounded !== undefined
  })
  /** After the input's records no record comes (bounded: the position stays). */
  const nothingAfter = (reader: SourceReader<unknown>) =>
    Effect.gen(function*() {
      if (unbounded === undefined) {
        const end = yield* reader.position
        assert.equal(yield* reader.readBatch(10), undefined)
        assert.deepStrictEqual(yield* reader.position, end)
      } else {
        const after = yield* readAll(reader, 10, reading(undefined))
        assert.deepStrictEqual(after.records, [], "no record after the input's")
      }
    })
  const all: Array<SuiteCase> = [
    {
      name: "reads the same records whatever the batch size",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        const want = total(source)
        let first: ReadonlyArray<unknown> | undefined
        for (const size of sizes) {
          const { records } = yield* Effect.scoped(Effect.flatMap(source.open, (r) => readAll(r, size, reading(want))))
          if (first === undefined) first = records
          else assert.deepStrictEqual(records, first, `batch size ${size}`)
        }
        if (source.expected !== undefined) assert.deepStrictEqual(first, source.expected)
        else if (want !== undefined) assert.strictEqual(first?.length, want)
      })),
      timeout
    },
    {
      name: "a new reader seeking to the position after any batch continues exactly there",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        const want = total(source)
        const size = sizes[Math.min(1, sizes.length - 1)]
        const full = yield* Effect.scoped(Effect.flatMap(source.open, (r) => readAll(r, size, reading(want))))
        if (want !== undefined) assert.strictEqual(full.records.length, want, "a full read")
        const start = yield* Effect.scoped(Effect.flatMap(source.open, (r) => r.position))
        const all = [{ count: 0, position: start }, ...full.cuts]
        const step = Math.max(1, Math.ceil(all.length / targets))
        const picked: Array<(typeof all)[number]> = []
        for (let i = 0; i < all.length; i += step) picked.push(all[i])
        if (picked.at(-1) !== all.at(-1)) picked.push(all[all.length - 1])
        for (const cut of picked) {
          yield* Effect.scoped(Effect.gen(function*() {
            const reader = yield* source.open
            yield* reader.seek(cut.position)
            const rest = (yield* readAll(reader, size, reading(want === undefined ? undefined : want - cut.count))).records
            assert.deepStrictEqual(
              [...full.records.slice(0, cut.count), ...rest],
              full.records,
              `seek to ${JSON.stringify(cut.position)} after ${cut.count} records`
            )
            // unbounded: after the last one, nothing is read twice
            if (want !== undefined && cut === picked[picked.length - 1]) {
              assert.deepStrictEqual((yield* readAll(reader, size, reading(undefined))).records, [], "nothing after the input's records")
            }
          }))
        }
      })),
      timeout
    },
    {
      name: "the end stays the end",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        const end = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* source.open
          yield* readAll(reader, 1000, reading(total(source)))
          yield* nothingAfter(reader)
          return yield* reader.position
        }))
        // unbounded: the position may have moved over input that yields no record (a
        // transaction's end, another table's changes); a reader restored there is at the end too
        if (unbounded !== undefined) {
          yield* Effect.scoped(Effect.gen(function*() {
            const reader = yield* source.open
            yield* reader.seek(end)
            yield* nothingAfter(reader)
          }))
        }
      })),
      timeout
    }
  ]
  if (unbounded?.acknowledges === true) {
    all.push({
      name: "a reader opened after a commit, without seek, continues right after the committed position",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        const want = total(source) ?? 0
        const half = Math.floor(want / 2)
        const size = sizes[Math.min(1, sizes.length - 1)]
        const first = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* source.open
          const read = yield* readAll(reader, size, reading(half))
          yield* reader.commit(yield* reader.position)
          return read.records
        }))
        const rest = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* source.open
          const read = yield* readAll(reader, size, reading(want - half))
          yield* nothingAfter(reader)
          return read.records
        }))
        assert.strictEqual(first.length, half)
        assert.deepStrictEqual([...first, ...rest], source.expected ?? [...first, ...rest])
        assert.strictEqual(rest.length, want - half, "the committed records are not read again")
      })),
      timeout
    })
  }
  const upstream = options?.upstream
  if (upstream !== undefined) {
    all.push({
      name: "acknowledges upstream only what a commit covers; a reader opened without seek goes on right after it",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        const acknowledged = source.acknowledged
        assert.ok(acknowledged !== undefined, "option `upstream` needs `acknowledged` of the source under test")
        const want = total(source) ?? 0
        const size = sizes[Math.min(1, sizes.length - 1)]
        const settle = Effect.sleep(upstream.settleMs ?? 2000)
        const { full, cut } = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* source.open
          const full = yield* readAll(reader, size, reading(want))
          assert.strictEqual(full.records.length, want, "a full read")
          const acknowledgeable = full.cuts.filter((c) => upstream.at?.(c.position) ?? true)
          const first = acknowledgeable[0]
          const inside = acknowledgeable.filter((c) => c.count < want)
          assert.ok(first !== undefined && inside.length > 0, "a position inside the input to commit")
          // read, not committed: the server shows none of it acknowledged, however long the reader runs
          yield* settle
          assert.deepStrictEqual((yield* readAll(reader, size, reading(undefined))).records, [], "no record after the input's")
          const before = yield* acknowledged
          assert.ok(!upstream.covers(before, first.position), `acknowledged (${JSON.stringify(before)}) before any commit, covering ${JSON.stringify(first.position)}`)
          const cut = inside[Math.floor(inside.length / 2)]
          const next = acknowledgeable.find((c) => c.count > cut.count)
          yield* reader.commit(cut.position)
          let after = yield* acknowledged
          for (let i = 0; i < 50 && !upstream.covers(after, cut.position); i++) {
            yield* Effect.sleep((upstream.settleMs ?? 2000) / 10)
            after = yield* acknowledged
          }
          assert.ok(upstream.covers(after, cut.position), `a commit of ${JSON.stringify(cut.position)} is acknowledged upstream (the server shows ${JSON.stringify(after)})`)
          yield* settle
          assert.deepStrictEqual((yield* readAll(reader, size, reading(undefined))).records, [], "no record after the input's")
          after = yield* acknowledged
          if (next !== undefined) assert.ok(!upstream.covers(after, next.position), `acknowledged (${JSON.stringify(after)}) past the commit, covering ${JSON.stringify(next.position)}`)
          return { full, cut }
        }))
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* source.open
          const rest = yield* readAll(reader, size, reading(want - cut.count))
          assert.deepStrictEqual(rest.records, full.records.slice(cut.count), `a reader opened without seek after a commit after ${cut.count} records`)
          yield* nothingAfter(reader)
        }))
      })),
      timeout
    })
  }
  all.push({
    name: "a pipeline slower than the source: the reader holds at most its read-ahead bound and nothing is lost",
    run: Effect.scoped(Effect.gen(function*() {
      const own = options?.backpressure
      const source: SourceUnderTest<unknown> = own === undefined ? yield* makeSource : yield* own.source
      const want = own === undefined || unbounded === undefined ? total(source) : own.records ?? source.expected?.length ?? total(source)
      // without `expected`: what a full read returns (no commit: an acknowledging source keeps it)
      const full = source.expected ??
        (yield* Effect.scoped(Effect.flatMap(source.open, (r) => readAll(r, 1000, reading(want))))).records
      if (want !== undefined) assert.strictEqual(full.length, want, "a full read")
      const reader = yield* source.open
      const stall = Effect.sleep(options?.stallMs ?? 500)
      const got = yield* slowRead(reader, full.length, stall, reading(want))
      assert.deepStrictEqual(got, full, "a slow pipeline reads every record once, in order")
      if (reader.readAhead !== undefined) {
        const { peak, bound } = reader.readAhead()
        if (options?.boundNotReached === undefined) assert.ok(full.length > bound, `the input (${full.length} records) outnumbers the read-ahead bound (${bound}): else the case shows nothing`)
        assert.ok(peak <= bound, `the reader held ${peak} records ahead, over its bound ${bound}`)
      }
      yield* nothingAfter(reader)
    })),
    timeout
  })
  const misconfigured = options?.misconfigured
  if (misconfigured !== undefined) {
    all.push({
      name: "a config that cannot work fails with a tagged error",
      run: Effect.gen(function*() {
        const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
          const reader = yield* misconfigured
          // an unbounded reader may first return empty batches: it must fail, not wait forever
          for (;;) {
            if ((yield* reader.readBatch(10)) === undefined) return
          }
        })))
        assert.ok(exit._tag === "Failure", "the reader fails")
        const error = exit._tag === "Failure" ? Cause.squash(exit.cause) : undefined
        assert.ok(
          error !== null && typeof error === "object" && "_tag" in error && typeof error._tag === "string",
          `a tagged error: ${String(error)}`
        )
      }),
      timeout
    })
  }
  return all
}
