/**
 * The `mqtt` sink: publishes every record (MQTT 5) to one topic or to the topic in a field.
 *
 * - **Acknowledged before the checkpoint.** Writes do not wait for the broker; `flush`, which runs
 *   at every checkpoint barrier before the sink acknowledges it, waits until the broker
 *   acknowledged every message published so far (PUBACK with QoS 1, PUBCOMP with QoS 2). At most
 *   the broker's Receive Maximum (and never more than 10,000) messages wait for their
 *   acknowledgement: then `writeBatch` waits for the oldest (memory stays bounded with a slow
 *   broker, and the broker is never sent more than it takes).
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
import type * as Batch from "../../Batch.ts"
import { toArray } from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { type ConnectorError, RecordError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import { durationMillis } from "../../WorkflowGraph.ts"
import * as Codecs from "../kit/codecs/index.ts"
import { brokerOf, classify, CONNECT_TIMEOUT_MS, CONNECTOR, connect } from "./internal/client.ts"
import { publisher } from "./internal/publisher.ts"
import { type SinkConfig, SinkConfig as SinkConfigSchema } from "./MqttConfig.ts"

/** Messages published and not yet acknowledged before `writeBatch` waits. */
const MAX_UNACKNOWLEDGED = 10_000

const topicOf = (config: SinkConfig) => {
  const t = config.topic
  if (typeof t === "string") return (): string | RecordError => t
  return (record: unknown): string | RecordError => {
    const value = record !== null && typeof record === "object" ? (record as { readonly [k: string]: unknown })[t.field] : undefined
    return typeof value === "string" && value.length > 0 && !value.includes("+") && !value.includes("#")
      ? value
      : new RecordError({
        detail: `the topic field '${t.field}' is ${value === undefined ? "missing" : typeof value === "string" ? `not a topic name (${JSON.stringify(value)})` : `not a string (${typeof value})`}`,
        field: t.field,
        record
      })
  }
}

const timeoutOf = (config: SinkConfig) => (config.connect_timeout === undefined ? CONNECT_TIMEOUT_MS : durationMillis(config.connect_timeout))

const openWriter = Effect.fnUntraced(function*(
  config: SinkConfig
): Effect.fn.Return<Connector.SinkWriter<unknown>, ConnectorError, Scope.Scope> {
  const broker = brokerOf(config.url)
  const qos = config.qos ?? 1
  const retain = config.retain ?? false
  const codec = Codecs.byName(config.codec ?? "json")
  const topic = topicOf(config)
  let failure: ConnectorError | undefined
  const failed = (): ConnectorError | undefined => failure
  const shared = yield* publisher(config.url, config.client_id, timeoutOf(config))
  const client = shared.client
  // the connection is shared: this sink's listeners go with the sink
  const onError = (e: Error) => void (failure ??= classify("write", broker)(e))
  const onClose = () => void (failure ??= classify("write", broker)(new Error("the connection was closed")))
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
  let pending: Array<Promise<void>> = []
  const oldest = Effect.suspend(() => {
    const first = pending.shift()
    return first === undefined ? Effect.void : Effect.tryPromise({ try: () => first, catch: (e) => failed() ?? classify("publish", broker)(e) })
  })
  const room = Effect.promise(() => shared.room())
  const settle = Effect.suspend(() => {
    const all = pending
    pending = []
    return Effect.tryPromise({ try: () => Promise.all(all), catch: (e) => failed() ?? classify("publish", broker)(e) })
  })

  const writeBatch = (batch: Batch.Batch<unknown>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      const before = failed()
      if (before !== undefined) return yield* before
      const records = toArray(batch)
      let bytes = 0
      for (const record of records) {
        const to = topic(record)
        if (to instanceof RecordError) return yield* to
        const payload = codec.encode(record)
        if (Codecs.isEncodeError(payload)) return yield* payload.toRecordError()
        const body = Buffer.from(Codecs.toBytes(payload))
        bytes += body.byteLength
        if (qos === 0) {
          pending.push(new Promise<void>((resolve, reject) => client.publish(to, body, { qos, retain }, (e) => (e ? reject(e) : resolve()))))
        } else {
          // the other sinks' messages count too: wait for one of them if the window is full
          while (shared.inflight() >= window) yield* (pending.length > 0 ? oldest : room)
          pending.push(shared.publish(to, body, { qos, retain }))
        }
        while (pending.length >= limit) yield* oldest
      }
      return { written: records.length, bytes }
    })

  return { writeBatch, flush: settle }
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
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  check: (config) =>
    Effect.scoped(
      Effect.asVoid(connect(config.url, { clientId: `dataflare-check-${randomUUID().slice(0, 8)}`, clean: true }, timeoutOf(config), (c) => c.on("error", () => undefined), false))
    ),
  open: (config) => openWriter(config)
})

/**
 * A typed DSL spec of the `mqtt` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const spec = <A = unknown>(config: typeof SinkConfigSchema.Encoded): Spec.SinkSpec<A> => Spec.sink<A>(CONNECTOR, config)
