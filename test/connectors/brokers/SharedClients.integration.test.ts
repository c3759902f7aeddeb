/**
 * Clients as shared resources (`kit/Clients.ts`) for the broker connectors, against the local
 * servers: the nodes of a run with the same connection hold one TCP connection to the server
 * between them, counted from this process's sockets, closed with the last node — nats and
 * rabbitmq: two sources and a sink; redis-streams: the same, except each source's blocking reads;
 * mqtt: two sinks (a source's persistent session stays its own).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as NatsConfig from "../../../src/connectors/nats/NatsConfig.ts"
import { NatsSink } from "../../../src/connectors/nats/NatsSink.ts"
import { NatsSource } from "../../../src/connectors/nats/NatsSource.ts"
import { RabbitmqSink } from "../../../src/connectors/rabbitmq/RabbitmqSink.ts"
import { RabbitmqSource } from "../../../src/connectors/rabbitmq/RabbitmqSource.ts"
import * as RedisConfig from "../../../src/connectors/redis-streams/RedisStreamsConfig.ts"
import { RedisStreamsSink } from "../../../src/connectors/redis-streams/RedisStreamsSink.ts"
import { RedisStreamsSource } from "../../../src/connectors/redis-streams/RedisStreamsSource.ts"
import { MqttSink } from "../../../src/connectors/mqtt/MqttSink.ts"
import { MqttSource } from "../../../src/connectors/mqtt/MqttSource.ts"
import { collect, sessionId, unique, url as mqttUrl } from "../mqtt/support.ts"
import * as Batch from "../../../src/Batch.ts"
import { nats, SERVERS, stream } from "../nats/support.ts"
import { stream as redisStream, URL as REDIS_URL } from "../redis-streams/support.ts"
import { url as rabbitUrl, withQueue } from "../rabbitmq/support.ts"
import { connectionsTo } from "./connections.ts"

const ctx = (node: string) => ({ workflow: "wf", node, batchSize: 100, instance: 0, parallelism: 1 })

describe("broker connectors share one client per connection", () => {
  it.live("nats: two sources and a sink on one server hold one connection, closed with the last", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const a = yield* stream(n, "brokers_shared_a")
      const b = yield* stream(n, "brokers_shared_b")
      const before = yield* connectionsTo(4222)
      yield* Effect.scoped(Effect.gen(function*() {
        const source = (name: string, node: string) =>
          Effect.flatMap(Schema.decodeUnknownEffect(NatsConfig.SourceConfig)({ servers: SERVERS, stream: name, consumer: "c" }), (c) => NatsSource.open(c, ctx(node)))
        const first = yield* source(a, "a")
        const second = yield* source(b, "b")
        yield* first.readBatch(10)
        yield* second.readBatch(10)
        const sinkConfig = yield* Schema.decodeUnknownEffect(NatsConfig.SinkConfig)({ servers: SERVERS, subject: `${a}.in` })
        yield* NatsSink.open(sinkConfig, ctx("out"))
        assert.strictEqual((yield* connectionsTo(4222)) - before, 1)
      }))
      assert.strictEqual((yield* connectionsTo(4222)) - before, 0, "closed with the last node")
    }).pipe(Effect.scoped))

  it.live("rabbitmq: two sources and a sink on one URL hold one connection, closed with the last", () =>
    Effect.gen(function*() {
      const a = yield* withQueue("brokers_shared_a")
      const b = yield* withQueue("brokers_shared_b")
      const before = yield* connectionsTo(5672)
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* RabbitmqSource.open({ url: rabbitUrl, queue: a }, ctx("a"))
        const second = yield* RabbitmqSource.open({ url: rabbitUrl, queue: b }, ctx("b"))
        yield* first.readBatch(10)
        yield* second.readBatch(10)
        yield* RabbitmqSink.open({ url: rabbitUrl, exchange: "", routing_key: a }, ctx("out"))
        assert.strictEqual((yield* connectionsTo(5672)) - before, 1)
      }))
      assert.strictEqual((yield* connectionsTo(5672)) - before, 0, "closed with the last node")
    }).pipe(Effect.scoped))

  it.live("redis-streams: two sources and a sink share the connection of acknowledgements and writes; each source keeps one for its blocking reads", () =>
    Effect.gen(function*() {
      const a = yield* redisStream("brokers_shared_a")
      const b = yield* redisStream("brokers_shared_b")
      const before = yield* connectionsTo(6379)
      yield* Effect.scoped(Effect.gen(function*() {
        const source = (name: string, node: string) =>
          Effect.flatMap(
            Schema.decodeUnknownEffect(RedisConfig.SourceConfig)({ url: REDIS_URL, stream: name, group: "g", consumer: "c" }),
            (c) => RedisStreamsSource.open(c, ctx(node))
          )
        const first = yield* source(a, "a")
        const second = yield* source(b, "b")
        yield* first.readBatch(10)
        yield* second.readBatch(10)
        const sinkConfig = yield* Schema.decodeUnknownEffect(RedisConfig.SinkConfig)({ url: REDIS_URL, stream: a })
        yield* RedisStreamsSink.open(sinkConfig, ctx("out"))
        // 1 shared + 2 blocking-read connections (each node on its own: 5)
        assert.strictEqual((yield* connectionsTo(6379)) - before, 3)
      }))
      assert.strictEqual((yield* connectionsTo(6379)) - before, 0, "closed with the last node")
    }).pipe(Effect.scoped))

  it.live("mqtt: two sinks on one URL publish on one connection (sharing its window); a source keeps its session's own", () =>
    Effect.gen(function*() {
      const topic = unique("brokers_shared")
      const seen = yield* collect(`${topic}/#`)
      const before = yield* connectionsTo(1883)
      yield* Effect.scoped(Effect.gen(function*() {
        const one = yield* MqttSink.open({ url: mqttUrl, topic: `${topic}/one`, qos: 1 }, ctx("one"))
        const two = yield* MqttSink.open({ url: mqttUrl, topic: `${topic}/two`, qos: 1 }, ctx("two"))
        assert.strictEqual((yield* connectionsTo(1883)) - before, 1)
        yield* one.writeBatch(Batch.make([{ n: 1 }, { n: 2 }]))
        yield* two.writeBatch(Batch.make([{ n: 3 }]))
        yield* one.flush
        yield* two.flush
        const source = yield* MqttSource.open({ url: mqttUrl, topic: `${topic}/in`, client_id: yield* sessionId("brokers_shared") }, ctx("in"))
        yield* source.readBatch(1)
        assert.strictEqual((yield* connectionsTo(1883)) - before, 2, "the source's session is its own")
      }))
      assert.strictEqual((yield* connectionsTo(1883)) - before, 0, "closed with the last node")
      for (let i = 0; i < 50 && seen.received.length < 3; i++) yield* Effect.sleep(100)
      assert.sameMembers(seen.received, ['{"n":1}', '{"n":2}', '{"n":3}'])
    }).pipe(Effect.scoped))
})
