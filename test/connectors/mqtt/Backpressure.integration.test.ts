/**
 * Backpressure through a run: an `mqtt` source (QoS 1, receive_maximum 20) feeding a sink that
 * takes 20 ms per batch of 50, while 2,000 messages are published. The pipeline is slower than
 * the publisher: the broker holds what the window does not take (PUBACKs wait for checkpoints,
 * so nothing is lost when the sink lags), the run does not stall with the window full, and every
 * message is written once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { MqttSource } from "../../../src/connectors/mqtt/MqttSource.ts"
import type * as Registry from "../../../src/Registry.ts"
import { slowRun } from "../brokers/slowRun.ts"
import { publish, sessionId, unique, URL } from "./support.ts"

// Mosquitto queues at most 1000 messages per session (max_queued_messages, the window included)
// and silently drops the rest: a burst larger than that is lost at the broker, whatever the client
// does (docs/connectors/mqtt.md). The burst stays below.
const TOTAL = 900

describe("mqtt source: backpressure", () => {
  it.live("a slow sink: every message arrives once, the window never stalls the run", () =>
    Effect.gen(function*() {
      const topic = unique("df-mqtt-slow")
      const clientId = yield* sessionId("df-mqtt-slow")
      const { written, batches, stop } = yield* slowRun({
        definition: MqttSource as Registry.Definition,
        id: "readings",
        type: "mqtt",
        config: { url: URL, topic, qos: 1, client_id: clientId, receive_maximum: 20 }
      })
      // the first checkpoint needs a read, and a read subscribes: then publish
      while (batches() === 0 && written.length === 0) {
        yield* publish(topic, [JSON.stringify({ n: -1 })])
        yield* Effect.sleep("200 millis")
      }
      yield* publish(topic, Array.from({ length: TOTAL }, (_, i) => JSON.stringify({ n: i })))
      const deadline = Date.now() + 90_000
      while (written.filter((n) => n >= 0).length < TOTAL && Date.now() < deadline) yield* Effect.sleep("50 millis")
      yield* stop
      const got = written.filter((n) => n >= 0)
      assert.strictEqual(new Set(got).size, got.length, "no message twice")
      assert.deepStrictEqual([...got].sort((a, b) => a - b), Array.from({ length: TOTAL }, (_, i) => i))
      // a window of 20 and batches of 50: the batches were small, the window was what bounded the reads
      assert.isAbove(batches(), TOTAL / 50)
    }).pipe(Effect.scoped), 120_000)
})
