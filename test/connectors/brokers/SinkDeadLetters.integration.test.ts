/**
 * Dead letters of the broker sinks against real servers: each broker gets a batch mixing good
 * records with records it will never take — the codec cannot encode them, they are over the
 * server's size limit, their topic / routing-key field is missing or invalid, the broker refuses
 * them (a JetStream publish error, a nack of a full queue, an unroutable `mandatory` message, an
 * MQTT 5 PUBACK "not authorized") — and with `on_error: dead_letter` the good ones are delivered
 * once and each bad one is in the dead letters with its reason; by default the run fails naming
 * the record. Redis and MQTT run a server of the test's own, with the limits to hit
 * (`proto-max-bulk-len 1mb`, `max_packet_size`, an ACL); NATS and RabbitMQ the shared ones, with a
 * stream / queue of the test's own.
 */
import { assert, describe, it } from "@effect/vitest"
import mqtt from "mqtt"
import { Effect, Redacted, type Scope } from "effect"
import { createClient } from "redis"
import * as Batch from "../../../src/Batch.ts"
import { MqttSink, packetBytes } from "../../../src/connectors/mqtt/MqttSink.ts"
import { NatsSink } from "../../../src/connectors/nats/NatsSink.ts"
import { RabbitmqSink } from "../../../src/connectors/rabbitmq/RabbitmqSink.ts"
import { RedisStreamsSink } from "../../../src/connectors/redis-streams/RedisStreamsSink.ts"
import { nats, type Nats, payloads } from "../nats/support.ts"
import { drain, url as rabbitUrl, withBoundedQueue } from "../rabbitmq/support.ts"
import { deadLettered, failsNaming, ownServer, tempDir } from "./sinkLetters.ts"

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/** A record with a cycle: no JSON text. */
const cyclic = (n: number) => {
  const o: { [k: string]: unknown } = { n }
  o.self = o
  return o
}

describe("redis-streams sink dead letters (own redis-server, proto-max-bulk-len 1mb)", () => {
  const server = ownServer("redis-server", (port) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--proto-max-bulk-len", "1mb"])
  const entries = (port: number, stream: string) =>
    Effect.promise(async () => {
      const c = createClient({ url: `redis://127.0.0.1:${port}` })
      await c.connect()
      const out = (await c.xRange(stream, "-", "+")) ?? []
      await c.quit()
      return out.map((e) => Number(e.message?.n))
    })
  const big = "x".repeat(1_200_000)

  it.live("an entry over proto-max-bulk-len and one the codec cannot encode go to the dead letters; the others are written once", () =>
    Effect.gen(function*() {
      const { port } = yield* server
      const stream = unique("df-letters")
      const config = { url: Redacted.make(`redis://127.0.0.1:${port}`), stream }
      const { counted, letters } = yield* deadLettered(RedisStreamsSink, config, [
        [{ n: 1 }, { n: 2, big }, { n: 3 }],
        [{ n: 4, nested: cyclic(4) }, { n: 5 }]
      ])
      assert.deepStrictEqual(yield* entries(port, stream), [1, 3, 5])
      assert.strictEqual(counted, 2)
      assert.deepStrictEqual(letters.map((l) => [l.record.n, l.node, l.stream]), [[2, "out", stream], [undefined, "out", stream]])
      assert.match(letters[0].error, /1200000 bytes, larger than the server's proto-max-bulk-len for one field \(1048576 bytes\)/)
      assert.match(letters[1].error, /fields codec cannot encode the record: Converting circular structure to JSON/)
      // a record without JSON text is in its letter as node:util prints it
      assert.match(String(letters[1].record.unencodable), /^\{ n: 4, nested: <ref \*1> \{ n: 4, self: \[Circular \*1\] \} \}$/)
    }).pipe(Effect.scoped))

  it.live("by default an oversize record fails the write naming it", () =>
    Effect.gen(function*() {
      const { port } = yield* server
      const stream = unique("df-letters")
      yield* failsNaming(RedisStreamsSink, { url: Redacted.make(`redis://127.0.0.1:${port}`), stream }, [[{ n: 1 }, { n: 2, big }]], { n: 2, big }, /proto-max-bulk-len/)
    }).pipe(Effect.scoped))
})

/** A stream of the test's own refusing messages over `max_msg_size` bytes, deleted with the scope. */
const limitedStream = (n: Nats, maxMsgSize: number): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = unique("DFLETTERS").replaceAll("-", "_").toUpperCase()
      await n.jsm.streams.add({ name, subjects: [`${name}.>`], max_msg_size: maxMsgSize })
      return name
    }),
    (name) => Effect.promise(() => n.jsm.streams.delete(name).then(() => undefined, () => undefined))
  )

describe("nats sink dead letters (shared server: max_payload 1 MiB)", () => {
  it.live("a message over the stream's max_msg_size, one over max_payload and one the codec cannot encode go to the dead letters", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const name = yield* limitedStream(n, 4096)
      const config = { servers: "127.0.0.1:4222", subject: `${name}.out` }
      const { counted, letters } = yield* deadLettered(NatsSink, config, [
        [{ n: 1 }, { n: 2, pad: "y".repeat(5000) }, { n: 3 }],
        [{ n: 4, pad: "z".repeat(1_100_000) }, cyclic(5), { n: 6 }]
      ])
      assert.deepStrictEqual((yield* payloads(n, name)).map((p) => JSON.parse(p).n), [1, 3, 6])
      assert.strictEqual(counted, 3)
      assert.deepStrictEqual(letters.map((l) => [l.record.n, l.subject]), [[2, config.subject], [4, config.subject], [undefined, config.subject]])
      assert.match(letters[0].error, /the stream refused the message: message size exceeds maximum allowed/)
      assert.strictEqual(letters[0].err_code, 10054)
      assert.match(letters[1].error, /larger than the server's max_payload less the message-id header/)
      assert.match(letters[2].error, /json codec cannot encode the record/)
      assert.match(String(letters[2].record.unencodable), /n: 5, self: \[Circular \*1\]/)
    }).pipe(Effect.scoped))

  it.live("a replay after a restore gives the records after a dead letter the ids they had: dropped as duplicates", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const name = yield* limitedStream(n, 4096)
      const path = `${yield* tempDir}/letters.ndjson`
      const config = { servers: "127.0.0.1:4222", subject: `${name}.out`, on_error: "dead_letter" as const, dead_letter: { path } }
      const ctx = { workflow: unique("wf"), node: "out", batchSize: 100, instance: 0, parallelism: 1 }
      const second = [{ n: 3 }, { n: 4, pad: "y".repeat(5000) }, { n: 5 }]
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* NatsSink.open(config, ctx)
        yield* first.restore!(undefined)
        yield* first.writeBatch(Batch.make([{ n: 1 }, { n: 2 }]))
        yield* first.preCommit!(1)
        // the run dies after writing the second batch, before checkpoint 2
        yield* first.writeBatch(Batch.make(second))
      }))
      const again = yield* NatsSink.open(config, ctx)
      yield* again.restore!(1)
      yield* again.writeBatch(Batch.make(second))
      // records 3 and 5 got the ids they had (4 took its place in the sequence): dropped as duplicates
      assert.deepStrictEqual((yield* payloads(n, name)).map((p) => JSON.parse(p).n), [1, 2, 3, 5], "each good record once")
    }).pipe(Effect.scoped))

  it.live("by default a message the stream refuses fails the write naming it", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const name = yield* limitedStream(n, 4096)
      const bad = { n: 2, pad: "y".repeat(5000) }
      yield* failsNaming(NatsSink, { servers: "127.0.0.1:4222", subject: `${name}.out` }, [[{ n: 1 }, bad]], bad, /message size exceeds maximum allowed/)
    }).pipe(Effect.scoped))
})

describe("rabbitmq sink dead letters (shared broker)", () => {
  it.live("a nacked message (full queue), an unroutable mandatory one, one without its routing-key field and one over max_message_bytes go to the dead letters", () =>
    Effect.gen(function*() {
      const queue = yield* withBoundedQueue("df-letters", 2)
      const config = { url: rabbitUrl, exchange: "", routing_key: { field: "q" }, mandatory: true, max_message_bytes: 2000 }
      const nowhere = unique("df-no-such-queue")
      const { counted, letters } = yield* deadLettered(RabbitmqSink, config, [
        [{ q: queue, n: 1 }, { n: 2 }, { q: queue, n: 3 }],
        [{ q: nowhere, n: 4 }, { q: queue, n: 6, pad: "p".repeat(3000) }, { q: queue, n: 5 }]
      ])
      assert.deepStrictEqual((yield* drain(queue)).map((b) => JSON.parse(b).n), [1, 3])
      assert.strictEqual(counted, 4)
      assert.deepStrictEqual(letters.map((l) => [l.record.n, l.exchange]), [[2, ""], [4, ""], [5, ""], [6, ""]])
      assert.match(letters[3].error, /larger than max_message_bytes \(the broker's max_message_size\) \(2000 bytes\)/)
      assert.match(letters[0].error, /the routing key field 'q' is missing/)
      assert.match(letters[1].error, /returned the message: no queue takes routing key 'df-no-such-queue.*312 NO_ROUTE/)
      assert.strictEqual(letters[1].reply_code, 312)
      assert.match(letters[2].error, /refused the message \(nack\)/)
      // refused at flush, after their batch was written: the letters still say where they came from
      assert.strictEqual(letters[2].routing_key, queue)
    }).pipe(Effect.scoped))

  it.live("by default a nacked message fails the flush (the checkpoint) naming it", () =>
    Effect.gen(function*() {
      const queue = yield* withBoundedQueue("df-letters", 1)
      yield* failsNaming(RabbitmqSink, { url: rabbitUrl, exchange: "", routing_key: queue }, [[{ n: 1 }, { n: 2 }]], { n: 2 }, /nack/)
    }).pipe(Effect.scoped))
})

describe("mqtt sink dead letters (own mosquitto: max_packet_size 1000, an ACL)", () => {
  const server = ownServer("mosquitto", (_port, dir) => ["-c", `${dir}/m.conf`], (port) => ({
    "m.conf": [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "max_packet_size 1000", "acl_file acl"].join("\n") + "\n",
    acl: "topic readwrite ok/#\n"
  }))
  const collect = (port: number, topic: string) =>
    Effect.acquireRelease(
      Effect.promise(async () => {
        const received: Array<string> = []
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 })
        c.on("message", (_t, payload) => received.push(payload.toString("utf8")))
        await c.subscribeAsync(topic, { qos: 1 })
        return { received, client: c }
      }),
      ({ client }) => Effect.promise(() => client.endAsync())
    )
  const until = (received: ReadonlyArray<string>, n: number) =>
    Effect.gen(function*() {
      while (received.length < n) yield* Effect.sleep("20 millis")
    })

  for (const qos of [1, 2] as const) {
    it.live(`QoS ${qos}: a packet over the broker's maximum, a missing or wildcard topic, a topic the ACL denies (PUBACK 0x87) go to the dead letters`, () =>
      Effect.gen(function*() {
        const { port } = yield* server
        const base = `ok/${unique("t")}`
        const sub = yield* collect(port, `${base}/#`)
        const config = { url: Redacted.make(`mqtt://127.0.0.1:${port}`), topic: { field: "t" }, qos }
        const { counted, letters } = yield* deadLettered(MqttSink, config, [
          [{ t: `${base}/a`, n: 1 }, { t: `${base}/a`, n: 2, pad: "p".repeat(2000) }, { n: 3 }],
          [{ t: `${base}/+`, n: 4 }, { t: "denied/x", n: 5 }, { t: `${base}/b`, n: 6 }]
        ])
        yield* until(sub.received, 2)
        assert.deepStrictEqual(sub.received.map((p) => JSON.parse(p).n).sort(), [1, 6])
        assert.strictEqual(counted, 4)
        assert.deepStrictEqual(letters.map((l) => l.record.n), [2, 3, 4, 5])
        assert.match(letters[0].error, /larger than the broker's maximum packet size \(1000 bytes\)/)
        assert.match(letters[1].error, /the topic field 't' is missing/)
        assert.match(letters[2].error, /the topic field 't' is not a valid topic .*wildcards/)
        assert.match(letters[3].error, /refused the message on topic 'denied\/x': Publish error: Not authorized \(reason code 135\)/)
        assert.strictEqual(letters[3].reason_code, 135)
      }).pipe(Effect.scoped))
  }

  it.live("the size check is exact: a packet of the broker's maximum is published, one byte more is set aside", () =>
    Effect.gen(function*() {
      const { port } = yield* server
      const base = `ok/${unique("edge")}`
      const sub = yield* collect(port, `${base}/#`)
      const to = `${base}/x`
      /** A record whose PUBLISH packet (QoS 1) is `bytes` long. */
      const sized = (n: number, bytes: number) => {
        let pad = ""
        while (packetBytes(to, JSON.stringify({ t: to, n, pad }).length, 1) < bytes) pad += "p"
        return { t: to, n, pad }
      }
      const config = { url: Redacted.make(`mqtt://127.0.0.1:${port}`), topic: { field: "t" }, qos: 1 as const }
      const { letters } = yield* deadLettered(MqttSink, config, [[sized(1, 1000), sized(2, 1001), { t: to, n: 3 }]])
      yield* until(sub.received, 2)
      assert.deepStrictEqual(sub.received.map((p) => JSON.parse(p).n), [1, 3])
      assert.deepStrictEqual(letters.map((l) => [l.record.n, l.bytes, l.limit]), [[2, 1001, 1000]])
    }).pipe(Effect.scoped))

  it.live("by default a message the broker refuses fails the flush naming it", () =>
    Effect.gen(function*() {
      const { port } = yield* server
      const config = { url: Redacted.make(`mqtt://127.0.0.1:${port}`), topic: { field: "t" } }
      yield* failsNaming(MqttSink, config, [[{ t: "ok/fine", n: 1 }, { t: "denied/y", n: 2 }]], { t: "denied/y", n: 2 }, /Not authorized/)
    }).pipe(Effect.scoped))

  it.live("mosquitto's message_size_limit (a PUBACK code MQTT 5 does not allow) fails the flush, and the sink closes, instead of waiting forever", () =>
    Effect.gen(function*() {
      const limited = yield* ownServer("mosquitto", (_port, dir) => ["-c", `${dir}/m.conf`], (port) => ({
        "m.conf": [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "message_size_limit 1000"].join("\n") + "\n"
      }))
      const writer = yield* MqttSink.open({ url: Redacted.make(`mqtt://127.0.0.1:${limited.port}`), topic: "ok/limited", qos: 1 }, {
        node: "out",
        batchSize: 100,
        instance: 0,
        parallelism: 1
      })
      yield* writer.writeBatch(Batch.make([{ n: 1 }, { n: 2, pad: "p".repeat(2000) }]))
      const error = yield* Effect.flip(writer.flush)
      assert.match(error.message, /Invalid puback reason code/)
    }).pipe(Effect.scoped))
})
