/**
 * Backpressure through a run: a `rabbitmq` source (prefetch 100) feeding a sink that takes 20 ms
 * per batch of 50. While it runs, the messages taken out of the queue and not yet written by the
 * sink — what the source, the queue between the tasks and the sink hold — never exceed
 * `prefetch`: the rest waits in the broker. Every message is written, once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { RabbitmqSource } from "../../../src/connectors/rabbitmq/RabbitmqSource.ts"
import type * as Registry from "../../../src/Registry.ts"
import { slowRun } from "../brokers/slowRun.ts"
import { publish, ready, URL, withQueue } from "./support.ts"

const TOTAL = 3000
const PREFETCH = 100

describe("rabbitmq source: backpressure", () => {
  it.live("a slow sink leaves the queue's messages in the broker: at most prefetch are in the pipeline", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-slow")
      yield* publish(queue, Array.from({ length: TOTAL }, (_, i) => JSON.stringify({ n: i })))
      const { written, stop } = yield* slowRun({
        definition: RabbitmqSource as Registry.Definition,
        id: "orders",
        type: "rabbitmq",
        config: { url: URL, queue, prefetch: PREFETCH }
      })
      let most = 0
      let samples = 0
      while (written.length < TOTAL) {
        const taken = TOTAL - (yield* ready(queue))
        most = Math.max(most, taken - written.length)
        samples++
        yield* Effect.sleep("25 millis")
      }
      yield* stop
      assert.isAbove(samples, 10, "sampled while the run was going on")
      assert.isAtMost(most, PREFETCH, `messages out of the queue and not written: at most prefetch (${most})`)
      assert.deepStrictEqual([...written].sort((a, b) => a - b), Array.from({ length: TOTAL }, (_, i) => i))
    }).pipe(Effect.scoped), 120_000)
})
