/**
 * The config Schemas of the `nats` source and sink (NATS JetStream). Keys keep their YAML
 * spelling. `password` and `token` decode to `Redacted` values (write them as `"${NATS_PASSWORD}"`
 * to take them from the environment): never printed, in messages, logs or `plan`.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { durationMillis as millis, PositiveDuration } from "../../WorkflowGraph.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as Retry from "../kit/Retry.ts"

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
  servers: Schema.Union([Schema.NonEmptyString, Schema.Array(Schema.NonEmptyString)]).annotate({
    description: "The server (host:port) or a list of servers"
  }),
  user: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "The user, with password" })),
  password: Schema.optionalKey(Schema.RedactedFromValue(
    Schema.String.annotate({ description: "The user's password (take it from the environment; kept redacted: never printed)" }),
    { label: "password" }
  )),
  token: Schema.optionalKey(Schema.RedactedFromValue(
    Schema.String.annotate({ description: "An authentication token, instead of user and password (kept redacted: never printed)" }),
    { label: "token" }
  ))
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
 * - `on_error`: `fail` (default: a payload that does not decode fails the run, naming the
 *   message) or `dead_letter` (it is appended to `dead_letter.path` with its sequence and the
 *   reason, and acknowledged with the messages after it).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = DeadLetter.withErrorHandling({
  ...Connection,
  stream: Schema.NonEmptyString.annotate({ description: "The JetStream stream to read" }),
  consumer: Schema.NonEmptyString.annotate({ description: "The durable consumer's name (recreated when the source opens)" }),
  subject: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "Read only this subject (filter; default: all of the stream)" })),
  deliver: Schema.optionalKey(Schema.Literals(["all", "new"]).annotate({
    description: "Where a consumer created the first time starts: all (the whole stream) or new (messages from now on)",
    default: "all"
  })),
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Messages per pull", default: 1000 })),
  ack_wait: Schema.optionalKey(PositiveDuration).annotateKey({
    description: "How long the server waits for an acknowledgement before redelivering (longer than a checkpoint takes)",
    default: "5m"
  }),
  codec: Schema.optionalKey(Codec.annotate({
    description: "json: the payload is JSON (an object is the record, another value { data }); string: the record is { subject, data } with the payload as text",
    default: "json"
  })),
  buffer_size: Schema.optionalKey(PositiveInt.annotate({ description: "Messages read ahead (default: 10 × batch_size)" })),
  max_in_flight: Schema.optionalKey(PositiveInt.annotate({
    description: "Messages read and not yet acknowledged (the consumer's max_ack_pending)",
    default: 100000
  }))
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
 * restore publishes again (within the stream's `duplicate_window`). `retry`: `{ attempts, delay,
 * max_delay }` for a batch whose publish failed on a lost connection or a timeout (the kit's
 * retries; the messages keep their ids, so what was published before the failure is dropped).
 *
 * - `on_error`, `dead_letter` (the kit's {@link DeadLetter.withSinkErrorHandling}) decide what
 *   becomes of a record the server will never take: one the codec cannot encode, one over the
 *   server's `max_payload`, one the stream refuses (its `max_msg_size`, a full stream with
 *   `discard: new`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = DeadLetter.withSinkErrorHandling({
  ...Connection,
  subject: Schema.NonEmptyString.annotate({ description: "The subject to publish to (a JetStream stream must capture it)" }),
  codec: Schema.optionalKey(Codec.annotate({
    description: "json: the record as JSON; string: the record's string data as text (the record as JSON when it has none)",
    default: "json"
  })),
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
