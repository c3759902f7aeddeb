/**
 * The `rabbitmq` source through the shared source conformance suite, as an unbounded source: a
 * queue of its own per case holding 60 messages; the same records whatever the batch size, a new
 * reader seeking to any batch's position continues exactly there (the redeliveries the position
 * covers are dropped), nothing after the last message, a reader opened after a commit goes on
 * after it (acknowledged), and a missing queue fails with a tagged error.
 *
 * Not run: the suite's `upstream` case ("acknowledges upstream only what a commit covers"). It asks
 * the server, while the reader is still open, what the source acknowledged — before any commit,
 * right after one, and after a settle — and AMQP 0-9-1 cannot say: `queue.declare` (amqplib's
 * `checkQueue`) counts only the messages ready in the queue, not those delivered and awaiting
 * acknowledgement, so with every message delivered to the open reader it reads 0 whether none,
 * some or all were acknowledged. The unacknowledged count is only in the management plugin's HTTP
 * API or `rabbitmqctl`, neither of which a test can count on. What acknowledgement shows through
 * AMQP — the unacknowledged messages back in the queue once the reader's channel is closed — is
 * checked by RabbitmqSource.integration.test.ts ("acknowledges only what a completed checkpoint
 * covers"), and a reader opened without `seek` after a commit going on right after it by this
 * suite's `acknowledges` case.
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
