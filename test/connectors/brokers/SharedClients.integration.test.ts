/**
 * Clients as shared resources (`kit/Clients.ts`) for the broker connectors, against the local
 * servers: the nodes of a run with the same connection (two sources and a sink) hold one TCP
 * connection to the server between them, counted from this process's sockets; it closes with the
 * last node, and the next node opens a new one.
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
})
