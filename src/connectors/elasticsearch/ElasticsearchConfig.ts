/**
 * The config Schemas of the `elasticsearch` connectors (source and sink). Keys keep their YAML
 * spelling (snake_case). Credentials (`api_key`, `password`) decode to `Redacted` values: write
 * them as `${ES_API_KEY}` so they come from the environment, and they never appear in a message,
 * a log or `dataflare plan`.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { PositiveDuration } from "../../WorkflowGraph.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as Retry from "../kit/Retry.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * The connection and credentials both roles share: `node` (one URL or several), and either
 * `api_key` or `username` + `password`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Connection = {
  node: Schema.Union([Schema.NonEmptyString, Schema.NonEmptyArray(Schema.NonEmptyString)]),
  api_key: Schema.optionalKey(Schema.RedactedFromValue(Schema.NonEmptyString, { label: "api_key" })),
  username: Schema.optionalKey(Schema.NonEmptyString),
  password: Schema.optionalKey(Schema.RedactedFromValue(Schema.String, { label: "password" })),
  /** How long one request may take (default 30s). */
  request_timeout: Schema.optionalKey(PositiveDuration)
}

const authIssue = (c: { readonly api_key?: unknown; readonly username?: unknown; readonly password?: unknown }) =>
  c.api_key !== undefined && (c.username !== undefined || c.password !== undefined)
    ? { path: ["api_key"], issue: "give either api_key or username/password, not both" }
    : (c.username === undefined) !== (c.password === undefined)
    ? { path: [c.username === undefined ? "username" : "password"], issue: "username and password go together" }
    : undefined

/**
 * The bulk operations of the sink: `index` (create or overwrite), `create` (only new
 * documents: an existing id is a rejection), `update` (a partial document merged into an
 * existing one, `doc_as_upsert`), `delete` (by id).
 *
 * @category schemas
 * @since 0.4.0
 */
export const BulkOp = Schema.Literals(["index", "create", "update", "delete"])

/**
 * @category schemas
 * @since 0.4.0
 */
export type BulkOp = typeof BulkOp.Type

/**
 * Config of the `elasticsearch` sink.
 *
 * - `index`: the target index (or alias, or data stream with `op: create`).
 * - `id_field`: the record field whose value is the document `_id` (a string or a number);
 *   without it Elasticsearch generates ids, and a replay after a restore writes documents again.
 *   Required by `update` and `delete`. With it (and `op` other than `create`), a replay
 *   overwrites the same documents: exactly-once by idempotence.
 * - `op`: `index` (default), `create`, `update`, `delete`.
 * - `routing`: the record field whose value routes the document to a shard.
 * - `batch_size` (default 1000 documents) and `max_bytes` (default 5 MiB of request body):
 *   a batch is sent as bulk requests bounded by both.
 * - `concurrency`: bulk requests in flight at once (default 2).
 * - `retry`: `{ attempts, delay, max_delay }` for retryable failures (429, 5xx,
 *   `es_rejected_execution_exception`, connection loss): the failed items only are sent again,
 *   after a delay doubling from `delay` up to `max_delay`, with jitter (the kit's `retry`:
 *   default 5 retries from 100ms up to 30s).
 * - `on_error`: `fail` (default: a rejected document fails the run, naming it) or `dead_letter`
 *   (rejected documents go, with the item's status and reason, to `dead_letter.path` as NDJSON).
 * - `refresh`: refresh the index after each checkpoint (default false).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = Schema.Struct({
  ...Connection,
  index: Schema.NonEmptyString,
  id_field: Schema.optionalKey(Schema.NonEmptyString),
  op: Schema.optionalKey(BulkOp),
  routing: Schema.optionalKey(Schema.NonEmptyString),
  batch_size: Schema.optionalKey(PositiveInt),
  max_bytes: Schema.optionalKey(PositiveInt),
  concurrency: Schema.optionalKey(PositiveInt),
  ...Retry.RetryFields,
  ...DeadLetter.ErrorHandlingFields,
  refresh: Schema.optionalKey(Schema.Boolean)
}).check(
  Schema.makeFilter((c) =>
    authIssue(c) ??
      ((c.op === "update" || c.op === "delete") && c.id_field === undefined
        ? { path: ["id_field"], issue: `op: ${c.op} needs id_field (the documents are found by id)` }
        : DeadLetter.checkErrorHandling(c))
  )
)

/**
 * @category schemas
 * @since 0.4.0
 */
export type SinkConfig = typeof SinkConfig.Type

/**
 * One sort key of the source: a field and its order.
 *
 * @category schemas
 * @since 0.4.0
 */
export const SortKey = Schema.Struct({
  field: Schema.NonEmptyString,
  order: Schema.optionalKey(Schema.Literals(["asc", "desc"]))
})

/**
 * Config of the `elasticsearch` source.
 *
 * - `index`: what to read (an index, alias or pattern).
 * - `query`: a query DSL object (default `match_all`).
 * - `batch_size`: documents per search request (default 1000).
 * - `sort`: fields whose values together are unique per document, in order. The read runs in a
 *   point in time (a consistent view); the position is the last document's sort values. Without
 *   `sort`, documents are read in the point in time's own order (`_shard_doc`), which exists only
 *   as long as the point in time does: a resume after `keep_alive` has passed is refused.
 *   With `sort`, a resume opens a new point in time and continues after the saved values.
 * - `keep_alive`: how long the point in time lives between requests (default 10m).
 * - `include_meta`: add `_id` and `_index` to each record (default false: the `_source` as it is).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = Schema.Struct({
  ...Connection,
  index: Schema.NonEmptyString,
  query: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  batch_size: Schema.optionalKey(PositiveInt.check(Schema.isLessThanOrEqualTo(10000))),
  sort: Schema.optionalKey(Schema.NonEmptyArray(SortKey)),
  keep_alive: Schema.optionalKey(PositiveDuration),
  include_meta: Schema.optionalKey(Schema.Boolean)
}).check(Schema.makeFilter((c) => authIssue(c)))

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourceConfig = typeof SourceConfig.Type
