/**
 * The config Schemas of the RabbitMQ connectors (`type: rabbitmq`, source and sink). `url`
 * decodes to a `Redacted` value: write it as `"${RABBITMQ_URL}"` so the password comes from the
 * environment; it is never printed (errors name the host and port only).
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import * as ConnectTimeout from "../kit/ConnectTimeout.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as PublishLetters from "../kit/publishLetters.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * An `amqp://` or `amqps://` URL (with user and password), kept `Redacted`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Url = Schema.RedactedFromValue(
  Schema.String.check(Schema.isPattern(/^amqps?:\/\//u, { message: "expected an amqp:// or amqps:// URL" })).annotate({
    description: "The broker: amqp://user:password@host:5672/vhost (amqps:// too; kept redacted: never printed)"
  }),
  { label: "url" }
)

/**
 * How a message body becomes a record and back, with the kit's codecs (`kit/codecs`): `json` (one
 * JSON value per message, the default), `string` (the body as UTF-8 text) or `bytes` (the body as
 * a `Uint8Array`). One message is one record: the codecs of several records per payload (`ndjson`,
 * `csv`) are not offered, since a checkpoint between two records of one message could not be
 * acknowledged.
 *
 * @category schemas
 * @since 0.4.0
 */
export const Codec = Schema.Literals(["json", "string", "bytes"])


/**
 * Config of the `rabbitmq` source.
 *
 * - `url`: the broker (`amqp://user:password@host:5672/vhost`).
 * - `queue`: the queue to consume; it must exist (`dataflare check` says so when it does not).
 * - `prefetch`: the most messages delivered and not yet acknowledged (default 1000). Messages are
 *   acknowledged only when the checkpoint covering them completes, so this bounds both the
 *   source's memory and how many messages one checkpoint interval can read: give it at least
 *   the expected rate × `checkpoint_interval`.
 * - `codec`: see {@link Codec}.
 * - `connect_timeout`: how long connecting may take (default `10s`).
 * - `on_error`: `fail` (default: a body that does not decode fails the run, naming the message's
 *   delivery number and message id) or `dead_letter` (it is appended to `dead_letter.path` with
 *   the queue, delivery number, message id and routing key, and acknowledged with the next
 *   message handed on, once the checkpoint covering that one completed).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = DeadLetter.withErrorHandling({
  url: Url,
  queue: Schema.NonEmptyString.annotate({ description: "The queue to consume; it must exist" }),
  prefetch: Schema.optionalKey(PositiveInt.check(Schema.isLessThanOrEqualTo(65535)).annotate({
    description: "The most messages delivered and not yet acknowledged (acknowledged when their checkpoint completes): at least rate × checkpoint_interval",
    default: 1000
  })),
  codec: Schema.optionalKey(Codec.annotate({
    description: "json: one JSON value per message; string: the body as UTF-8 text; bytes: the body as a Uint8Array",
    default: "json"
  })),
  ...ConnectTimeout.ConnectTimeoutFields
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourceConfig = typeof SourceConfig.Type

/**
 * Config of the `rabbitmq` sink.
 *
 * - `url`: the broker.
 * - `exchange`: the exchange to publish to (`""`: the default exchange, which routes by queue
 *   name). It must exist.
 * - `routing_key`: the routing key of every message, or `{ field }`: the record's field holding it.
 * - `codec`: see {@link Codec} (`string` publishes records that are strings, `bytes` byte arrays).
 * - `persistent`: publish with delivery mode 2 (default true): the broker writes the messages of
 *   durable queues to disk before confirming them.
 * - `mandatory`: publish with the mandatory flag (default false): a message that no queue takes
 *   (unroutable) is returned by the broker and refused (`on_error`); each message then carries a
 *   `x-dataflare-publish` header, which matches a returned message with its record.
 * - `max_message_bytes`: the broker's `max_message_size` (default 128 MiB, RabbitMQ 3.x's; 16 MiB
 *   from 4.0): a larger message is refused before it is sent (the broker would close the channel).
 * - `connect_timeout`: how long connecting may take (default `10s`).
 * - `on_error`, `dead_letter` ({@link DeadLetter.withSinkErrorHandling}): for a record whose
 *   routing-key field is missing, one the codec cannot encode or over `max_message_bytes`, and a
 *   message the broker nacks (a full queue with `x-overflow: reject-publish`) or returns
 *   (`mandatory`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = DeadLetter.withSinkErrorHandling({
  url: Url,
  exchange: Schema.String.annotate({ description: "The exchange to publish to (\"\": the default exchange, routing by queue name); it must exist" }),
  routing_key: PublishLetters.Route(Schema.String, "routing key", "The routing key of every message, or { field }: the record's field holding it"),
  codec: Schema.optionalKey(Codec.annotate({
    description: "json: each record as JSON; string: records that are strings, as UTF-8; bytes: records that are byte arrays",
    default: "json"
  })),
  persistent: Schema.optionalKey(Schema.Boolean.annotate({
    description: "Publish with delivery mode 2: the broker writes the messages of durable queues to disk before confirming them",
    default: true
  })),
  mandatory: Schema.optionalKey(Schema.Boolean.annotate({
    description: "Publish with the mandatory flag: a message no queue is bound to take is returned by the broker, and refused like a nacked one (on_error)",
    default: false
  })),
  max_message_bytes: Schema.optionalKey(PositiveInt.annotate({
    description: "The broker's max_message_size: a larger message is refused (on_error) before it is sent — the broker would close the channel",
    default: 134217728
  })),
  ...ConnectTimeout.ConnectTimeoutFields
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SinkConfig = typeof SinkConfig.Type
