/**
 * The config Schemas of the `redis-streams` source and sink. Keys keep their YAML spelling.
 * `url` decodes to a `Redacted` value (write `url: "${REDIS_URL}"` to take it, password included,
 * from the environment): it is never printed, in messages, logs or `plan`.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { durationMillis as millis, PositiveDuration } from "../../WorkflowGraph.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as Retry from "../kit/Retry.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

const Url = Schema.RedactedFromValue(
  Schema.String.annotate({ description: "redis://[user:password@]host:port[/db] (kept redacted: never printed)" }),
  { label: "url" }
)
const FieldName = Schema.NonEmptyString.annotate({ description: "With codec: json, the entry field holding the record's JSON", default: "data" })

/**
 * How entries and records map onto each other: `fields` — a record is the entry's flat map of
 * fields (values are strings; a sink writes strings as they are, other values as JSON); `json` —
 * the record is the JSON value of one field (`field`, default `data`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const Codec = Schema.Literals(["fields", "json"])

/**
 * Config of the `redis-streams` source.
 *
 * - `url` (`redis://[user:password@]host:port[/db]`), `stream`, `group`, `consumer`.
 * - `start`: where a group created by the source starts: `"0"` (the whole stream, the default)
 *   or `"$"` (only entries added from now on). An existing group keeps its own position.
 * - `batch_size`: entries per `XREADGROUP` (default 1000).
 * - `block`: how long one `XREADGROUP` waits for entries (default `100ms`).
 * - `claim_idle`: a consumer of the group idle this long is dead: its pending entries are claimed
 *   (default `60s`).
 * - `codec`: `fields` (default) or `json`, with `field`.
 * - `id_field`: put each entry's id into the record under this name.
 * - `buffer_size`: entries read ahead before reading pauses (default 10 × `batch_size`).
 * - `max_in_flight`: entries read and not yet acknowledged after a checkpoint before reading
 *   pauses until a checkpoint completes (default 1,000,000).
 * - `on_error`: `fail` (default: an entry that does not decode fails the run, naming it) or
 *   `dead_letter` (it is appended to `dead_letter.path` with its id and the reason, and
 *   acknowledged with the next entry handed on, once the checkpoint covering that one completed).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = DeadLetter.withErrorHandling({
  url: Url,
  stream: Schema.NonEmptyString.annotate({ description: "The stream to read" }),
  group: Schema.NonEmptyString.annotate({ description: "The consumer group (created when missing, at the start position)" }),
  consumer: Schema.NonEmptyString.annotate({ description: "This reader's consumer name in the group" }),
  start: Schema.optionalKey(Schema.Literals(["0", "$"]).annotate({
    description: "Where a group the source creates starts: 0 (the whole stream) or $ (entries added from now on); an existing group keeps its position",
    default: "0"
  })),
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Entries per XREADGROUP", default: 1000 })),
  block: Schema.optionalKey(PositiveDuration).annotateKey({ description: "How long one XREADGROUP waits for entries", default: "100ms" }),
  claim_idle: Schema.optionalKey(PositiveDuration).annotateKey({
    description: "A consumer of the group idle this long is dead: its pending entries are claimed",
    default: "60s"
  }),
  codec: Schema.optionalKey(Codec.annotate({
    description: "fields: the record is the entry's flat map of fields; json: the record is the JSON of one field (field)",
    default: "fields"
  })),
  field: Schema.optionalKey(FieldName),
  id_field: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "Put each entry's id into the record under this name" })),
  buffer_size: Schema.optionalKey(PositiveInt.annotate({ description: "Entries read ahead before reading pauses (default: 10 × batch_size)" })),
  max_in_flight: Schema.optionalKey(PositiveInt.annotate({
    description: "Entries read and not yet acknowledged before reading pauses until a checkpoint completes",
    default: 1000000
  }))
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourceConfig = typeof SourceConfig.Type

/**
 * Config of the `redis-streams` sink.
 *
 * - `url`, `stream`.
 * - `maxlen`: trim the stream to about this many entries as it is written (`XADD MAXLEN ~`).
 * - `codec`: `fields` (default: each top-level key a field; strings as they are, other values
 *   as JSON) or `json` (the whole record as JSON in `field`, default `data`).
 * - `retry`: `{ attempts, delay, max_delay }` for a batch whose write failed on a lost connection
 *   or a busy server (the kit's retries; a new connection is made before each).
 * - `on_error`, `dead_letter`: a record the server will never take (one the codec cannot encode,
 *   one longer than the server's `proto-max-bulk-len`) fails the run or is set aside, as the
 *   kit's {@link DeadLetter.withSinkErrorHandling} says.
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = DeadLetter.withSinkErrorHandling({
  url: Url,
  stream: Schema.NonEmptyString.annotate({ description: "The stream to append to" }),
  maxlen: Schema.optionalKey(PositiveInt.annotate({ description: "Trim the stream to about this many entries as it is written (XADD MAXLEN ~; default: no trimming)" })),
  codec: Schema.optionalKey(Codec.annotate({
    description: "fields: each top-level key a field (strings as they are, other values as JSON); json: the whole record as JSON in field",
    default: "fields"
  })),
  field: Schema.optionalKey(FieldName),
  ...Retry.RetryFields
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SinkConfig = typeof SinkConfig.Type

/**
 * Milliseconds of a duration of these configs.
 *
 * @category getters
 * @since 0.4.0
 */
export const durationMillis: (d: typeof PositiveDuration.Type) => number = millis
