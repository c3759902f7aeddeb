/**
 * The `mqtt` source with `on_error: dead_letter` against the local Mosquitto: a payload that is
 * not JSON is set aside with its topic, delivery number and packet id, the messages around it
 * are handed on, and its PUBACK is sent only with the next message's, by the commit of the
 * checkpoint covering that one (closing the reader before: the session gives it again).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { SourceConfig } from "../../../src/connectors/mqtt/MqttConfig.ts"
import { MqttSource } from "../../../src/connectors/mqtt/MqttSource.ts"
import { deadLetterPath, deadLetters, readN } from "../brokers/reading.ts"
import { publish, sessionId, unique, URL } from "./support.ts"

const ctx = { node: "readings", batchSize: 100, instance: 0, parallelism: 1 }

const open = (config: { readonly [k: string]: unknown }) =>
  Effect.flatMap(Schema.decodeUnknownEffect(SourceConfig)({ url: URL, ...config }), (c) => MqttSource.open(c, ctx))

describe("mqtt source, on_error: dead_letter", () => {
  for (const qos of [1, 2] as const) {
    it.live(`QoS ${qos}: sets a payload that is not JSON aside naming it, acknowledged only with the checkpoint of the next message`, () =>
      Effect.gen(function*() {
        const topic = unique(`brokers_mqtt_dl${qos}`)
        const path = yield* deadLetterPath
        const config = { topic, qos, client_id: yield* sessionId(`brokers_mqtt_dl${qos}`), on_error: "dead_letter", dead_letter: { path } }
        // the session and its subscription exist before publishing
        yield* Effect.scoped(Effect.flatMap(open(config), (r) => r.readBatch(1)))
        yield* publish(topic, [JSON.stringify({ n: 1 }), "not json {", JSON.stringify({ n: 3 })], qos)
        // read, no checkpoint: the session keeps all three unacknowledged
        const first = yield* Effect.scoped(Effect.flatMap(open(config), (r) => readN(r, 2)))
        assert.deepStrictEqual(first.records, [{ n: 1 }, { n: 3 }])
        // read again (redelivered) and commit the checkpoint after {n: 3}: the bad one goes with it
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* open(config)
          assert.deepStrictEqual((yield* readN(reader, 2)).records, [{ n: 1 }, { n: 3 }])
          yield* reader.commit(yield* reader.position)
        }))
        const after = yield* Effect.scoped(Effect.flatMap(open(config), (r) => readN(r, 1, 10, 15)))
        assert.deepStrictEqual(after.records, [], "nothing left in the session")
        const letters = yield* deadLetters(path)
        // set aside once per delivery (the first reader's was not acknowledged)
        assert.strictEqual(letters.length, 2)
        for (const l of letters) {
          assert.include(l, { node: "readings", topic, delivery: 2, record: "not json {" })
          assert.isNumber(l.packet_id)
          assert.match(String(l.error), new RegExp(`message 2 \\(packet id ${String(l.packet_id)}\\) on topic ${topic}: not json: `))
        }
      }).pipe(Effect.scoped))
  }
})
