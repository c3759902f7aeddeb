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
  Schema.String.check(Schema.isPattern(/^mongodb(\+srv)?:\/\//u, { message: "expected a mongodb:// or mongodb+srv:// URL" })).annotate({
    description: "The deployment: a mongodb:// or mongodb+srv:// URL with credentials and options (kept redacted: never printed)"
  }),
  { label: "url" }
)

// Where both roles read or write.
const Location = {
  url: Url,
  database: Schema.NonEmptyString.annotate({ description: "The database to read or write" }),
  collection: Schema.NonEmptyString.annotate({ description: "The collection to read or write" })
} as const

/**
 * The write concern of the sink's writes: `w` (a number of members or `majority`), `j`
 * (journaled), `wtimeout`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const WriteConcern = Schema.Struct({
  w: Schema.optionalKey(Schema.Union([Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), Schema.Literal("majority")]).annotate({
    description: "How many members acknowledge a write: a number or majority (default: the server's)"
  })),
  j: Schema.optionalKey(Schema.Boolean.annotate({ description: "Acknowledge a write once it is journaled (default: the server's)" })),
  wtimeout: Schema.optionalKey(PositiveDuration).annotateKey({ description: "How long the write concern may take before the write fails as transient" })
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
  ...Location,
  mode: Schema.optionalKey(Schema.Literals(["insert", "upsert", "replace"]).annotate({
    description: "insert (insertOne); upsert (updateOne with $set of the record's fields); replace (replaceOne: the document becomes the record)",
    default: "insert"
  })),
  id_field: Schema.optionalKey(Schema.NonEmptyString.annotate({
    description: "The record field identifying the document; required by upsert and replace"
  })),
  id_key: Schema.optionalKey(Schema.Literals(["_id", "field"]).annotate({
    description: "_id: the id_field value becomes the document's _id; field: documents are matched on id_field itself (give it a unique index)",
    default: "_id"
  })),
  write_concern: Schema.optionalKey(WriteConcern.annotate({ description: "The write concern of the writes: { w, j, wtimeout } (default: the server's)" })),
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Operations per bulkWrite", default: 1000 })),
  ...Retry.RetryFields,
  ...DeadLetter.SinkErrorHandlingFields
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
  ...Location,
  mode: Schema.optionalKey(Schema.Literals(["scan", "change_stream"]).annotate({
    description: "scan: read the collection in _id order; change_stream: follow its changes (needs a replica set)",
    default: "scan"
  })),
  filter: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown).annotate({
    description: "scan only: a query document the documents must match"
  })),
  pipeline: Schema.optionalKey(Schema.Array(Schema.Record(Schema.String, Schema.Unknown)).annotate({
    description: "change_stream only: aggregation stages applied to the change events"
  })),
  full_document: Schema.optionalKey(Schema.Literals(["updateLookup", "whenAvailable", "required"]).annotate({
    description: "change_stream only: the document attached to update events (updateLookup: as it is now; whenAvailable/required: post-images)",
    default: "updateLookup"
  })),
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Documents (changes) per batch (default: execution.batch_size)" }))
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
