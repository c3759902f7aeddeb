/**
 * The conformance suite every seekable, bounded source passes — the built-in ones and yours.
 *
 * `SourceSuite.cases(makeSource)` returns the checks, free of any test framework
 * ({@link SuiteCase}); `sourceSuite` of `dataflare/vitest` registers them as vitest tests. They
 * check what the runtime relies on when it checkpoints and restores a source: the records do not
 * depend on the batch size; every batch carries the reader's position after it; a new reader that
 * seeks to a position taken after any batch continues exactly there (what was read before plus
 * what is read after equals a full read); the end stays the end.
 *
 * `makeSource` runs once per case in the case's scope (create files in a temp dir there); its
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
import { Effect, type Scope } from "effect"
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
}

const readAll = (reader: SourceReader<unknown>, max: number) =>
  Effect.gen(function*() {
    const records: Array<unknown> = []
    const cuts: Array<{ readonly count: number; readonly position: Position }> = []
    for (;;) {
      const batch = yield* reader.readBatch(max)
      if (batch === undefined) break
      assert.ok(Batch.size(batch) <= max, `a batch holds at most \`max\` records: ${Batch.size(batch)} > ${max}`)
      for (const r of Batch.toArray(batch)) records.push(r)
      const position = yield* reader.position
      assert.deepStrictEqual(batch.origin?.position, position, "a batch carries the position after it")
      cuts.push({ count: records.length, position })
    }
    return { records, cuts } as const
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
  return [
    {
      name: "reads the same records whatever the batch size",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        let first: ReadonlyArray<unknown> | undefined
        for (const size of sizes) {
          const { records } = yield* Effect.scoped(Effect.flatMap(source.open, (r) => readAll(r, size)))
          if (first === undefined) first = records
          else assert.deepStrictEqual(records, first, `batch size ${size}`)
        }
        if (source.expected !== undefined) assert.deepStrictEqual(first, source.expected)
      }))
    },
    {
      name: "a new reader seeking to the position after any batch continues exactly there",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        const size = sizes[Math.min(1, sizes.length - 1)]
        const full = yield* Effect.scoped(Effect.flatMap(source.open, (r) => readAll(r, size)))
        const start = yield* Effect.scoped(Effect.flatMap(source.open, (r) => r.position))
        const all = [{ count: 0, position: start }, ...full.cuts]
        const step = Math.max(1, Math.ceil(all.length / targets))
        const picked: Array<(typeof all)[number]> = []
        for (let i = 0; i < all.length; i += step) picked.push(all[i])
        if (picked.at(-1) !== all.at(-1)) picked.push(all[all.length - 1])
        for (const cut of picked) {
          const rest = yield* Effect.scoped(Effect.gen(function*() {
            const reader = yield* source.open
            yield* reader.seek(cut.position)
            return (yield* readAll(reader, size)).records
          }))
          assert.deepStrictEqual(
            [...full.records.slice(0, cut.count), ...rest],
            full.records,
            `seek to ${JSON.stringify(cut.position)} after ${cut.count} records`
          )
        }
      }))
    },
    {
      name: "the end stays the end",
      run: Effect.scoped(Effect.gen(function*() {
        const source = yield* makeSource
        const reader = yield* source.open
        yield* readAll(reader, 1000)
        const end = yield* reader.position
        assert.equal(yield* reader.readBatch(10), undefined)
        assert.deepStrictEqual(yield* reader.position, end)
      }))
    }
  ]
}
