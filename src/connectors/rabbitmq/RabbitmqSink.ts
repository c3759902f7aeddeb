/**
 * The `rabbitmq` sink: publishes every record to an exchange on a confirm channel.
 *
 * - **Publisher confirms before the checkpoint.** Writes do not wait for the broker (amqplib's
 *   write buffer is the only wait: a full socket makes `writeBatch` wait for `drain`, and more
 *   than 10,000 unconfirmed messages make it wait for the oldest); `flush`, which runs at every
 *   checkpoint barrier before the sink acknowledges it, waits until the broker confirmed every
 *   message published so far — or refused it: a `nack` (a full queue with `x-overflow:
 *   reject-publish`), or, with `mandatory: true`, a message returned as unroutable. A refused
 *   message fails the run naming its record (`on_error: fail`: the checkpoint never completes, so
 *   the source does not acknowledge the records behind it) or goes to the dead letters with the
 *   reason before the checkpoint completes (`on_error: dead_letter`). So do a record whose
 *   routing-key field is missing and one the codec cannot encode (they are not published).
 * - **Guarantee: at-least-once.** After a crash the records written since the last completed
 *   checkpoint are published again; RabbitMQ has no de-duplication of its own. Consumers that
 *   must see each record once de-duplicate by a key of the record.
 * - **Routing**: `routing_key` is either one key, or `{ field }`: the record's field (a string)
 *   holding it; a record without it is refused (see above).
 *
 * @since 0.4.0
 */
import type amqp from "amqplib"
import { Effect, type Scope } from "effect"
import * as Connector from "../../Connector.ts"
import type { ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as Codecs from "../kit/codecs/index.ts"
import { connectTimeoutMillis } from "../kit/ConnectTimeout.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as PublishLetters from "../kit/publishLetters.ts"
import { brokerOf, checkWith, classify, CONNECTOR, connection } from "./internal/client.ts"
import { type SinkConfig, SinkConfig as SinkConfigSchema } from "./RabbitmqConfig.ts"

/** The header matching a message the broker returns (`mandatory`) with its record. */
const PUBLISH_HEADER = "x-dataflare-publish"
/** RabbitMQ's default `max_message_size` (3.8 to 3.13; 4.0 lowered it to 16 MiB). */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024
/** Messages waiting for their confirmation before `writeBatch` waits for the oldest. */
const MAX_UNCONFIRMED = 10_000

const openWriter = Effect.fnUntraced(function*(
  config: SinkConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SinkWriter<unknown>, ConnectorError, Scope.Scope> {
  const broker = brokerOf(config.url)
  const codec = Codecs.byName(config.codec ?? "json")
  const persistent = config.persistent ?? true
  const mandatory = config.mandatory ?? false
  // the broker closes the channel on a message over its max_message_size: refuse it before
  const limit = { bytes: config.max_message_bytes ?? MAX_MESSAGE_BYTES, what: "max_message_bytes (the broker's max_message_size)" }
  const routingKey = PublishLetters.router(config.routing_key, "routing key")
  const conn = yield* connection(config.url, connectTimeoutMillis(config))
  const channel: amqp.ConfirmChannel = yield* Effect.tryPromise({ try: () => conn.createConfirmChannel(), catch: classify("open", broker) })
  let failure: ConnectorError | undefined
  channel.on("error", (e: unknown) => void (failure ??= classify("write", broker)(e)))
  channel.on("close", () => void (failure ??= classify("write", broker)(new Error("the channel was closed"))))
  // a returned message comes before the confirmation of its publish (AMQP 0-9-1 confirms)
  const returned = new Map<string, { readonly replyCode: number; readonly replyText: string }>()
  channel.on("return", (message: amqp.Message) => {
    const tag = message.properties.headers?.[PUBLISH_HEADER]
    // a basic.return's fields: replyCode, replyText, exchange, routingKey
    const fields: object = message.fields
    const code = "replyCode" in fields ? Number(fields.replyCode) : 0
    const text = "replyText" in fields ? String(fields.replyText) : "returned"
    if (typeof tag === "string") returned.set(tag, { replyCode: code, replyText: text })
  })
  yield* Effect.addFinalizer(() => Effect.promise(() => channel.close().catch(() => undefined)))
  if (config.exchange !== "") {
    yield* Effect.tryPromise({ try: () => channel.checkExchange(config.exchange), catch: classify("open", broker) })
  }
  // set by the channel's events, read between writes
  const failed = (): ConnectorError | undefined => failure
  const drained = () => new Promise<void>((resolve) => channel.once("drain", () => resolve()))
  const refuse = PublishLetters.refuser({ connector: CONNECTOR, context, config, deadLetterContext: { exchange: config.exchange } })
  const unconfirmed = new PublishLetters.Unconfirmed(refuse, (e) =>
    failure ?? classify("flush", broker)(e))
  let sequence = 0
  const tagPrefix = `${context.node}:${context.instance}:`

  /** Publishes one message; its outcome: confirmed, or refused (nacked, returned). */
  const publish = (key: string, body: Uint8Array): Promise<PublishLetters.Outcome> => {
    const tag = mandatory ? `${tagPrefix}${sequence++}` : undefined
    return new Promise<PublishLetters.Outcome>((resolve, reject) => {
      const ok = channel.publish(config.exchange, key, Buffer.from(body.buffer, body.byteOffset, body.byteLength), {
        persistent,
        contentType: codec.contentType,
        ...(tag !== undefined ? { mandatory: true, headers: { [PUBLISH_HEADER]: tag } } : {})
      }, (err: unknown) => {
        const back = tag === undefined ? undefined : returned.get(tag)
        if (tag !== undefined) returned.delete(tag)
        if (err === null || err === undefined) {
          resolve(back === undefined ? undefined : {
            reason: `the broker returned the message: no queue takes routing key '${key}' on exchange '${config.exchange}' (${back.replyCode} ${back.replyText})`,
            fields: { routing_key: key, reply_code: back.replyCode }
          })
        } else if (err instanceof Error && err.message === "message nacked") {
          resolve({ reason: `the broker refused the message (nack), e.g. a full queue with x-overflow: reject-publish (routing key '${key}')`, fields: { routing_key: key } })
        } else reject(err)
      })
      if (!ok) drain = true
    })
  }
  let drain = false

  const writeBatch = PublishLetters.publishEach({
    failed,
    refuse,
    message: (record) => PublishLetters.message(record, routingKey, codec, limit),
    publish: (record, { body, to: key }) =>
      Effect.gen(function*() {
        yield* unconfirmed.add(record, publish(key, body))
        if (drain) {
          drain = false
          yield* Effect.promise(drained)
        }
        const during = failed()
        if (during !== undefined) return yield* during
        while (unconfirmed.size > MAX_UNCONFIRMED) yield* unconfirmed.oldest
      })
  })

  // every message published so far confirmed or refused (dead-lettered) before the checkpoint
  return { writeBatch, flush: unconfirmed.flush(CONNECTOR) }
})

/**
 * The `rabbitmq` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   out:
 *     type: rabbitmq
 *     inputs: [orders]
 *     config: { url: "${RABBITMQ_URL}", exchange: orders, routing_key: { field: region } }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const RabbitmqSink: Connector.SinkDefinition<SinkConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Publishes records to a RabbitMQ exchange with publisher confirms (at-least-once)",
  config: SinkConfigSchema,
  capabilities: Capabilities.atLeastOnceSink,
  resources: (config) => ({
    writes: [{ kind: "rabbitmq-exchange", name: `${brokerOf(config.url)} ${config.exchange === "" ? "(default exchange)" : config.exchange}`, key: ["exchange"], shared: true }, ...DeadLetter.resources(config)]
  }),
  check: (config) =>
    checkWith(config.url, connectTimeoutMillis(config), (channel) =>
      config.exchange === "" ? undefined : channel.checkExchange(config.exchange)),
  open: (config, context) => openWriter(config, context)
})

/**
 * A typed DSL spec of the `rabbitmq` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfigSchema.Encoded): Spec.SinkSpec<A> => Spec.sink<A>(CONNECTOR, config)
