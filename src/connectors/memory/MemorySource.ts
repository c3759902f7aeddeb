/**
 * In-memory sources, for tests, examples and demos: `memory` (the records are in the config, so
 * it works from YAML too) and `generator` (`count` records `{ id: i, ...fields }`, or `make(i)`
 * from the DSL).
 *
 * Both are seekable: the position is the index of the next record (a number). With
 * `parallelism: n`, instance `k` reads records `k, k + n, k + 2n, ...`.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Schema } from "effect"
import * as Batch from "../../Batch.ts"
import type { Position } from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import * as Positions from "../kit/Positions.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/** A position of the memory sources: the index of the next record. */
const decodeIndex = Positions.decoder("memory", Positions.Offset, "a record index")

/**
 * The `memory` source config: `records` (an array of objects) and an optional `batch_size` that
 * caps the batches it produces (to test small batches).
 *
 * @category schemas
 * @since 0.1.0
 */
export const MemoryConfig = Schema.Struct({
  records: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)).annotate({ description: "The records to read, in order" }),
  batch_size: Schema.optionalKey(
    PositiveInt.annotate({ description: "The most records per batch (to test small batches; default: execution.batch_size)" })
  )
})

/**
 * @category models
 * @since 0.1.0
 */
export type MemoryConfig = typeof MemoryConfig.Type

/**
 * A function from the record index to a record (the generator's `make`, DSL only).
 *
 * @category models
 * @since 0.1.0
 */
export type Make = (index: number) => object

/**
 * The `generator` source config: `count` records; each is `{ id: i, ...fields }` (`fields`: a
 * map of constant values), or `make(i)` when the DSL gives a `make` function (YAML cannot).
 *
 * @category schemas
 * @since 0.1.0
 */
export const GeneratorConfig = Schema.Struct({
  count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "How many records to generate" }),
  fields: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.Unknown).annotate({ description: "Constant fields added to every record { id: i }" })
  ),
  make: Schema.optionalKey(
    Schema.declare((u: unknown): u is Make => typeof u === "function", { expected: "a function (index) => record" })
  ),
  batch_size: Schema.optionalKey(
    PositiveInt.annotate({ description: "The most records per batch (default: execution.batch_size)" })
  ),
  /**
   * Records per second, all instances together (absent: as fast as the pipeline takes them). A
   * paced generator stands in for a live source in demos and tests of monitoring.
   */
  rate: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))).annotateKey({
    description: "Records per second, all instances together (absent: as fast as the pipeline takes them)"
  })
})

/**
 * @category models
 * @since 0.1.0
 */
export type GeneratorConfig = typeof GeneratorConfig.Type

/**
 * A reader over `count` records produced by `at(i)`, positions being record indices.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeReader = <A>(
  count: number,
  at: (index: number) => A,
  context: Connector.OpenContext,
  batchSize?: number
): Connector.SourceReader<A> => {
  const step = Math.max(1, context.parallelism)
  let next = context.instance
  const take = (max: number, readAt: number): Batch.Batch<A> | undefined => {
    if (next >= count) return undefined
    const limit = batchSize === undefined ? max : Math.min(max, batchSize)
    const records: Array<A> = []
    while (records.length < limit && next < count) {
      records.push(at(next))
      next += step
    }
    return Batch.make(records, { origin: { source: context.node, position: next }, readAt })
  }
  return {
    readBatch: (max) => Effect.flatMap(Clock.currentTimeMillis, (readAt) => Effect.sync(() => take(max, readAt))),
    // the records are at hand: no Effect per batch (the runtime stamps the read time)
    readBatchSync: (max) => take(max, 0),
    position: Effect.sync(() => next),
    seek: (position: Position) =>
      Effect.map(decodeIndex(position), (index) => {
        next = index
      }),
    commit: () => Effect.void
  }
}

/**
 * The `memory` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const MemorySource: Connector.SourceDefinition<MemoryConfig, object> = Connector.source({
  type: "memory",
  description: "Reads the records given in its config (for tests and examples)",
  config: MemoryConfig,
  capabilities: () => ({ seekable: true, unbounded: false }),
  position: () => Positions.Offset,
  check: () => Effect.void,
  // the records are in the config: their fields are every field any of them has
  fields: (config) => {
    if (config.records.length === 0) return undefined
    const names = new Set<string>()
    for (const record of config.records) for (const name in record) names.add(name)
    return [...names]
  },
  open: (config, context) =>
    Effect.sync(() => makeReader(config.records.length, (i) => config.records[i], context, config.batch_size))
})

/**
 * The `generator` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const GeneratorSource: Connector.SourceDefinition<GeneratorConfig, object> = Connector.source({
  type: "generator",
  description: "Generates `count` records { id: i, ...fields } (or make(i) from the DSL)",
  config: GeneratorConfig,
  capabilities: () => ({ seekable: true, unbounded: false }),
  position: () => Positions.Offset,
  check: () => Effect.void,
  fields: (config) => (config.make !== undefined ? undefined : ["id", ...Object.keys(config.fields ?? {})]),
  open: (config, context) =>
    Effect.sync(() => {
      const make = config.make
      const fields = config.fields ?? {}
      const at = make !== undefined ? make : (i: number): object => ({ id: i, ...fields })
      const reader = makeReader(config.count, at, context, config.batch_size)
      return config.rate === undefined ? reader : paced(reader, config.rate / Math.max(1, context.parallelism))
    })
})

/**
 * A reader that hands out at most `rate` records per second: each read waits until the records
 * it has returned so far are due, then returns at most what is due by then (at least one).
 */
const paced = <A>(reader: Connector.SourceReader<A>, rate: number): Connector.SourceReader<A> => {
  let startedAt: number | undefined
  let emitted = 0
  return {
    readBatch: (max) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        startedAt ??= now
        const dueAt = startedAt + (emitted * 1000) / rate
        if (dueAt > now) yield* Effect.sleep(dueAt - now)
        const elapsed = (yield* Clock.currentTimeMillis) - startedAt
        const due = Math.max(1, Math.min(max, Math.floor((elapsed * rate) / 1000) - emitted))
        const batch = yield* reader.readBatch(due)
        if (batch !== undefined) emitted += Batch.size(batch)
        return batch
      }),
    position: reader.position,
    seek: reader.seek,
    commit: reader.commit
  }
}
