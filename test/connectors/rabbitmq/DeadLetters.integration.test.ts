/**
 * The `rabbitmq` source with `on_error: dead_letter` against the local broker: a body that is not
 * JSON is set aside with its queue, delivery number and message id, the messages around it are
 * handed on, and it is acknowledged only with the next message handed on, by the commit of the
 * checkpoint covering that one (closing the reader before leaves it in the queue).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { SourceConfig } from "../../../src/connectors/rabbitmq/RabbitmqConfig.ts"
import { RabbitmqSource } from "../../../src/connectors/rabbitmq/RabbitmqSource.ts"
import { deadLetterPath, deadLetters, readN } from "../brokers/reading.ts"
import { publish, readyIdle, URL, withQueue } from "./support.ts"

const ctx = { node: "orders", batchSize: 100, instance: 0, parallelism: 1 }

const open = (config: { readonly [k: string]: unknown }) =>
  Effect.flatMap(Schema.decodeUnknownEffect(SourceConfig)({ url: URL, ...config }), (c) => RabbitmqSource.open(c, ctx))

describe("rabbitmq source, on_error: dead_letter", () => {
  it.live("sets a body that is not JSON aside naming it, and acknowledges it only with the checkpoint of the next message", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("brokers_rmq_dl")
      const path = yield* deadLetterPath
      yield* publish(queue, [JSON.stringify({ n: 1 }), "not json {", JSON.stringify({ n: 3 })], "msg-")
      const config = { queue, on_error: "dead_letter", dead_letter: { path } }
      // read, no checkpoint: closing the reader leaves all three in the queue, the bad one too
      const first = yield* Effect.scoped(Effect.flatMap(open(config), (r) => readN(r, 2)))
      assert.deepStrictEqual(first.records, [{ n: 1 }, { n: 3 }])
      assert.strictEqual(yield* readyIdle(queue), 3)
      // read again and commit the checkpoint after {n: 3}: the bad message goes with it
      yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* open(config)
        const again = yield* readN(reader, 2)
        assert.deepStrictEqual(again.records, [{ n: 1 }, { n: 3 }])
        yield* reader.commit(yield* reader.position)
      }))
      assert.strictEqual(yield* readyIdle(queue), 0)
      // set aside once per delivery (the first reader's was not acknowledged)
      const letters = yield* deadLetters(path)
      assert.strictEqual(letters.length, 2)
      for (const l of letters) {
        assert.include(l, { node: "orders", queue, delivery: 2, message_id: "msg-1", routing_key: queue, record: "not json {" })
        assert.match(String(l.error), /message 2 \(message id "msg-1"\) of queue brokers_rmq_dl-\w+: not json: /)
      }
    }).pipe(Effect.scoped))

  it.live("a body set aside last waits for the next message to be acknowledged", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("brokers_rmq_dl_last")
      const path = yield* deadLetterPath
      yield* publish(queue, [JSON.stringify({ n: 1 }), "{oops"])
      yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* open({ queue, on_error: "dead_letter", dead_letter: { path } })
        assert.deepStrictEqual((yield* readN(reader, 2, 100, 20)).records, [{ n: 1 }])
        assert.strictEqual((yield* deadLetters(path)).length, 1)
        yield* reader.commit(yield* reader.position)
      }))
      assert.strictEqual(yield* readyIdle(queue), 1, "the bad one is not acknowledged without a later checkpointed message")
    }).pipe(Effect.scoped))

  it.live("on_error: dead_letter without dead_letter.path is refused by the config", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Schema.decodeUnknownEffect(SourceConfig)({ url: URL, queue: "q", on_error: "dead_letter" }))
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /dead_letter/)
    }))
})
