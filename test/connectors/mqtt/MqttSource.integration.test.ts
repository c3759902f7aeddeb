/**
 * The `mqtt` source against the local Mosquitto: a message is acknowledged only by `commit`
 * (closing a reader without it: the persistent session gives it again), `receive_maximum` bounds
 * what is read before a checkpoint completes, a reader restored from a checkpoint whose
 * acknowledgements were lost drops the DUP redeliveries it covers (QoS 1 and 2), a resume whose
 * session the broker no longer has is refused, a payload that is not JSON fails naming the
 * message, an unreachable broker fails `check` and `open` quickly without the password.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import type { SourceReader } from "../../../src/Connector.ts"
import type { SourceConfig } from "../../../src/connectors/mqtt/MqttConfig.ts"
import { MqttSource } from "../../../src/connectors/mqtt/MqttSource.ts"
import { readN as readShared } from "../brokers/reading.ts"
import { publish, sessionId, unique, url } from "./support.ts"

const ctx = { node: "readings", batchSize: 100, instance: 0, parallelism: 1 }

/** Reads until `n` records arrived (or `tries` empty reads in a row). */
const readN = (reader: SourceReader<unknown>, n: number, tries = 30) => Effect.map(readShared(reader, n, n, tries), (r) => r.records)

const payloads = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ n: from + i }))
const records = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ n: from + i }))

/** Opens a reader and reads once, so that the session exists and the subscription is made. */
const subscribe = (config: SourceConfig) =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* MqttSource.open(config, ctx)
    yield* reader.readBatch(1)
  }))

describe("mqtt source", () => {
  for (const qos of [1, 2] as const) {
    it.live(`QoS ${qos}: acknowledges only what a completed checkpoint covers; the session keeps the rest`, () =>
      Effect.gen(function*() {
        const topic = unique("df-mqtt-ack")
        const config: SourceConfig = { url, topic, qos, client_id: yield* sessionId("df-mqtt-ack") }
        yield* subscribe(config)
        yield* publish(topic, payloads(1, 30), qos)
        // read 30, commit after 20, close: 21..30 come again
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* MqttSource.open(config, ctx)
          const got = yield* readN(reader, 20)
          assert.deepStrictEqual(got, records(1, 20))
          const p = yield* reader.position
          assert.deepStrictEqual(yield* readN(reader, 10), records(21, 30))
          yield* reader.commit(p)
        }))
        const again = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* MqttSource.open(config, ctx)
          const got = yield* readN(reader, 30, 15)
          yield* reader.commit(yield* reader.position)
          return got
        }))
        assert.deepStrictEqual(again, records(21, 30))
        const none = yield* Effect.scoped(Effect.flatMap(MqttSource.open(config, ctx), (r) => readN(r, 1, 10)))
        assert.deepStrictEqual(none, [])
      }).pipe(Effect.scoped))

    it.live(`QoS ${qos}: after a crash between a checkpoint and its acknowledgement, the DUP redeliveries it covers are dropped`, () =>
      Effect.gen(function*() {
        const topic = unique("df-mqtt-dup")
        const config: SourceConfig = { url, topic, qos, client_id: yield* sessionId("df-mqtt-dup") }
        yield* subscribe(config)
        yield* publish(topic, payloads(1, 40), qos)
        const checkpoint: Position = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* MqttSource.open(config, ctx)
          assert.strictEqual((yield* readN(reader, 25)).length, 25)
          const p = yield* reader.position
          assert.strictEqual((yield* readN(reader, 15)).length, 15)
          return p
        }))
        yield* publish(topic, payloads(41, 45), qos)
        const after = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* MqttSource.open(config, ctx)
          yield* reader.seek(checkpoint)
          const got = yield* readN(reader, 20, 15)
          yield* reader.commit(yield* reader.position)
          return got
        }))
        assert.deepStrictEqual(after, records(26, 45))
        // the dropped redeliveries were acknowledged too: nothing comes again
        const none = yield* Effect.scoped(Effect.flatMap(MqttSource.open(config, ctx), (r) => readN(r, 1, 10)))
        assert.deepStrictEqual(none, [])
      }).pipe(Effect.scoped))
  }

  it.live("receive_maximum bounds the unacknowledged window; a commit opens it again", () =>
    Effect.gen(function*() {
      const topic = unique("df-mqtt-window")
      const config: SourceConfig = { url, topic, qos: 1, client_id: yield* sessionId("df-mqtt-window"), receive_maximum: 10 }
      const reader = yield* MqttSource.open(config, ctx)
      // connected and subscribed before the messages are published. Past the first window, Mosquitto
      // 2.0 sends what it queued without counting it against receive_maximum (docs/connectors/mqtt.md):
      // the source then stops reading the socket at its buffer's capacity
      assert.deepStrictEqual(yield* readN(reader, 1, 3), [])
      yield* publish(topic, payloads(1, 100))
      const got = yield* readN(reader, 100, 10)
      assert.deepStrictEqual(got, records(1, 10), "no more than receive_maximum before a checkpoint")
      let total = got.length
      while (total < 100) {
        yield* reader.commit(yield* reader.position)
        const more = yield* readN(reader, 100, 10)
        assert.isAbove(more.length, 0)
        total += more.length
      }
      assert.strictEqual(total, 100)
    }).pipe(Effect.scoped))

  it.live("a resume whose session the broker no longer has is refused", () =>
    Effect.gen(function*() {
      const topic = unique("df-mqtt-gone")
      const config: SourceConfig = { url, topic, qos: 1, client_id: yield* sessionId("df-mqtt-gone") }
      const p = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* MqttSource.open(config, ctx)
        yield* reader.readBatch(1)
        return yield* reader.position
      }))
      // the session ends (as if it had expired)
      yield* Effect.promise(async () => {
        const mqtt = (await import("mqtt")).default
        const c = await mqtt.connectAsync(Redacted.value(url), { protocolVersion: 5, clientId: config.client_id, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 })
        await c.endAsync()
      })
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const reader = yield* MqttSource.open(config, ctx)
        yield* reader.seek(p)
        yield* reader.readBatch(1)
      })))
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /has no session for client_id 'df-mqtt-gone-\w+'.*--from-scratch/)
    }).pipe(Effect.scoped))

  it.live("a payload that is not JSON fails naming the message; nothing after it is handed on", () =>
    Effect.gen(function*() {
      const topic = unique("df-mqtt-bad")
      const config: SourceConfig = { url, topic, qos: 1, client_id: yield* sessionId("df-mqtt-bad") }
      yield* subscribe(config)
      yield* publish(topic, [JSON.stringify({ n: 1 }), "not json {", JSON.stringify({ n: 3 })])
      const got: Array<unknown> = []
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const reader = yield* MqttSource.open(config, ctx)
        for (let i = 0; i < 50; i++) {
          const b = yield* reader.readBatch(10)
          if (b !== undefined) for (const r of Batch.toArray(b)) got.push(r)
        }
      })))
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), new RegExp(`message 2 \\(packet id \\d+\\) on topic ${topic}: not json: `))
      assert.deepStrictEqual(got, [{ n: 1 }])
    }).pipe(Effect.scoped))

  it.live("an unreachable broker fails check and open within the connect timeout, without the password", () =>
    Effect.gen(function*() {
      const bad: SourceConfig = { url: Redacted.make("mqtt://user:s3cret-pw@127.0.0.1:1"), topic: "t", client_id: "x", connect_timeout: "2s" }
      const started = Date.now()
      const check = yield* Effect.exit(MqttSource.check(bad))
      const open = yield* Effect.exit(Effect.scoped(Effect.asVoid(Effect.flatMap(MqttSource.open(bad, ctx), (r) => r.readBatch(1)))))
      assert.isBelow(Date.now() - started, 20_000)
      for (const exit of [check, open]) {
        assert.isTrue(Exit.isFailure(exit))
        const text = String(Exit.isFailure(exit) ? exit.cause : "")
        assert.match(text, /mqtt connect: .*127\.0\.0\.1:1/)
        assert.notInclude(text, "s3cret")
      }
    }))
})
