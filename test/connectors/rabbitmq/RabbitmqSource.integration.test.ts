/**
 * The `rabbitmq` source against the local broker: messages are acknowledged only by `commit`
 * (closing a reader without it leaves them in the queue), `prefetch` bounds what is read before a
 * checkpoint completes, a reader restored from a checkpoint whose acknowledgements were lost drops
 * the redeliveries it covers and reads the rest, a body that is not JSON fails naming the message,
 * an unreachable broker fails `check` and `open` quickly with a clear error and no password.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import * as Batch from "../../../src/Batch.ts"
import type { Position } from "../../../src/Batch.ts"
import type { SourceReader } from "../../../src/Connector.ts"
import { RabbitmqSource } from "../../../src/connectors/rabbitmq/RabbitmqSource.ts"
import type { SourceConfig } from "../../../src/connectors/rabbitmq/RabbitmqConfig.ts"
import { untilLag } from "../sourceLag.ts"
import { readN as readShared } from "../brokers/reading.ts"
import { publish, readyIdle, url, withQueue } from "./support.ts"

const ctx = { node: "orders", batchSize: 100, instance: 0, parallelism: 1 }

const config = (queue: string, extra: Partial<SourceConfig> = {}): SourceConfig => ({ url, queue, ...extra })

/** Reads until `n` records arrived (or `tries` empty reads in a row). */
const readN = (reader: SourceReader<unknown>, n: number, tries = 50) => Effect.map(readShared(reader, n, n, tries), (r) => r.records)

const bodies = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ n: from + i }))

describe("rabbitmq source", () => {
  it.live("reports as lag the messages not yet read (ready in the queue plus delivered and not returned)", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-lag")
      yield* publish(queue, bodies(1, 100))
      const reader = yield* RabbitmqSource.open(config(queue, { prefetch: 20 }), ctx)
      assert.deepStrictEqual(yield* untilLag(reader, 100), { value: 100, unit: "records" }, "before the first read: all ready")
      // 20 delivered (prefetch), 10 of them returned: 80 ready + 10 buffered
      assert.deepStrictEqual(yield* readN(reader, 10), bodies(1, 10).map((b) => JSON.parse(b)))
      assert.deepStrictEqual(yield* untilLag(reader, 90), { value: 90, unit: "records" })
      // nothing committed: the broker holds back the other 80
      assert.strictEqual((yield* readN(reader, 10)).length, 10)
      assert.deepStrictEqual(yield* untilLag(reader, 80), { value: 80, unit: "records" })
      yield* publish(queue, bodies(101, 105))
      assert.deepStrictEqual(yield* untilLag(reader, 85), { value: 85, unit: "records" })
    }).pipe(Effect.scoped), 120_000)

  it.live("acknowledges only what a completed checkpoint covers", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-ack")
      yield* publish(queue, bodies(1, 50))
      // read everything, commit nothing, close: all 50 are back in the queue
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* RabbitmqSource.open(config(queue), ctx)
        return yield* readN(reader, 50)
      }))
      assert.deepStrictEqual(first, Array.from({ length: 50 }, (_, i) => ({ n: i + 1 })))
      assert.strictEqual(yield* readyIdle(queue), 50)
      // read 30, commit the position after them, read the rest without committing, close: 20 are back
      yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* RabbitmqSource.open(config(queue), ctx)
        const got = yield* readN(reader, 30)
        assert.strictEqual(got.length, 30)
        const p = yield* reader.position
        const rest = yield* readN(reader, 20)
        assert.strictEqual(rest.length, 20)
        yield* reader.commit(p)
      }))
      assert.strictEqual(yield* readyIdle(queue), 20)
    }).pipe(Effect.scoped))

  it.live("prefetch bounds the unacknowledged window; a commit opens it again (no deadlock)", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-prefetch")
      yield* publish(queue, bodies(1, 100))
      const reader = yield* RabbitmqSource.open(config(queue, { prefetch: 10 }), ctx)
      const got = yield* readN(reader, 100, 10)
      assert.strictEqual(got.length, 10, "no more than prefetch before a checkpoint")
      yield* reader.commit(yield* reader.position)
      const more = yield* readN(reader, 100, 10)
      assert.strictEqual(more.length, 10)
      assert.deepStrictEqual(more[0], { n: 11 })
      let total = 20
      while (total < 100) {
        yield* reader.commit(yield* reader.position)
        total += (yield* readN(reader, 100, 10)).length
      }
      assert.strictEqual(total, 100)
    }).pipe(Effect.scoped))

  it.live("after a crash between a checkpoint and its acknowledgement, the redeliveries it covers are dropped", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-redeliver")
      // two equal bodies: the digests are counted, not a set
      yield* publish(queue, [...bodies(1, 40), JSON.stringify({ n: 1 })])
      const checkpoint: Position = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* RabbitmqSource.open(config(queue), ctx)
        const got = yield* readN(reader, 25)
        assert.strictEqual(got.length, 25)
        // the checkpoint completes here, then the process dies before `commit` acknowledges
        const p = yield* reader.position
        yield* readN(reader, 16)
        return p
      }))
      assert.strictEqual(yield* readyIdle(queue), 41)
      yield* publish(queue, [JSON.stringify({ n: 1 })])
      const after = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* RabbitmqSource.open(config(queue), ctx)
        yield* reader.seek(checkpoint)
        const got = yield* readN(reader, 17, 10)
        yield* reader.commit(yield* reader.position)
        return got
      }))
      // 26..40, the second {n:1} (not covered by the checkpoint) and the new {n:1}
      assert.deepStrictEqual(after, [...Array.from({ length: 15 }, (_, i) => ({ n: 26 + i })), { n: 1 }, { n: 1 }])
      assert.strictEqual(yield* readyIdle(queue), 0, "the dropped redeliveries were acknowledged")
    }).pipe(Effect.scoped))

  it.live("a body that is not JSON fails naming the message; nothing after it is handed on", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-bad")
      yield* publish(queue, [JSON.stringify({ n: 1 }), "not json {", JSON.stringify({ n: 3 })], "msg-")
      const exit = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* RabbitmqSource.open(config(queue), ctx)
        const got: Array<unknown> = []
        for (let i = 0; i < 50; i++) {
          const b = yield* reader.readBatch(10)
          if (b !== undefined) for (const r of Batch.toArray(b)) got.push(r)
        }
        return got
      })).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      const text = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.match(text, /message 2 \(message id "msg-1"\) of queue df-rmq-bad-\w+: not json: /)
      assert.strictEqual(yield* readyIdle(queue), 3, "nothing acknowledged")
    }).pipe(Effect.scoped))

  it.live("an unreachable broker fails check and open within the connect timeout, without the password", () =>
    Effect.gen(function*() {
      const bad = { url: Redacted.make("amqp://guest:s3cret-pw@127.0.0.1:1"), queue: "q", connect_timeout: "2s" as const }
      const started = Date.now()
      const check = yield* Effect.exit(RabbitmqSource.check(bad))
      const open = yield* Effect.exit(Effect.scoped(Effect.asVoid(RabbitmqSource.open(bad, ctx))))
      assert.isBelow(Date.now() - started, 20_000)
      for (const exit of [check, open]) {
        assert.isTrue(Exit.isFailure(exit))
        const text = String(Exit.isFailure(exit) ? exit.cause : "")
        assert.match(text, /rabbitmq (check|connect|open).*127\.0\.0\.1:1/)
        assert.notInclude(text, "s3cret")
      }
      const missing = yield* Effect.exit(RabbitmqSource.check({ url, queue: "df-rmq-no-such-queue" }))
      assert.match(String(Exit.isFailure(missing) ? missing.cause : ""), /no queue 'df-rmq-no-such-queue'/)
    }))
})
