/**
 * The gate the `mqtt` source closes when its buffer is full (src/connectors/mqtt/internal/gate.ts),
 * on a plain mqtt.js client against the local Mosquitto, QoS 0 and 1: while it is closed no
 * further message is taken, however many the broker has sent; the connection outlives several
 * keepalive intervals meanwhile (the PINGRESPs wait behind the held message); opened, every
 * message follows, once, in order.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import mqtt from "mqtt"
import { MessageGate } from "../../../src/connectors/mqtt/internal/gate.ts"
import { publish, unique, URL } from "./support.ts"

const TOTAL = 200
const TAKEN = 5

describe("mqtt source: the gate over incoming messages", () => {
  for (const qos of [0, 1] as const) {
    it.live(`QoS ${qos}: closed, no message is taken and the connection outlives the keepalive; opened, the rest follows in order`, () =>
      Effect.gen(function*() {
        const topic = unique("df-mqtt-gate")
        const taken: Array<number> = []
        const failures: Array<string> = []
        const { client, gate } = yield* Effect.acquireRelease(
          Effect.promise(async () => {
            // keepalive 1 s: PINGREQ after 1 s, a missing PINGRESP fails the client after 1.5 s
            const client = await mqtt.connectAsync(URL, { protocolVersion: 5, reconnectPeriod: 0, keepalive: 1 })
            const gate = new MessageGate(client)
            client.on("message", (_topic, payload) => {
              taken.push((JSON.parse(payload.toString("utf8")) as { n: number }).n)
              if (taken.length === TAKEN) gate.close()
            })
            client.on("error", (e) => failures.push(`error: ${e.message}`))
            client.on("close", () => failures.push("closed"))
            await client.subscribeAsync(topic, { qos })
            return { client, gate }
          }),
          ({ client }) => Effect.promise(() => client.endAsync(true))
        )
        yield* publish(topic, Array.from({ length: TOTAL }, (_, i) => JSON.stringify({ n: i })), qos)
        // four keepalive intervals with the gate closed
        yield* Effect.sleep("4 seconds")
        assert.strictEqual(taken.length, TAKEN, "no message taken while the gate is closed")
        assert.isTrue(gate.isClosed())
        assert.deepStrictEqual(failures, [], "the connection outlives the keepalive while the gate is closed")
        assert.isTrue(client.connected)
        gate.open()
        for (let i = 0; i < 200 && taken.length < TOTAL; i++) yield* Effect.sleep("50 millis")
        assert.deepStrictEqual(taken, Array.from({ length: TOTAL }, (_, i) => i), "every message once, in order")
        // and the keepalive check works again: still connected two intervals later
        yield* Effect.sleep("2 seconds")
        assert.deepStrictEqual(failures, [])
        assert.isTrue(client.connected)
      }).pipe(Effect.scoped), 30_000)
  }
})
