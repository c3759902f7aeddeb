/**
 * The `rabbitmq` source through the shared source conformance suite, as an unbounded source: a
 * queue of its own per case holding 60 messages; the same records whatever the batch size, a new
 * reader seeking to any batch's position continues exactly there (the redeliveries the position
 * covers are dropped), nothing after the last message, a reader opened after a commit goes on
 * after it (acknowledged), and a missing queue fails with a tagged error.
 */
import { Effect, Redacted } from "effect"
import { RabbitmqSource } from "../../../src/connectors/rabbitmq/RabbitmqSource.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { numbered, payloads } from "../brokers/reading.ts"
import { publish, url, withQueue } from "./support.ts"

const ctx = { node: "orders", batchSize: 100, instance: 0, parallelism: 1 }
const N = 60

sourceSuite(
  "rabbitmq source conformance",
  Effect.gen(function*() {
    const queue = yield* withQueue("brokers_rmq_suite")
    yield* publish(queue, payloads(1, N), "m-")
    return { open: RabbitmqSource.open({ url, queue, prefetch: 100 }, ctx), expected: numbered(1, N) }
  }),
  {
    batchSizes: [1, 7, 1000],
    seekTargets: 6,
    unbounded: { idleMs: 1500, acknowledges: true, batchMarks: true },
    misconfigured: RabbitmqSource.open({ url: Redacted.make("amqp://guest:guest@127.0.0.1:5672"), queue: "brokers_rmq_no_such_queue" }, ctx),
    // a window smaller than the input: the broker holds the rest while the pipeline is slow
    backpressure: {
      source: Effect.gen(function*() {
        const queue = yield* withQueue("brokers_rmq_slow")
        yield* publish(queue, payloads(1, N), "m-")
        return { open: RabbitmqSource.open({ url, queue, prefetch: 20 }, ctx), expected: numbered(1, N) }
      })
    },
    timeout: 120_000
  }
)
