/**
 * The config Schemas of the `mongodb` connectors (source and sink). Keys keep their YAML spelling
 * (snake_case). `url` decodes to a `Redacted` value (it holds credentials): write it as
 * `${MONGODB_URL}`; it never appears in a message, a log or `dataflare plan`.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { PositiveDuration } from "../../WorkflowGraph.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as Retry from "../kit/Retry.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

const Url = Schema.RedactedFromValue(
  Schema.String.check(Schema.isPattern(/^mongodb(\+srv)?:\/\//u, { message: "expected a mongodb:// or mongodb+srv:// URL" })),
  { label: "url" }
)

/**
 * The write concern of the sink's writes: `w` (a number of members or `majority`), `j`
 * (journaled), `wtimeout`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const WriteConcern = Schema.Struct({
  w: Schema.optionalKey(Schema.Union([Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), Schema.Literal("majority")])),
  j: Schema.optionalKey(Schema.Boolean),
  wtimeout: Schema.optionalKey(PositiveDuration)
})

/**
 * Config of the `mongodb` sink.
 *
 * - `url`, `database`, `collection`: where to write.
 * - `mode`: `insert` (default: `insertOne` each record), `upsert` (`updateOne` with `$set` of
 *   the record's fields, inserting when no document matches) or `replace` (`replaceOne`, upsert:
 *   the document becomes the record). `upsert` and `replace` need `id_field`.
 * - `id_field`: the record field identifying the document; its value becomes `_id` (default), or,
 *   with `id_key: field`, the documents are matched on that field itself (give it a unique
 *   index). With `upsert`/`replace`, a replay after a restore writes the same documents again to
 *   the same effect: exactly-once by idempotence.
 * - `write_concern`: `{ w, j, wtimeout }` (default: the server's).
 * - `batch_size`: operations per `bulkWrite` (default 1000).
 * - `retry`: `{ attempts, delay, max_delay }` for transient failures (a `RetryableWriteError`, a
 *   lost connection, a primary stepping down, a write concern not met in time): the kit's
 *   `retry`, default 5 retries from 100ms up to 30s.
 * - `on_error`: `fail` (default: a write error fails the run naming the document) or
 *   `dead_letter` (to `dead_letter.path` as NDJSON, with the server's code and message).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = Schema.Struct({
  url: Url,
  database: Schema.NonEmptyString,
  collection: Schema.NonEmptyString,
  mode: Schema.optionalKey(Schema.Literals(["insert", "upsert", "replace"])),
  id_field: Schema.optionalKey(Schema.NonEmptyString),
  id_key: Schema.optionalKey(Schema.Literals(["_id", "field"])),
  write_concern: Schema.optionalKey(WriteConcern),
  batch_size: Schema.optionalKey(PositiveInt),
  ...Retry.RetryFields,
  ...DeadLetter.ErrorHandlingFields
}).check(
  Schema.makeFilter((c) =>
    (c.mode === "upsert" || c.mode === "replace") && c.id_field === undefined
      ? { path: ["id_field"], issue: `mode: ${c.mode} needs id_field (the documents are matched by it)` }
      : c.id_key !== undefined && c.id_field === undefined
      ? { path: ["id_key"], issue: "id_key applies to id_field: set id_field" }
      : DeadLetter.checkErrorHandling(c)
  )
)

/**
 * @category schemas
 * @since 0.4.0
 */
export type SinkConfig = typeof SinkConfig.Type

/**
 * Config of the `mongodb` source.
 *
 * - `mode`: `scan` (default: the collection read in `_id` order, in batches; the position is the
 *   last `_id` read) or `change_stream` (the collection's changes as they happen; the position is
 *   the resume token of the last change, so a resume continues right after it — change streams
 *   need a replica set).
 * - `filter`: scan only: a query document the documents must match.
 * - `pipeline`: change_stream only: aggregation stages applied to the change events.
 * - `full_document`: change_stream only: `updateLookup` (default) adds the document as it is now to
 *   update events; `whenAvailable` / `required` use pre- and post-images.
 * - `batch_size`: documents per batch (default: the runtime's batch size).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = Schema.Struct({
  url: Url,
  database: Schema.NonEmptyString,
  collection: Schema.NonEmptyString,
  mode: Schema.optionalKey(Schema.Literals(["scan", "change_stream"])),
  filter: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  pipeline: Schema.optionalKey(Schema.Array(Schema.Record(Schema.String, Schema.Unknown))),
  full_document: Schema.optionalKey(Schema.Literals(["updateLookup", "whenAvailable", "required"])),
  batch_size: Schema.optionalKey(PositiveInt)
}).check(
  Schema.makeFilter((c) =>
    c.mode === "change_stream" && c.filter !== undefined
      ? { path: ["filter"], issue: "filter applies to mode: scan (a change stream takes a pipeline)" }
      : c.mode !== "change_stream" && (c.pipeline !== undefined || c.full_document !== undefined)
      ? { path: [c.pipeline !== undefined ? "pipeline" : "full_document"], issue: "applies to mode: change_stream" }
      : undefined
  )
)

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourceConfig = typeof SourceConfig.Type
