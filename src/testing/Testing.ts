/**
 * In-memory connectors for tests: prepared sources and sinks that replace nodes of a real
 * workflow through `Overrides.layer`, so a test runs the same workflow value as production.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Overrides, Runtime } from "dataflare"
 * import { Testing } from "dataflare/testing"
 *
 * const test = Effect.gen(function*() {
 *   const out = yield* Testing.collector()
 *   yield* Runtime.run(workflow).pipe(Effect.provide(Overrides.layer({
 *     orders: Testing.memorySource([{ id: 1, status: "active" }]),
 *     out: out.sink
 *   })))
 *   return yield* out.records
 * })
 * ```
 * @since 0.1.0
 */
import { type Duration, Effect } from "effect"
import type * as Batch from "../Batch.ts"
import { makeWriter } from "../connectors/memory/CollectSink.ts"
import { makeReader } from "../connectors/memory/MemorySource.ts"
import type { PreparedSink, PreparedSource } from "../Registry.ts"

/**
 * Options of {@link memorySource}.
 *
 * @category models
 * @since 0.1.0
 */
export interface MemorySourceOptions {
  /** Caps the size of the batches the source produces. */
  readonly batchSize?: number
}

/**
 * A prepared source reading `records` (not copied), seekable by record index.
 *
 * @category constructors
 * @since 0.1.0
 */
export const memorySource = <A>(records: ReadonlyArray<A>, options?: MemorySourceOptions): PreparedSource => ({
  _tag: "PreparedSource",
  type: "memory",
  capabilities: { seekable: true, unbounded: false },
  check: Effect.void,
  open: (context) =>
    Effect.sync(() => makeReader(records.length, (i) => records[i], context, options?.batchSize))
})

/**
 * A prepared source of `count` records `make(i)` (default `{ id: i }`), seekable by index.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generatorSource = (
  count: number,
  make: (index: number) => unknown = (i) => ({ id: i }),
  options?: MemorySourceOptions
): PreparedSource => ({
  _tag: "PreparedSource",
  type: "generator",
  capabilities: { seekable: true, unbounded: false },
  check: Effect.void,
  open: (context) => Effect.sync(() => makeReader(count, make, context, options?.batchSize))
})

/**
 * A collecting sink and what it received.
 *
 * @category models
 * @since 0.1.0
 */
export interface Collector<A = unknown> {
  readonly sink: PreparedSink
  /** Every record written so far, in arrival order (a copy). */
  readonly records: Effect.Effect<ReadonlyArray<A>>
  /** Every batch written so far (the records of each, a copy). */
  readonly batches: Effect.Effect<ReadonlyArray<ReadonlyArray<A>>>
  /** How many records were written so far. */
  readonly written: Effect.Effect<number>
  /** How many times the sink was flushed. */
  readonly flushes: Effect.Effect<number>
}

const makeCollector = <A>(delay: Duration.Input | undefined): Collector<A> => {
  const records: Array<unknown> = []
  const batches: Array<ReadonlyArray<unknown>> = []
  let flushes = 0
  const sink: PreparedSink = {
    _tag: "PreparedSink",
    type: delay === undefined ? "collect" : "slow_collect",
    capabilities: { guarantee: "at-least-once", transactional: false },
    check: Effect.void,
    open: () =>
      Effect.sync(() => {
        const writer = makeWriter(records, batches)
        return {
          writeBatch: (batch: Batch.Batch<unknown>) =>
            delay === undefined ? writer.writeBatch(batch) : Effect.andThen(Effect.sleep(delay), writer.writeBatch(batch)),
          flush: Effect.sync(() => void flushes++)
        }
      })
  }
  return {
    sink,
    records: Effect.sync(() => [...records] as ReadonlyArray<A>),
    batches: Effect.sync(() => [...batches] as ReadonlyArray<ReadonlyArray<A>>),
    written: Effect.sync(() => records.length),
    flushes: Effect.sync(() => flushes)
  }
}

/**
 * A new collecting sink, with its own list (every open of it appends to that list).
 *
 * @category constructors
 * @since 0.1.0
 */
export const collector = <A = unknown>(): Effect.Effect<Collector<A>> => Effect.sync(() => makeCollector<A>(undefined))

/**
 * A collecting sink that sleeps `delay` (through `Effect.sleep`, so `TestClock` drives it)
 * before each batch: a deliberately slow sink for backpressure tests. `written` tells how many
 * records it has written so far.
 *
 * @category constructors
 * @since 0.1.0
 */
export const slowSink = <A = unknown>(delay: Duration.Input): Effect.Effect<Collector<A>> =>
  Effect.sync(() => makeCollector<A>(delay))
