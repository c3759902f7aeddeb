/**
 * The config Schemas of the `redis-streams` source and sink. Keys keep their YAML spelling.
 * `url` decodes to a `Redacted` value (write `url: "${REDIS_URL}"` to take it, password included,
 * from the environment): it is never printed, in messages, logs or `plan`.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { durationMillis as millis, PositiveDuration } from "../../WorkflowGraph.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

const Url = Schema.RedactedFromValue(Schema.String, { label: "url" })

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
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = Schema.Struct({
  url: Url,
  stream: Schema.NonEmptyString,
  group: Schema.NonEmptyString,
  consumer: Schema.NonEmptyString,
  start: Schema.optionalKey(Schema.Literals(["0", "$"])),
  batch_size: Schema.optionalKey(PositiveInt),
  block: Schema.optionalKey(PositiveDuration),
  claim_idle: Schema.optionalKey(PositiveDuration),
  codec: Schema.optionalKey(Codec),
  field: Schema.optionalKey(Schema.NonEmptyString),
  id_field: Schema.optionalKey(Schema.NonEmptyString),
  buffer_size: Schema.optionalKey(PositiveInt),
  max_in_flight: Schema.optionalKey(PositiveInt)
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
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = Schema.Struct({
  url: Url,
  stream: Schema.NonEmptyString,
  maxlen: Schema.optionalKey(PositiveInt),
  codec: Schema.optionalKey(Codec),
  field: Schema.optionalKey(Schema.NonEmptyString)
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
