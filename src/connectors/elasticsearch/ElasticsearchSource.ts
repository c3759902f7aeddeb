/**
 * The `elasticsearch` source: an index read in a point in time (a consistent view of it, opened
 * with `_pit`), page after page with `search_after`, `batch_size` documents per request.
 *
 * - **Position**: `{ pit, after }` — the point in time and the sort values of the last document
 *   read (and `end: true` once the read is complete). A resume continues after those values:
 *   exact, nothing read twice, nothing skipped.
 * - **Order**: with `sort` (fields unique together, e.g. `[{ field: id }]`), documents come in
 *   that order and a resume works for as long as the index does: if the saved point in time has
 *   expired, a new one is opened and the read continues after the saved values (documents
 *   changed since then are read as they are now). Without `sort`, documents come in the point
 *   in time's own order (`_shard_doc`), which only that point in time knows: a resume after it
 *   expired (`keep_alive`, default 10m, renewed by every request) is refused, naming the way out.
 * - **Records**: each document's `_source` (with `include_meta: true`, also `_id` and `_index`).
 * - The point in time is closed at the end of the read. A reader stopped before (a stop, a
 *   crash) leaves it to expire after `keep_alive`, so that a resume can continue in it.
 *
 * @since 0.4.0
 */
import type { Client } from "@elastic/elasticsearch"
import { Clock, Effect, Ref, Schema } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConfigurationError, ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as Positions from "../kit/Positions.ts"
import { SourceConfig } from "./ElasticsearchConfig.ts"
import { classify, statusOf } from "./ElasticsearchError.ts"
import { acquireClient, nodeName, sharedClient } from "./internal/client.ts"
import type { ClientOverrides } from "./internal/overrides.ts"
import { durationMillis } from "../../WorkflowGraph.ts"

/**
 * A record of the source: a document's `_source` (plus `_id`, `_index` with `include_meta`).
 *
 * @category models
 * @since 0.4.0
 */
export type Document = { readonly [field: string]: unknown }

type SortValue = string | number | boolean | null

const isSortValue = (u: unknown): u is SortValue => u === null || ["string", "number", "boolean"].includes(typeof u)

/**
 * The Schema of the source's positions: the point in time read in, the sort values of the last
 * document read (`null` before the first), and `end: true` once the read is complete. The runtime
 * decodes a stored position with it before anything opens.
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourcePosition = Schema.Struct({
  pit: Schema.NullOr(Schema.String),
  after: Schema.NullOr(Schema.Array(Schema.Union([Schema.String, Schema.Number, Schema.Boolean, Schema.Null]))),
  end: Schema.optionalKey(Schema.Literal(true))
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourcePosition = typeof SourcePosition.Type

const decodePosition = Positions.decoder("elasticsearch", SourcePosition, "a position of the elasticsearch source")

const KEEP_ALIVE_DEFAULT = "10m"

/** `keep_alive` as Elasticsearch writes durations (milliseconds). */
const keepAlive = (config: SourceConfig): string =>
  config.keep_alive === undefined ? KEEP_ALIVE_DEFAULT : `${durationMillis(config.keep_alive)}ms`

const failure = (operation: string, message: string) =>
  new ConnectorError({ connector: "elasticsearch", operation, reason: new ConfigurationError({ message }) })

/**
 * Opens the source's reader with client options overridden (tests: `@elastic/elasticsearch-mock`).
 *
 * @category constructors
 * @since 0.4.0
 */
export const openWith = (overrides: ClientOverrides | undefined) => (config: SourceConfig, context: Connector.OpenContext) =>
  Effect.gen(function*() {
    const client: Client = yield* sharedClient(config, overrides)
    const userSort = config.sort
    const sort = userSort === undefined
      ? [{ _shard_doc: { order: "asc" as const } }]
      : userSort.map((s) => ({ [s.field]: { order: s.order ?? ("asc" as const) } }))
    const size = config.batch_size ?? Math.min(context.batchSize, 10_000)
    // done: the last page was read (end of input); the point in time is closed on the next read
    const state = yield* Ref.make<{ pit: string | null; after: SourcePosition["after"]; done: boolean; restored: boolean }>({
      pit: null,
      after: null,
      done: false,
      restored: false
    })
    let closed = false
    const closePit = Effect.gen(function*() {
      const s = yield* Ref.get(state)
      if (s.pit === null || closed) return
      closed = true
      const id = s.pit
      yield* Effect.promise(() => client.closePointInTime({ id }).catch(() => undefined))
    })
    const openPit = Effect.tryPromise({
      try: () => client.openPointInTime({ index: config.index, keep_alive: keepAlive(config) }),
      catch: classify("open point in time")
    }).pipe(Effect.map((r) => r.id))

    const search = (pit: string, after: SourcePosition["after"], max: number) =>
      Effect.tryPromise({
        try: () =>
          client.search<Document>({
            pit: { id: pit, keep_alive: keepAlive(config) },
            size: max,
            sort,
            track_total_hits: false,
            query: config.query ?? { match_all: {} },
            ...(after !== null ? { search_after: [...after] } : {})
          }),
        catch: (e) => e
      })

    const readBatch = (max: number): Effect.Effect<Batch.Batch<Document> | undefined, ConnectorError> =>
      Effect.gen(function*() {
        const s = yield* Ref.get(state)
        if (s.done) {
          yield* closePit
          return undefined
        }
        let pit = s.pit ?? (yield* openPit)
        const limit = Math.max(1, Math.min(max, size))
        const result = yield* search(pit, s.after, limit).pipe(
          Effect.catch((e: unknown) => {
            // the saved point in time has expired since the checkpoint
            if (statusOf(e) !== 404 || !s.restored || s.pit === null) return Effect.fail(classify("search")(e))
            if (userSort === undefined) {
              return Effect.fail(failure(
                "search",
                `the point in time of the checkpoint has expired (keep_alive ${keepAlive(config)}): without 'sort' the read cannot resume in a new one; set 'sort' to fields unique per document, or run with --from-scratch`
              ))
            }
            return Effect.flatMap(openPit, (fresh) => {
              pit = fresh
              return Effect.mapError(search(fresh, s.after, limit), classify("search"))
            })
          })
        )
        if (result.pit_id !== undefined) pit = result.pit_id
        const hits = result.hits.hits
        if (hits.length === 0) {
          yield* Ref.update(state, (x) => ({ ...x, pit, done: true, restored: false }))
          yield* closePit
          return undefined
        }
        const records: Array<Document> = []
        for (const hit of hits) {
          const source = hit._source ?? {}
          records.push(config.include_meta === true ? { ...source, _id: hit._id, _index: hit._index } : source)
        }
        const lastSort = hits[hits.length - 1].sort
        if (lastSort === undefined || !lastSort.every(isSortValue)) {
          return yield* failure("search", `a document of index '${config.index}' came without sort values`)
        }
        // with a user sort, only its values: a new point in time has other tiebreakers
        const after: Array<SortValue> = userSort === undefined ? [...lastSort] : lastSort.slice(0, userSort.length)
        yield* Ref.update(state, (x) => ({ ...x, pit, after, done: hits.length < limit, restored: false }))
        const readAt = yield* Clock.currentTimeMillis
        const end = hits.length < limit ? { end: true } : {}
        return Batch.make(records, { origin: { source: context.node, position: { pit, after, ...end } }, readAt })
      })

    const reader: Connector.SourceReader<Document> = {
      readBatch,
      position: Effect.map(Ref.get(state), (s): Batch.Position => ({
        pit: s.pit,
        after: s.after === null ? null : [...s.after],
        ...(s.done ? { end: true } : {})
      })),
      seek: (position) =>
        Effect.gen(function*() {
          const p = yield* decodePosition(position)
          if (p.after !== null && userSort !== undefined && p.after.length !== userSort.length) {
            return yield* failure("seek", `the position holds ${p.after.length} sort values, 'sort' has ${userSort.length} fields: was 'sort' changed since the checkpoint? run with --from-scratch`)
          }
          closed = false
          yield* Ref.set(state, { pit: p.pit, after: p.after, done: p.end === true, restored: true })
        }),
      commit: () => Effect.void
    }
    return reader
  })

/**
 * The `elasticsearch` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   orders:
 *     type: elasticsearch
 *     config:
 *       node: "${ES_URL}"
 *       index: orders
 *       query: { range: { amount: { gte: 100 } } }
 *       sort: [{ field: order_id }]
 *       batch_size: 1000
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const ElasticsearchSource: Connector.SourceDefinition<SourceConfig, Document> = Connector.source({
  type: "elasticsearch",
  description: "Reads an Elasticsearch index in a point in time with search_after (position: the last sort values)",
  config: SourceConfig,
  // one point in time, read page after page
  position: () => SourcePosition,
  capabilities: (config) => ({ seekable: true, unbounded: false, preferredBatchSize: config.batch_size ?? 1000, maxBatchSize: 10_000, maxParallelism: 1 }),
  resources: (config) => ({ reads: [{ kind: "elasticsearch-index", name: `${nodeName(config)} ${config.index}`, key: ["index"], shared: true }] }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const client = yield* acquireClient(config)
        const exists = yield* Effect.tryPromise({ try: () => client.indices.exists({ index: config.index }), catch: classify("check") })
        if (!exists) return yield* failure("check", `index '${config.index}' does not exist`)
      })
    ),
  open: openWith(undefined)
})

/**
 * A typed DSL spec of the `elasticsearch` source: `A` is the documents' type.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A extends Document = Document>(config: typeof SourceConfig.Encoded): Spec.SourceSpec<A> =>
  Spec.source<A>("elasticsearch", config)
