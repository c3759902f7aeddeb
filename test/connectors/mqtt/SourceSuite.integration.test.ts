/**
 * The `mqtt` source through the shared source conformance suite, as an unbounded source, with
 * QoS 1 and 2: a persistent session of its own per case (subscribed, then given 60 messages); the
 * same records whatever the batch size, a new reader seeking to any batch's position continues
 * exactly there (the DUP redeliveries the position covers are dropped), nothing after the last
 * message, a reader opened after a commit goes on after it (acknowledged), and an unreachable
 * broker fails with a tagged error.
 */
import { Effect, Redacted } from "effect"
import type { SourceConfig } from "../../../src/connectors/mqtt/MqttConfig.ts"
import { MqttSource } from "../../../src/connectors/mqtt/MqttSource.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { numbered, payloads } from "../brokers/reading.ts"
import { publish, sessionId, unique, url } from "./support.ts"

const ctx = { node: "readings", batchSize: 100, instance: 0, parallelism: 1 }
const N = 60
/** The messages of the backpressure case (below Mosquitto's max_queued_messages, 1000). */
const BACKPRESSURE_N = 300

/** A persistent session of its own, subscribed, then given `count` messages. */
const subscribed = (qos: 1 | 2, count = N, window: Partial<SourceConfig> = {}) =>
  Effect.gen(function*() {
    const topic = unique(`brokers_mqtt_suite${qos}`)
    const config: SourceConfig = { url, topic, qos, client_id: yield* sessionId(`brokers_mqtt_suite${qos}`), ...window }
    // the session and its subscription exist before the messages are published
    yield* Effect.scoped(Effect.flatMap(MqttSource.open(config, ctx), (r) => r.readBatch(1)))
    yield* publish(topic, payloads(1, count), qos)
    return { open: MqttSource.open(config, ctx), expected: numbered(1, count) }
  })

for (const qos of [1, 2] as const) {
  sourceSuite(
    `mqtt source conformance, QoS ${qos}`,
    subscribed(qos),
    {
      batchSizes: [1, 7, 1000],
      seekTargets: 6,
      unbounded: { idleMs: 1500, acknowledges: true, batchMarks: true },
      misconfigured: MqttSource.open({ url: Redacted.make("mqtt://127.0.0.1:1"), topic: "t", client_id: "brokers_unreachable", connect_timeout: "2s" }, ctx),
      // a window of 20 for 300 messages, queued by the broker while the session was away: Mosquitto
      // 2.0.11 resends such a queue past the window; the source takes no message while its buffer
      // (the window and one) is full, and the broker is held back by TCP
      backpressure: { source: subscribed(qos, BACKPRESSURE_N, { receive_maximum: 20 }) },
      timeout: 120_000
    }
  )
}
