/**
 * The `mqtt` sink: publishes every record (MQTT 5) to one topic or to the topic in a field.
 *
 * - **Acknowledged before the checkpoint.** Writes do not wait for the broker; `flush`, which runs
 *   at every checkpoint barrier before the sink acknowledges it, waits until the broker
 *   acknowledged every message published so far (PUBACK with QoS 1, PUBCOMP with QoS 2). At most
 *   the broker's Receive Maximum (and never more than 10,000) messages wait for their
 *   acknowledgement: then `writeBatch` waits for the oldest (memory stays bounded with a slow
 *   broker, and the broker is never sent more than it takes).
 * - **Refused records.** A record whose topic field is missing or not a topic name, one the codec
 *   cannot encode, one whose PUBLISH packet is larger than the broker's Maximum Packet Size (from
 *   its CONNACK: the broker would close the connection), and a message the broker refuses in its
 *   PUBACK / PUBREC (MQTT 5 reason codes about the message: not authorized, topic name invalid,
 *   quota exceeded, payload format invalid, ...) fail the run naming the record (`on_error:
 *   fail`) or go to the dead letters with the reason (`on_error: dead_letter`), before the
 *   checkpoint completes. A lost connection fails the run (its restart strategy decides).
 * - **Shared connection.** The sinks of a run on one URL (and `client_id`) publish on one
 *   connection (`internal/publisher.ts`, the kit's `Clients` pool) and share its window.
 * - **Guarantee: at-least-once** with QoS 1 and 2: after a crash the records written since the
 *   last completed checkpoint are published again (QoS 2 is exactly-once per publish, not across
 *   a replay). With QoS 0 nothing is acknowledged: **at most once**.
 *
 * @since 0.4.0
 */
import { randomUUID } from "node:crypto"
import { Effect, type Scope } from "effect"
import * as Connector from "../../Connector.ts"
import type { ConnectorError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as Codecs from "../kit/codecs/index.ts"
import { connectTimeoutMillis } from "../kit/ConnectTimeout.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as PublishLetters from "../kit/publishLetters.ts"
import { brokerOf, classify, CONNECTOR, connect } from "./internal/client.ts"
import { publisher } from "./internal/publisher.ts"
import { type SinkConfig, SinkConfig as SinkConfigSchema } from "./MqttConfig.ts"

/** Messages published and not yet acknowledged before `writeBatch` waits. */
const MAX_UNACKNOWLEDGED = 10_000

/** Why a topic name is not one (empty, or a wildcard), or `undefined`. */
const invalidTopic = (topic: string): string | undefined =>
  topic.length === 0 ? "empty" : topic.includes("+") || topic.includes("#") ? "wildcards (+, #) are for subscriptions" : undefined

/** Bytes of a PUBLISH packet without properties (MQTT 5): fixed header, topic, packet id, payload. */
export const packetBytes = (topic: string, payload: number, qos: 0 | 1 | 2): number => {
  const remaining = 2 + Buffer.byteLength(topic, "utf8") + (qos > 0 ? 2 : 0) + 1 + payload
  return 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining
}

/**
 * PUBACK / PUBREC reason codes about the message itself (MQTT 5): unspecified (0x80),
 * implementation specific (0x83: the broker refused it, e.g. a plugin), not authorized for its
 * topic (0x87), topic name invalid (0x90), quota exceeded (0x97), payload format invalid (0x99).
 */
const MESSAGE_CODES = new Set([0x80, 0x83, 0x87, 0x90, 0x97, 0x99])

const openWriter = Effect.fnUntraced(function*(
  config: SinkConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SinkWriter<unknown>, ConnectorError, Scope.Scope> {
  const broker = brokerOf(config.url)
  const qos = config.qos ?? 1
  const retain = config.retain ?? false
  const codec = Codecs.byName(config.codec ?? "json")
  const topic = PublishLetters.router(config.topic, "topic", invalidTopic)
  let failure: ConnectorError | undefined
  const failed = (): ConnectorError | undefined => failure
  const shared = yield* publisher(config.url, config.client_id, connectTimeoutMillis(config))
  const client = shared.client
  // a lost connection (or a packet the client cannot read: an invalid reason code) settles every
  // message still waiting for its acknowledgement, which would otherwise wait forever
  let breakAll: (e: unknown) => void = () => undefined
  const broken = new Promise<never>((_, reject) => (breakAll = reject))
  broken.catch(() => undefined)
  // the connection is shared: this sink's listeners go with the sink
  const onError = (e: Error) => {
    failure ??= classify("write", broker)(e)
    breakAll(e)
  }
  const onClose = () => {
    failure ??= classify("write", broker)(new Error("the connection was closed"))
    breakAll(new Error("the connection was closed"))
  }
  client.on("error", onError)
  client.on("close", onClose)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      client.off("error", onError)
      client.off("close", onClose)
    })
  )
  if (!client.connected) onClose()
  // never more unacknowledged than the broker takes (it refuses the excess: "quota exceeded"):
  // the window is the connection's, shared with the other sinks on it
  const window = Math.min(MAX_UNACKNOWLEDGED, shared.receiveMaximum)
  const limit = qos === 0 ? MAX_UNACKNOWLEDGED : window
  const refuse = PublishLetters.refuser({
    connector: CONNECTOR,
    context,
    config,
    ...(typeof config.topic === "string" ? { deadLetterContext: { topic: config.topic } } : {})
  })
  const unconfirmed = new PublishLetters.Unconfirmed(refuse, (e) => failed() ?? classify("publish", broker)(e))
  const room = Effect.promise(() => shared.room())
  /** The outcome of a publish: a PUBACK / PUBREC reason code about the message is its refusal. */
  const outcome = (to: string, published: Promise<void>): Promise<PublishLetters.Outcome> =>
    Promise.race([published, broken]).then(() => undefined, (e: unknown) => {
      const code = e !== null && typeof e === "object" && "code" in e ? e.code : undefined
      if (typeof code !== "number" || !MESSAGE_CODES.has(code)) throw e
      return { reason: `the broker refused the message on topic '${to}': ${e instanceof Error ? e.message : String(e)} (reason code ${code})`, fields: { topic: to, reason_code: code } }
    })

  const writeBatch = PublishLetters.publishEach({
    failed,
    refuse,
    message: (record) => {
      const m = PublishLetters.message(record, topic, codec)
      if (PublishLetters.isRefusal(m)) return m
      const { body: payload, to } = m
      // a packet over the broker's Maximum Packet Size would make it close the connection
      const size = packetBytes(to, payload.byteLength, qos)
      return size > shared.maximumPacketSize
        ? PublishLetters.oversize(record, size, { bytes: shared.maximumPacketSize, what: "the broker's maximum packet size" })
        : { to, body: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) }
    },
    publish: (record, { body, to }) =>
      Effect.gen(function*() {
        if (qos === 0) {
          yield* unconfirmed.add(record, outcome(to, new Promise<void>((resolve, reject) => client.publish(to, body, { qos, retain }, (e) => (e ? reject(e) : resolve())))))
        } else {
          // the other sinks' messages count too: wait for one of them if the window is full
          while (shared.inflight() >= window) yield* (unconfirmed.size > 0 ? unconfirmed.oldest : room)
          yield* unconfirmed.add(record, outcome(to, shared.publish(to, body, { qos, retain })))
        }
        while (unconfirmed.size >= limit) yield* unconfirmed.oldest
      })
  })

  // every message published so far acknowledged or refused (dead-lettered) before the checkpoint
  return { writeBatch, flush: unconfirmed.flush(CONNECTOR) }
})

/**
 * The `mqtt` sink definition.
 *
 * @example
 * ```yaml
 * destinations:
 *   alerts:
 *     type: mqtt
 *     inputs: [hot]
 *     config: { url: "${MQTT_URL}", topic: { field: device_topic }, qos: 1 }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const MqttSink: Connector.SinkDefinition<SinkConfig, unknown> = Connector.sink({
  type: CONNECTOR,
  description: "Publishes records to MQTT 5 topics (QoS 1/2: at-least-once; QoS 0: at most once)",
  config: SinkConfigSchema,
  capabilities: Capabilities.atLeastOnceSink,
  resources: (config) => ({ writes: [...DeadLetter.resources(config)] }),
  check: (config) =>
    Effect.scoped(
      Effect.asVoid(connect(config.url, { clientId: `dataflare-check-${randomUUID().slice(0, 8)}`, clean: true }, connectTimeoutMillis(config), (c) => c.on("error", () => undefined), false))
    ),
  open: (config, context) => openWriter(config, context)
})

/**
 * A typed DSL spec of the `mqtt` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfigSchema.Encoded): Spec.SinkSpec<A> => Spec.sink<A>(CONNECTOR, config)
