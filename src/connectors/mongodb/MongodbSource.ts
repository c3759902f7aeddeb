/**
 * The `mongodb` source: a collection read in `_id` order (`mode: scan`, the default) or its changes
 * as they happen (`mode: change_stream`).
 *
 * - **scan**: `find({ _id: { $gt: last } }).sort({ _id: 1 }).limit(batch)` page after page (with
 *   `filter` combined by `$and`); the position is the last `_id` read (Extended JSON), so a resume
 *   continues right after it. `_id` values of one BSON type are compared in that type's order: a
 *   collection whose `_id`s mix types (ObjectIds and strings) is read up to the first type only —
 *   keep one `_id` type per collection, as MongoDB's own tools assume.
 * - **change_stream**: `collection.watch(pipeline, { fullDocument })`; each change becomes
 *   `{ operation, key, document, updated_fields, removed_fields, time }`. The position is the
 *   stream's resume token after the last change read; a resume reopens the stream with
 *   `resumeAfter` that token: nothing is lost, nothing read twice. The token is kept in the
 *   checkpoint, which is how a change stream is acknowledged (the server keeps no consumer
 *   state; the oplog must still hold the token's time when the run resumes). A change that ends
 *   the stream (`invalidate`: the collection was dropped or renamed) fails the run naming it.
 *   Change streams need a replica set (or a sharded cluster).
 *
 * @since 0.4.0
 */
import { BSON, type Document } from "mongodb"
import { Clock, Effect, Schema } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConfigurationError, ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as Positions from "../kit/Positions.ts"
import { SourceConfig } from "./MongodbConfig.ts"
import { classify } from "./MongodbError.ts"
import { ping, collectionResource, sharedClient } from "./internal/client.ts"
import { type ChangeStreamPort, type CollectionPort, type Connect, connectDriver } from "./internal/port.ts"

/**
 * A change record of `mode: change_stream`.
 *
 * @category models
 * @since 0.4.0
 */
export type Change = {
  readonly operation: "insert" | "update" | "replace" | "delete" | (string & {})
  /** The changed document's `_id`. */
  readonly key: unknown
  /** The document after the change (`fullDocument`), `null` for a delete. */
  readonly document: Document | null
  readonly updated_fields?: Document
  readonly removed_fields?: ReadonlyArray<string>
  /** When the change was written (the event's `wallTime`), ISO-8601. */
  readonly time?: string
}

/**
 * The Schema of `mode: scan` positions: the last `_id` read, as canonical Extended JSON (`null`
 * before the first).
 *
 * @category schemas
 * @since 0.4.0
 */
export const ScanPosition = Schema.Struct({ last_id: Schema.Unknown })

/**
 * The Schema of `mode: change_stream` positions: the resume token after the last change read, as
 * canonical Extended JSON (`null` before the stream answered).
 *
 * @category schemas
 * @since 0.4.0
 */
export const ChangeStreamPosition = Schema.Struct({ resume_token: Schema.Unknown })

const decodeScan = Positions.decoder("mongodb", ScanPosition, "a position of the mongodb scan")
const decodeChangeStream = Positions.decoder("mongodb", ChangeStreamPosition, "a position of the mongodb change stream")

const failure = (operation: string, message: string) =>
  new ConnectorError({ connector: "mongodb", operation, reason: new ConfigurationError({ message }) })

/** A BSON value as JSON for a position (canonical Extended JSON). */
const toPosition = (value: unknown): Batch.Position => BSON.EJSON.serialize(value as Document, { relaxed: false }) as Batch.Position

/**
 * A position's value back as BSON: numbers as JavaScript numbers (a 64-bit integer beyond 2^53 as
 * a `Long`), which MongoDB compares by value across numeric types; ObjectIds, dates, ... as
 * themselves.
 */
const fromPosition = (value: unknown): unknown => BSON.EJSON.deserialize(value as Document, { relaxed: true })

const scanReader = (collection: CollectionPort, config: SourceConfig, context: Connector.OpenContext) => {
  let last: { readonly id: unknown } | undefined
  let done = false
  const size = config.batch_size ?? context.batchSize
  const position = (): Batch.Position => ({ last_id: last === undefined ? null : toPosition(last.id) })
  const reader: Connector.SourceReader<Document> = {
    readBatch: (max) =>
      Effect.gen(function*() {
        if (done) return undefined
        const after: Document | undefined = last === undefined ? undefined : { _id: { $gt: last.id } }
        const filter: Document = config.filter === undefined ? after ?? {} : after === undefined ? config.filter : { $and: [config.filter, after] }
        const docs = yield* Effect.tryPromise({
          try: () => collection.find(filter, { sort: { _id: 1 }, limit: Math.max(1, Math.min(max, size)) }).toArray(),
          catch: classify("find")
        })
        if (docs.length === 0) {
          done = true
          return undefined
        }
        last = { id: docs[docs.length - 1]._id }
        const readAt = yield* Clock.currentTimeMillis
        return Batch.make(docs, { origin: { source: context.node, position: position() }, readAt })
      }),
    position: Effect.sync(position),
    seek: (p) =>
      Effect.gen(function*() {
        const saved = (yield* decodeScan(p)).last_id
        last = saved === null ? undefined : { id: yield* Effect.try({ try: () => fromPosition(saved), catch: () => failure("seek", `not an Extended JSON _id: ${JSON.stringify(saved)}`) }) }
        done = false
      }),
    commit: () => Effect.void
  }
  return reader
}

const toChange = (event: Document): Change => {
  const wall = event.wallTime
  return {
    operation: String(event.operationType),
    key: event.documentKey?._id,
    document: event.fullDocument ?? null,
    ...(event.updateDescription?.updatedFields !== undefined ? { updated_fields: event.updateDescription.updatedFields } : {}),
    ...(event.updateDescription?.removedFields !== undefined ? { removed_fields: event.updateDescription.removedFields } : {}),
    ...(wall instanceof Date ? { time: wall.toISOString() } : {})
  }
}

const ENDING = new Set(["invalidate", "drop", "rename", "dropDatabase"])

const changeStreamReader = (collection: CollectionPort, config: SourceConfig, context: Connector.OpenContext) =>
  Effect.gen(function*() {
    let token: unknown
    let stream: ChangeStreamPort | undefined
    const size = config.batch_size ?? context.batchSize
    const close = Effect.promise(async () => {
      const s = stream
      stream = undefined
      await s?.close().catch(() => undefined)
    })
    yield* Effect.addFinalizer(() => close)
    const open = () => {
      stream ??= collection.watch([...(config.pipeline ?? [])], {
        fullDocument: config.full_document ?? "updateLookup",
        ...(token !== undefined ? { resumeAfter: token } : {})
      })
      return stream
    }
    const position = (): Batch.Position => ({ resume_token: token === undefined ? null : toPosition(token) })
    const reader: Connector.SourceReader<Change> = {
      readBatch: (max) =>
        Effect.gen(function*() {
          const s = open()
          const changes: Array<Change> = []
          const limit = Math.max(1, Math.min(max, size))
          while (changes.length < limit) {
            const event = yield* Effect.tryPromise({ try: () => s.tryNext(), catch: classify("change stream") })
            if (event === null) break
            if (ENDING.has(String(event.operationType))) {
              return yield* failure(
                "change stream",
                `the change stream of ${config.database}.${config.collection} ended: '${String(event.operationType)}' (the collection was dropped or renamed)`
              )
            }
            changes.push(toChange(event))
            token = s.resumeToken ?? event._id
          }
          // after the changes of a batch response, the stream's token moves past what it skipped
          if (s.resumeToken !== undefined && s.resumeToken !== null) token = s.resumeToken
          const readAt = yield* Clock.currentTimeMillis
          return Batch.make(changes, { origin: { source: context.node, position: position() }, readAt })
        }),
      position: Effect.sync(position),
      seek: (p) =>
        Effect.gen(function*() {
          const saved = (yield* decodeChangeStream(p)).resume_token
          yield* close
          token = saved === null ? undefined : fromPosition(saved)
        }),
      // the resume token is kept in the checkpoint: the server keeps no consumer state to acknowledge
      commit: () => Effect.void
    }
    return reader
  })

/**
 * The `mongodb` source definition over a way to connect (the driver's `MongoClient`, or in tests a
 * MongoClient-shaped fake).
 *
 * @category constructors
 * @since 0.4.0
 */
export const make = (connect: Connect): Connector.SourceDefinition<SourceConfig, Document> =>
  Connector.source<SourceConfig, Document>({
    type: "mongodb",
    description: "Reads a MongoDB collection in _id order, or its change stream (resume tokens as positions)",
    config: SourceConfig,
    position: (config) => (config.mode === "change_stream" ? ChangeStreamPosition : ScanPosition),
    capabilities: (config) => ({
      seekable: true,
      unbounded: config.mode === "change_stream",
      ...Capabilities.preferredBatch(config.batch_size),
      maxParallelism: 1
    }),
    resources: (config) => ({
      // a scan reads beside other writers; a change stream would read the workflow's own writes
      reads: [{ ...collectionResource(config), key: ["collection"], shared: config.mode !== "change_stream" }]
    }),
    check: (config) => ping(connect, config.url, config.database),
    open: (config, context) =>
      Effect.gen(function*() {
        const client = yield* sharedClient(connect, config.url)
        const collection = client.db(config.database).collection(config.collection)
        return config.mode === "change_stream"
          ? yield* changeStreamReader(collection, config, context)
          : scanReader(collection, config, context)
      })
  })

/**
 * The `mongodb` source definition (the driver's `MongoClient`).
 *
 * @example
 * ```yaml
 * sources:
 *   orders:
 *     type: mongodb
 *     config:
 *       url: "${MONGODB_URL}"
 *       database: shop
 *       collection: orders
 *       mode: change_stream
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const MongodbSource: Connector.SourceDefinition<SourceConfig, Document> = make(connectDriver)

/**
 * A typed DSL spec of the `mongodb` source: documents of type `A` (`mode: scan`), or
 * {@link Change} records (`mode: change_stream`).
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = Document>(config: typeof SourceConfig.Encoded): Spec.SourceSpec<A> => Spec.source<A>("mongodb", config)
