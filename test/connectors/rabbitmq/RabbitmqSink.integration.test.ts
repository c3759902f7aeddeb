/**
 * The `rabbitmq` sink against the local broker: records published through the default exchange
 * and a direct exchange (routing key from a field) arrive once `flush` returned (publisher
 * confirms), a record without its routing key fails naming the field, a missing exchange fails
 * `check` and `open`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { RabbitmqSink } from "../../../src/connectors/rabbitmq/RabbitmqSink.ts"
import { admin, drain, url, withQueue } from "./support.ts"

const ctx = { node: "out", batchSize: 100, instance: 0, parallelism: 1 }

describe("rabbitmq sink", () => {
  it.live("publishes every record; flush returns once the broker confirmed them", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-sink")
      const writer = yield* RabbitmqSink.open({ url, exchange: "", routing_key: queue }, ctx)
      const records = Array.from({ length: 2500 }, (_, i) => ({ n: i, big: 12345678901234567890n }))
      for (let i = 0; i < records.length; i += 500) yield* writer.writeBatch(Batch.make(records.slice(i, i + 500)))
      yield* writer.flush
      const got = yield* drain(queue)
      assert.strictEqual(got.length, 2500)
      assert.strictEqual(got[7], '{"n":7,"big":12345678901234567890}', "a bigint keeps its digits")
    }).pipe(Effect.scoped))

  it.live("routes by a field; a record without it fails naming the field", () =>
    Effect.gen(function*() {
      const a = yield* withQueue("df-rmq-route-a")
      const b = yield* withQueue("df-rmq-route-b")
      const exchange = `df-rmq-ex-${Math.random().toString(36).slice(2, 8)}`
      const c = yield* admin
      yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const ch = await c.createChannel()
          await ch.assertExchange(exchange, "direct", { durable: false, autoDelete: false })
          await ch.bindQueue(a, exchange, "a")
          await ch.bindQueue(b, exchange, "b")
          await ch.close()
        }),
        () => Effect.promise(async () => {
          const ch = await c.createChannel()
          await ch.deleteExchange(exchange)
          await ch.close()
        })
      )
      const writer = yield* RabbitmqSink.open({ url, exchange, routing_key: { field: "to" }, codec: "json" }, ctx)
      yield* writer.writeBatch(Batch.make([{ to: "a", n: 1 }, { to: "b", n: 2 }, { to: "a", n: 3 }]))
      yield* writer.flush
      assert.deepStrictEqual(yield* drain(a), ['{"to":"a","n":1}', '{"to":"a","n":3}'])
      assert.deepStrictEqual(yield* drain(b), ['{"to":"b","n":2}'])
      const bad = yield* Effect.exit(writer.writeBatch(Batch.make([{ n: 4 }])))
      assert.isTrue(Exit.isFailure(bad))
      assert.match(String(Exit.isFailure(bad) ? bad.cause : ""), /routing key field 'to' is missing/)
    }).pipe(Effect.scoped))

  it.live("a missing exchange fails check and open", () =>
    Effect.gen(function*() {
      const config = { url, exchange: "df-rmq-no-such-exchange", routing_key: "x" }
      const check = yield* Effect.exit(RabbitmqSink.check(config))
      const open = yield* Effect.exit(Effect.scoped(Effect.asVoid(RabbitmqSink.open(config, ctx))))
      for (const exit of [check, open]) assert.match(String(Exit.isFailure(exit) ? exit.cause : "succeeded"), /no exchange 'df-rmq-no-such-exchange'/)
    }))
})
