/**
 * The config Schemas of the `nats` source and sink (NATS JetStream). Keys keep their YAML
 * spelling. `password` and `token` decode to `Redacted` values (write them as `"${NATS_PASSWORD}"`
 * to take them from the environment): never printed, in messages, logs or `plan`.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { durationMillis as millis, PositiveDuration } from "../../WorkflowGraph.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * How message payloads and records map onto each other: `json` — the payload is JSON (an object
 * is the record; any other value is `{ data: value }`); `string` — the record is
 * `{ subject, data }` with the payload as UTF-8 text (a sink writes `data`, or the record as JSON
 * when it has no string `data`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const Codec = Schema.Literals(["json", "string"])

const Connection = {
  servers: Schema.Union([Schema.NonEmptyString, Schema.Array(Schema.NonEmptyString)]),
  user: Schema.optionalKey(Schema.NonEmptyString),
  password: Schema.optionalKey(Schema.RedactedFromValue(Schema.String, { label: "password" })),
  token: Schema.optionalKey(Schema.RedactedFromValue(Schema.String, { label: "token" }))
}

/**
 * Config of the `nats` source: a durable JetStream pull consumer.
 *
 * - `servers` (`host:port` or a list), `user` + `password` or `token`.
 * - `stream`, `consumer` (the durable name), `subject` (filter; default all of the stream).
 * - `deliver`: where a consumer created the first time starts, `all` (default) or `new`.
 * - `batch_size`: messages per pull (default 1000).
 * - `ack_wait`: how long the server waits for an acknowledgement before redelivering (default
 *   `5m`; make it longer than a checkpoint takes).
 * - `codec`: `json` (default) or `string`.
 * - `buffer_size`: messages read ahead (default 10 × `batch_size`); `max_in_flight`: read and not
 *   acknowledged (default 100,000; the consumer's `max_ack_pending`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = Schema.Struct({
  ...Connection,
  stream: Schema.NonEmptyString,
  consumer: Schema.NonEmptyString,
  subject: Schema.optionalKey(Schema.NonEmptyString),
  deliver: Schema.optionalKey(Schema.Literals(["all", "new"])),
  batch_size: Schema.optionalKey(PositiveInt),
  ack_wait: Schema.optionalKey(PositiveDuration),
  codec: Schema.optionalKey(Codec),
  buffer_size: Schema.optionalKey(PositiveInt),
  max_in_flight: Schema.optionalKey(PositiveInt)
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourceConfig = typeof SourceConfig.Type

/**
 * Config of the `nats` sink: publishes to `subject` (a JetStream stream must capture it) and
 * waits for the server's acknowledgement of every message; each message carries a `Nats-Msg-Id`
 * derived from its place after the last checkpoint, so the server drops what a replay after a
 * restore publishes again (within the stream's `duplicate_window`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = Schema.Struct({
  ...Connection,
  subject: Schema.NonEmptyString,
  codec: Schema.optionalKey(Codec)
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
