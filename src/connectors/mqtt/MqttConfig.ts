/**
 * The config Schemas of the MQTT connectors (`type: mqtt`, source and sink), MQTT 5. `url`
 * decodes to a `Redacted` value: write it as `"${MQTT_URL}"` when it holds a user and password
 * (`mqtt://user:password@host:1883`); it is never printed (errors name the host and port only).
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { PositiveDuration } from "../../WorkflowGraph.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * An `mqtt://`, `mqtts://`, `ws://` or `wss://` URL, kept `Redacted`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Url = Schema.RedactedFromValue(
  Schema.String.check(Schema.isPattern(/^(mqtts?|wss?|tcp|ssl):\/\//u, { message: "expected an mqtt://, mqtts://, ws:// or wss:// URL" })),
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
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = Schema.Struct({
  url: Url,
  topic: Schema.NonEmptyString,
  qos: Schema.optionalKey(Qos),
  client_id: Schema.NonEmptyString,
  session_expiry: Schema.optionalKey(PositiveDuration),
  receive_maximum: Schema.optionalKey(PositiveInt.check(Schema.isLessThanOrEqualTo(65535))),
  codec: Schema.optionalKey(Codec),
  connect_timeout: Schema.optionalKey(PositiveDuration)
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
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = Schema.Struct({
  url: Url,
  topic: Schema.Union([Schema.NonEmptyString, Schema.Struct({ field: Schema.NonEmptyString })]),
  qos: Schema.optionalKey(Qos),
  retain: Schema.optionalKey(Schema.Boolean),
  client_id: Schema.optionalKey(Schema.NonEmptyString),
  codec: Schema.optionalKey(Codec),
  connect_timeout: Schema.optionalKey(PositiveDuration)
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SinkConfig = typeof SinkConfig.Type
