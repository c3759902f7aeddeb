/**
 * Backpressure through a run: a `rabbitmq` source (prefetch 100) feeding a sink that takes 20 ms
 * per batch of 50. While it runs, the messages taken out of the queue and not yet written by the
 * sink — what the source, the queue between the tasks and the sink hold — never exceed
 * `prefetch`: the rest waits in the broker. Every message is written, once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import * as Batch from "../../../src/Batch.ts"
import * as Connector from "../../../src/Connector.ts"
import { RabbitmqSource } from "../../../src/connectors/rabbitmq/RabbitmqSource.ts"
import * as Registry from "../../../src/Registry.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"
import { publish, ready, URL, withQueue } from "./support.ts"

const TOTAL = 3000
const PREFETCH = 100

describe("rabbitmq source: backpressure", () => {
  it.live("a slow sink leaves the queue's messages in the broker: at most prefetch are in the pipeline", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-slow")
      yield* publish(queue, Array.from({ length: TOTAL }, (_, i) => JSON.stringify({ n: i })))
      const written: Array<number> = []
      const slow = Connector.sink<unknown, unknown>({
        type: "slow",
        description: "takes 20 ms per batch",
        config: Schema.Unknown,
        capabilities: () => ({ guarantee: "exactly-once", transactional: false }),
        check: () => Effect.void,
        open: () =>
          Effect.succeed({
            writeBatch: (batch: Batch.Batch<unknown>) =>
              Effect.sleep("20 millis").pipe(
                Effect.andThen(Effect.sync(() => {
                  Batch.forEach(batch, (r) => void written.push((r as { n: number }).n))
                  return { written: Batch.size(batch) }
                }))
              ),
            flush: Effect.void
          })
      })
      const run = yield* Runtime.run(
        WorkflowGraph.make({
          name: `rmq-slow-${Math.random().toString(36).slice(2)}`,
          execution: { batch_size: 50, queue_capacity: 2, checkpoint_interval: "100ms" },
          nodes: [
            { kind: "source", id: "orders", type: "rabbitmq", config: { url: URL, queue, prefetch: PREFETCH }, inputs: [] },
            { kind: "sink", id: "out", type: "slow", config: {}, inputs: ["orders"] }
          ]
        })
      ).pipe(Effect.provide(Registry.layer([RabbitmqSource as Registry.Definition, slow as Registry.Definition])), Effect.forkScoped)
      let most = 0
      let samples = 0
      while (written.length < TOTAL) {
        const taken = TOTAL - (yield* ready(queue))
        most = Math.max(most, taken - written.length)
        samples++
        yield* Effect.sleep("25 millis")
      }
      yield* Fiber.interrupt(run)
      assert.isAbove(samples, 10, "sampled while the run was going on")
      assert.isAtMost(most, PREFETCH, `messages out of the queue and not written: at most prefetch (${most})`)
      assert.deepStrictEqual([...written].sort((a, b) => a - b), Array.from({ length: TOTAL }, (_, i) => i))
    }).pipe(Effect.scoped), 120_000)
})
