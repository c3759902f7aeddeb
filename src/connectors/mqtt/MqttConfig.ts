/**
 * The config Schemas of the MQTT connectors (`type: mqtt`, source and sink), MQTT 5. `url`
 * decodes to a `Redacted` value: write it as `"${MQTT_URL}"` when it holds a user and password
 * (`mqtt://user:password@host:1883`); it is never printed (errors name the host and port only).
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { PositiveDuration } from "../../WorkflowGraph.ts"
import * as ConnectTimeout from "../kit/ConnectTimeout.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as PublishLetters from "../kit/publishLetters.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * An `mqtt://`, `mqtts://`, `ws://` or `wss://` URL, kept `Redacted`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Url = Schema.RedactedFromValue(
  Schema.String.check(Schema.isPattern(/^(mqtts?|wss?|tcp|ssl):\/\//u, { message: "expected an mqtt://, mqtts://, ws:// or wss:// URL" })).annotate({
    description: "The broker: mqtt://[user:password@]host:1883 (mqtts://, ws://, wss:// too; kept redacted: never printed)"
  }),
  { label: "url" }
)

/**
 * The MQTT quality of service: 0 (at most once), 1 (at least once), 2 (exactly once between two
 * MQTT peers).
 *
 * @category schemas
 * @since 0.4.0
 */
export const Qos = Schema.Literals([0, 1, 2])

/**
 * How a payload becomes a record and back, with the kit's codecs: `json` (the default),
 * `string`, `bytes`. One message is one record.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Codec = Schema.Literals(["json", "string", "bytes"])

const CodecKey = Schema.optionalKey(Codec.annotate({
  description: "json: one JSON value per message; string: the payload as UTF-8 text (a string record); bytes: the payload as a Uint8Array record",
  default: "json"
}))

/**
 * Config of the `mqtt` source.
 *
 * - `url`: the broker.
 * - `topic`: the topic filter to subscribe to (`+` and `#` wildcards allowed).
 * - `qos`: the subscription's QoS (default 1). With 1 and 2 the source acknowledges a message
 *   (PUBACK, PUBREC) only when the checkpoint covering it completed; with 0 the broker sends each
 *   message once and forgets it: **at most once**, a crash loses what was not yet written.
 * - `client_id`: the client id of the persistent session (required): the broker keeps the
 *   subscription and the messages not acknowledged while the workflow is down, for
 *   `session_expiry`. Give each workflow its own.
 * - `session_expiry`: how long the broker keeps the session after a disconnect (default `1h`; at
 *   most 4294967 s). A run resumed after it expired is refused (messages were lost).
 * - `receive_maximum`: the most messages the broker sends without acknowledgement (default 1000,
 *   at most 65535): it bounds the source's memory and how much one checkpoint interval can read.
 * - `codec`: see {@link Codec}.
 * - `connect_timeout`: how long connecting may take (default `10s`).
 * - `on_error`: `fail` (default: a payload that does not decode fails the run, naming the
 *   message's delivery number, packet id and topic) or `dead_letter` (it is appended to
 *   `dead_letter.path` with the topic, delivery number and packet id, and acknowledged with the
 *   next message handed on, once the checkpoint covering that one completed).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = DeadLetter.withErrorHandling({
  url: Url,
  topic: Schema.NonEmptyString.annotate({ description: "The topic filter to subscribe to (+ and # wildcards allowed)" }),
  qos: Schema.optionalKey(Qos.annotate({
    description: "The subscription's QoS: 1 and 2 acknowledge a message when its checkpoint completed; 0 is at most once (a crash loses what was not written)",
    default: 1
  })),
  client_id: Schema.NonEmptyString.annotate({
    description: "The client id of the persistent session: the broker keeps the subscription and unacknowledged messages while the workflow is down (give each workflow its own)"
  }),
  session_expiry: Schema.optionalKey(PositiveDuration).annotateKey({
    description: "How long the broker keeps the session after a disconnect (at most 4294967s); a run resumed after it expired is refused",
    default: "1h"
  }),
  receive_maximum: Schema.optionalKey(PositiveInt.check(Schema.isLessThanOrEqualTo(65535)).annotate({
    description: "The most messages the broker sends without acknowledgement: bounds memory and what one checkpoint interval can read",
    default: 1000
  })),
  codec: CodecKey,
  ...ConnectTimeout.ConnectTimeoutFields
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourceConfig = typeof SourceConfig.Type

/**
 * Config of the `mqtt` sink.
 *
 * - `url`: the broker.
 * - `topic`: the topic of every message, or `{ field }`: the record's field holding it.
 * - `qos`: 0, 1 (default) or 2. With 1 and 2, `flush` (at every checkpoint) waits until the
 *   broker acknowledged every message published so far.
 * - `retain`: publish retained messages (default false).
 * - `client_id`: the client id (default: a random one).
 * - `codec`: see {@link Codec}.
 * - `connect_timeout`: how long connecting may take (default `10s`).
 * - `on_error`, `dead_letter` ({@link DeadLetter.withSinkErrorHandling}): for a record whose
 *   topic field is missing or not a topic name, one the codec cannot encode, one over the broker's
 *   maximum packet size, and a message the broker refuses in its PUBACK.
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = DeadLetter.withSinkErrorHandling({
  url: Url,
  topic: PublishLetters.Route(
    Schema.NonEmptyString,
    "topic",
    "The topic of every message (a topic name: no wildcards), or { field }: the record's field holding it"
  ),
  qos: Schema.optionalKey(Qos.annotate({
    description: "0, 1 or 2; with 1 and 2 each checkpoint waits until the broker acknowledged every message published so far",
    default: 1
  })),
  retain: Schema.optionalKey(Schema.Boolean.annotate({ description: "Publish retained messages", default: false })),
  client_id: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "The publisher's client id, on a clean session (default: a random one)" })),
  codec: CodecKey,
  ...ConnectTimeout.ConnectTimeoutFields
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SinkConfig = typeof SinkConfig.Type
