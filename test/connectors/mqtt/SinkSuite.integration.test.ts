/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the mqtt sink against the local
 * Mosquitto, QoS 1: each case publishes to a topic of its own, read by a subscriber started with
 * the case (reading waits until no message arrived for half a second). At-least-once.
 */
import { Effect, Schema } from "effect"
import type * as Connector from "../../../src/Connector.ts"
import { MqttSink } from "../../../src/connectors/mqtt/MqttSink.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { collect, unique, URL } from "./support.ts"

/** The payloads received, once none arrived for `quiet` ms. */
const settled = (received: ReadonlyArray<string>, quiet = 500) =>
  Effect.gen(function*() {
    let seen = -1
    while (seen !== received.length) {
      seen = received.length
      yield* Effect.sleep(quiet)
    }
    return received.map((p) => JSON.parse(p) as unknown)
  })

sinkSuite(
  "mqtt sink",
  Effect.gen(function*() {
    const topic = unique("df-mqtt-suite")
    const sub = yield* collect(topic)
    const config = { url: URL, topic, qos: 1 }
    return {
      open: Effect.flatMap(Schema.decodeUnknownEffect(MqttSink.config)(config).pipe(Effect.orDie), (c) =>
        MqttSink.open(c, { node: "sink", batchSize: 100, instance: 0, parallelism: 1 })),
      read: settled(sub.received),
      guarantee: "at-least-once" as const,
      workflow: {
        definition: MqttSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
        config,
        badConfigs: [
          { url: URL },
          { ...config, qos: 3 },
          { ...config, url: "amqp://127.0.0.1" },
          { ...config, topic: { name: "x" } }
        ]
      }
    }
  })
)
