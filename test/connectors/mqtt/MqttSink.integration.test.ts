/**
 * The `mqtt` sink against the local Mosquitto: records published to one topic and to the topic
 * of a field reach a subscriber (QoS 1 and 2, acknowledged by the broker once `flush` returned);
 * a record whose topic field is missing or a wildcard fails naming the field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schedule } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { MqttSink } from "../../../src/connectors/mqtt/MqttSink.ts"
import { collect, unique, url } from "./support.ts"

const ctx = { node: "out", batchSize: 100, instance: 0, parallelism: 1 }

/** Waits until `received` holds `n` payloads. */
const until = (received: ReadonlyArray<string>, n: number) =>
  Effect.suspend(() => (received.length >= n ? Effect.void : Effect.fail("waiting"))).pipe(
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeout("30 seconds")
  )

describe("mqtt sink", () => {
  for (const qos of [0, 1, 2] as const) {
    it.live(`QoS ${qos}: publishes every record to the topic`, () =>
      Effect.gen(function*() {
        const topic = unique("df-mqtt-sink")
        const sub = yield* collect(topic)
        const writer = yield* MqttSink.open({ url, topic, qos }, ctx)
        const records = Array.from({ length: 300 }, (_, i) => ({ n: i }))
        for (let i = 0; i < records.length; i += 100) yield* writer.writeBatch(Batch.make(records.slice(i, i + 100)))
        yield* writer.flush
        yield* until(sub.received, 300)
        assert.deepStrictEqual(sub.received.map((p) => JSON.parse(p)), records)
      }).pipe(Effect.scoped))
  }

  it.live("publishes to the topic of a field; a missing or wildcard topic fails naming the field", () =>
    Effect.gen(function*() {
      const base = unique("df-mqtt-route")
      const sub = yield* collect(`${base}/#`)
      const writer = yield* MqttSink.open({ url, topic: { field: "topic" }, codec: "json" }, ctx)
      yield* writer.writeBatch(Batch.make([{ topic: `${base}/a`, n: 1 }, { topic: `${base}/b`, n: 2 }]))
      yield* writer.flush
      yield* until(sub.received, 2)
      assert.deepStrictEqual(sub.received.map((p) => JSON.parse(p).n).sort(), [1, 2])
      for (const record of [{ n: 3 }, { topic: `${base}/+`, n: 4 }]) {
        const exit = yield* Effect.exit(writer.writeBatch(Batch.make([record])))
        assert.match(String(Exit.isFailure(exit) ? exit.cause : "succeeded"), /the topic field 'topic' is (missing|not a valid topic)/)
      }
    }).pipe(Effect.scoped))
})
