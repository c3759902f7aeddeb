/**
 * The conformance suite every sink passes — the built-in ones and yours.
 *
 * `SinkSuite.cases(makeSink)` returns the checks, free of any test framework ({@link SuiteCase});
 * `sinkSuite` of `dataflare/vitest` registers them as vitest tests. They check what the runtime
 * relies on when it checkpoints, restores and runs a sink:
 * - **every record once**: records written in batches, flushed (and, for an exactly-once sink,
 *   pre-committed and committed as checkpoint 1) are in the destination, each once;
 * - **commit, then restore to it**: a new writer restored to the last committed checkpoint keeps
 *   exactly what that checkpoint covers;
 * - **restart from a checkpoint**: a writer that committed checkpoint 1, wrote more (pre-committed
 *   as checkpoint 2, never completed) and was dropped; a new writer restored to checkpoint 1 that
 *   writes the records after it again — an exactly-once sink then holds every record exactly
 *   once (nothing duplicated), an at-least-once sink every record at least once (nothing lost);
 * - **backpressure** (with `workflow`): in a run of a fast source into the sink slowed down, the
 *   source never runs ahead of the sink by more than the queues between them hold (memory
 *   bounded), and every record arrives;
 * - **bad config refused at prepare** (with `workflow.badConfigs`): each config is refused by
 *   `Runtime.prepare` (`dataflare validate`), before anything opens.
 *
 * `makeSink` runs once per case, in the case's scope: give each case a fresh destination there
 * (a new file in a temp dir, a new table). Its `open` must open a new writer over the same
 * destination each time (instance 0 of node `sink`).
 *
 * @example
 * ```ts
 * import { test } from "node:test"
 * import { Effect } from "effect"
 * import { SinkSuite, SuiteCase } from "dataflare/testing"
 * import { openMySink, readMyDestination } from "./MySink.js"
 *
 * const cases = SinkSuite.cases(Effect.succeed({ open: openMySink(), read: readMyDestination, guarantee: "exactly-once" as const }))
 * for (const c of cases) test(c.name, () => SuiteCase.runPromise(c))
 * ```
 * @since 0.4.0
 */
import assert from "node:assert/strict"
import { Effect, Schema, type Scope } from "effect"
import * as Batch from "../Batch.ts"
import type { Guarantee, SinkDefinition, SinkWriter } from "../Connector.ts"
import * as Connector from "../Connector.ts"
import * as Registry from "../Registry.ts"
import * as Runtime from "../Runtime.ts"
import * as WorkflowGraph from "../WorkflowGraph.ts"
import type { SuiteCase } from "./SuiteCase.ts"

/**
 * A sink under test.
 *
 * @category models
 * @since 0.4.0
 */
export interface SinkUnderTest<E = unknown> {
  /** Opens a new writer over the destination (instance 0 of node `sink`). */
  readonly open: Effect.Effect<SinkWriter<unknown>, E, Scope.Scope>
  /** What the destination holds now, as records comparable with the ones written (see `Options.key`). */
  readonly read: Effect.Effect<ReadonlyArray<unknown>, E>
  /** The guarantee the sink claims after a restore. */
  readonly guarantee: Guarantee
  /**
   * To run the sink in workflows (backpressure, bad configs): its definition and a config of this
   * case's destination (as written in YAML), and configs `prepare` must refuse.
   */
  readonly workflow?: {
    readonly definition: SinkDefinition<unknown, unknown, unknown>
    readonly config: unknown
    readonly badConfigs?: ReadonlyArray<unknown>
  }
}

/**
 * Options of {@link cases}.
 *
 * @category models
 * @since 0.4.0
 */
export interface Options {
  /** The records written: `records(n)` gives `n` of them (default `{ id: i, name: "record <i>" }`). */
  readonly records?: (n: number) => ReadonlyArray<unknown>
  /** How a record is compared (default its JSON text): equal keys are the same record. */
  readonly key?: (record: unknown) => string
  /** Records of the write cases (default 500) and of the backpressure run (default 3000). */
  readonly count?: number
  readonly backpressureCount?: number
  /**
   * Run the workflow cases (backpressure, bad configs: default true); each `SinkUnderTest` must
   * then give `workflow`. `false` for a sink that cannot run in a test's workflow (it writes the
   * process's standard output).
   */
  readonly workflow?: boolean
}

const defaultRecords = (n: number): ReadonlyArray<unknown> => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `record ${i + 1}` }))

const defaultKey = (r: unknown): string => JSON.stringify(r, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))

/** Writes `records` in batches of `size`. */
const writeAll = (writer: SinkWriter<unknown>, records: ReadonlyArray<unknown>, size: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < records.length; i += size) yield* writer.writeBatch(Batch.make(records, undefined, i, Math.min(records.length, i + size)))
  })

/** Makes everything written durable as checkpoint `id` (pre-commit and commit where the writer has them). */
const checkpoint = (writer: SinkWriter<unknown>, id: number, complete = true) =>
  Effect.gen(function*() {
    yield* writer.flush
    if (writer.preCommit !== undefined) yield* writer.preCommit(id)
    if (complete && writer.commit !== undefined) yield* writer.commit(id)
  })

/** Opens a writer in a scope of its own, restores it to `restoreTo` (a fresh start: `undefined`), runs `body`. */
const withWriter = <E, E2>(
  sink: SinkUnderTest<E>,
  restoreTo: number | undefined,
  body: (writer: SinkWriter<unknown>) => Effect.Effect<void, E2>
) =>
  Effect.scoped(Effect.gen(function*() {
    const writer = yield* sink.open
    if (writer.restore !== undefined) yield* writer.restore(restoreTo)
    yield* body(writer)
  }))

/** Counts of keys, to compare destinations as multisets. */
const counts = (records: ReadonlyArray<unknown>, key: (r: unknown) => string): Map<string, number> => {
  const m = new Map<string, number>()
  for (const r of records) m.set(key(r), (m.get(key(r)) ?? 0) + 1)
  return m
}

/** Asserts the destination holds every record of `expected`: exactly once, or (`atLeast`) at least once. */
const assertHolds = (held: ReadonlyArray<unknown>, expected: ReadonlyArray<unknown>, key: (r: unknown) => string, atLeast: boolean, what: string) => {
  const got = counts(held, key)
  const want = counts(expected, key)
  const missing = [...want.keys()].filter((k) => (got.get(k) ?? 0) < (want.get(k) ?? 0))
  assert.deepStrictEqual(missing.slice(0, 5), [], `${what}: records lost (${missing.length}; the first shown)`)
  if (atLeast) return
  const extra = [...got.entries()].filter(([k, n]) => n > (want.get(k) ?? 0)).map(([k]) => k)
  assert.deepStrictEqual(extra.slice(0, 5), [], `${what}: records written twice or not written at all (${extra.length}; the first shown)`)
}

/**
 * The sink conformance checks, one {@link SuiteCase} each.
 *
 * @category suites
 * @since 0.4.0
 */
export const cases = <E, E2>(
  makeSink: Effect.Effect<SinkUnderTest<E>, E2, Scope.Scope>,
  options?: Options
): ReadonlyArray<SuiteCase> => {
  const records = (options?.records ?? defaultRecords)(options?.count ?? 500)
  const key = options?.key ?? defaultKey
  const half = Math.floor(records.length / 2)
  const list: Array<SuiteCase> = [
    {
      name: "writes every record once",
      run: Effect.scoped(Effect.gen(function*() {
        const sink = yield* makeSink
        yield* withWriter(sink, undefined, (writer) => Effect.andThen(writeAll(writer, records, 37), checkpoint(writer, 1)))
        assertHolds(yield* sink.read, records, key, false, "after a full write")
      }))
    },
    {
      name: "a writer restored to the last committed checkpoint keeps exactly what it covers",
      run: Effect.scoped(Effect.gen(function*() {
        const sink = yield* makeSink
        yield* withWriter(sink, undefined, (writer) => Effect.andThen(writeAll(writer, records.slice(0, half), 50), checkpoint(writer, 1)))
        yield* withWriter(sink, 1, (writer) => writer.flush)
        assertHolds(yield* sink.read, records.slice(0, half), key, false, "after a restore to checkpoint 1")
      }))
    },
    {
      name: "a restart from a checkpoint loses nothing (and, exactly-once, duplicates nothing)",
      run: Effect.scoped(Effect.gen(function*() {
        const sink = yield* makeSink
        const atLeast = sink.guarantee === "at-least-once"
        // the first run: checkpoint 1 completes, then more is written and pre-committed as 2, never completed
        yield* withWriter(sink, undefined, (writer) =>
          Effect.gen(function*() {
            yield* writeAll(writer, records.slice(0, half), 50)
            yield* checkpoint(writer, 1)
            yield* writeAll(writer, records.slice(half, half + 100), 50)
            yield* checkpoint(writer, 2, false)
            yield* writeAll(writer, records.slice(half + 100), 50)
          }))
        // the restored run writes everything after checkpoint 1 again
        yield* withWriter(sink, 1, (writer) => Effect.andThen(writeAll(writer, records.slice(half), 50), checkpoint(writer, 2)))
        assertHolds(yield* sink.read, records, key, atLeast, `after a restart from checkpoint 1 (${sink.guarantee})`)
      }))
    }
  ]
  if (options?.workflow === false) return list
  list.push({
    name: "backpressure: a slow sink slows the source down, memory stays bounded, every record arrives",
    timeout: 120_000,
    run: Effect.scoped(Effect.gen(function*() {
      const sink = yield* makeSink
      assert.ok(sink.workflow !== undefined, "the sink under test gives `workflow` (or the suite runs with workflow: false)")
      const n = options?.backpressureCount ?? 3000
      const all = (options?.records ?? defaultRecords)(n)
      const batchSize = 50
      const queueCapacity = 2
      const progress = { read: 0, written: 0, ahead: 0 }
      const source = countingSource(all, progress)
      const slowed = slowedSink(sink.workflow.definition, progress)
      yield* Runtime.run(
        WorkflowGraph.make({
          name: `sink-suite-${Math.random().toString(36).slice(2)}`,
          execution: { batch_size: batchSize, queue_capacity: queueCapacity },
          nodes: [
            { kind: "source", id: "numbers", type: source.type, config: {}, inputs: [] },
            { kind: "sink", id: "sink", type: slowed.type, config: sink.workflow.config, inputs: ["numbers"] }
          ]
        })
      ).pipe(Effect.provide(Registry.layer([source as Registry.Definition, slowed as Registry.Definition])), Effect.orDie)
      // the queue between them, a batch the source holds and one the sink writes
      const bound = (queueCapacity + 3) * batchSize
      assert.ok(progress.ahead <= bound, `the source ran ${progress.ahead} records ahead of the sink (at most ${bound} expected)`)
      assert.ok(progress.read === n && progress.written === n, `read ${progress.read}, written ${progress.written} of ${n}`)
      assertHolds(yield* sink.read, all, key, sink.guarantee === "at-least-once", "after a backpressured run")
    }))
  })
  list.push({
    name: "a bad config is refused when the workflow is prepared",
    run: Effect.scoped(Effect.gen(function*() {
      const sink = yield* makeSink
      const workflow = sink.workflow
      assert.ok(workflow?.badConfigs !== undefined && workflow.badConfigs.length > 0, "the sink under test gives `workflow.badConfigs`")
      const source = countingSource([], { read: 0, written: 0, ahead: 0 })
      for (const config of workflow.badConfigs) {
        const refused = yield* Effect.flip(
          Runtime.prepare(
            WorkflowGraph.make({
              name: "sink-suite-config",
              nodes: [
                { kind: "source", id: "numbers", type: source.type, config: {}, inputs: [] },
                { kind: "sink", id: "sink", type: workflow.definition.type, config, inputs: ["numbers"] }
              ]
            })
          ).pipe(Effect.provide(Registry.layer([source as Registry.Definition, workflow.definition as Registry.Definition])))
        )
        assert.ok(refused.message.includes("sink"), `the refusal of ${defaultKey(config)} names the node: ${refused.message}`)
      }
    }))
  })
  return list
}

/** A source of `records` counting what it read. */
const countingSource = (records: ReadonlyArray<unknown>, progress: { read: number; written: number; ahead: number }) =>
  Connector.source<Record<string, never>, unknown>({
    type: "sink_suite_numbers",
    description: "The records of the sink suite, counted as read",
    config: Schema.Struct({}),
    capabilities: () => ({ seekable: false, unbounded: false, maxParallelism: 1 }),
    check: () => Effect.void,
    open: () =>
      Effect.sync(() => {
        let next = 0
        const reader: Connector.SourceReader<unknown> = {
          readBatch: (max) =>
            Effect.sync(() => {
              if (next >= records.length) return undefined
              const end = Math.min(records.length, next + max)
              const batch = Batch.make(records, { origin: { source: "numbers", position: end } }, next, end)
              progress.read += end - next
              progress.ahead = Math.max(progress.ahead, progress.read - progress.written)
              next = end
              return batch
            }),
          position: Effect.sync(() => next),
          seek: () => Effect.void,
          commit: () => Effect.void
        }
        return reader
      })
  })

/** The sink under test, each write slowed down and counted. */
const slowedSink = (definition: SinkDefinition<unknown, unknown, unknown>, progress: { read: number; written: number; ahead: number }) =>
  Connector.sink<unknown, unknown, unknown>({
    ...definition,
    type: `${definition.type}_slowed`,
    capabilities: (config) => ({ ...definition.capabilities(config), inline: false }),
    open: (config, context) =>
      Effect.map(definition.open(config, context), (writer): SinkWriter<unknown> => ({
        flush: writer.flush,
        ...(writer.preCommit !== undefined ? { preCommit: writer.preCommit } : {}),
        ...(writer.commit !== undefined ? { commit: writer.commit } : {}),
        ...(writer.restore !== undefined ? { restore: writer.restore } : {}),
        writeBatch: (batch) =>
          Effect.sleep("2 millis").pipe(
            Effect.andThen(writer.writeBatch(batch)),
            Effect.tap(() =>
              Effect.sync(() => {
                progress.written += Batch.size(batch)
              })
            )
          )
      }))
  })
