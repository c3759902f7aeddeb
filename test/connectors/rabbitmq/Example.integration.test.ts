/**
 * examples/rabbitmq-orders.yaml against the local RabbitMQ and Mosquitto: orders published to a
 * queue reach the NDJSON file (the large ones, once each) and the MQTT topic (all of them); the
 * run stops gracefully on SIGINT and leaves nothing unacknowledged in the queue.
 */
import { copyFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { tempDir } from "../../cli/support.ts"
import { linesOf, start, stopAfter, waitCheckpoint } from "../brokerRuns.ts"
import { collect, unique, URL as MQTT_URL } from "../mqtt/support.ts"
import { publish, readyIdle, URL, withQueue } from "./support.ts"

const example = resolve(import.meta.dirname, "../../../examples/rabbitmq-orders.yaml")

describe("examples/rabbitmq-orders.yaml", () => {
  it.live("writes the large orders once and relays every order to MQTT", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const queue = yield* withQueue("df-example-orders")
      const topic = unique("df-example-dashboard")
      const dashboard = yield* collect(topic)
      yield* Effect.promise(() => copyFile(example, join(dir, "wf.yaml")))
      const orders = Array.from({ length: 400 }, (_, i) => ({ id: i + 1, amount: (i * 37) % 250 }))
      yield* publish(queue, orders.map((o) => JSON.stringify(o)))
      const large = orders.filter((o) => o.amount >= 100)
      const running = yield* start(dir, { RABBITMQ_URL: URL, MQTT_URL, ORDERS_QUEUE: queue, DASHBOARD_TOPIC: topic })
      yield* waitCheckpoint(dir, running, 1)
      const ended = yield* stopAfter(dir, running, "large-orders.ndjson", large.length)
      assert.strictEqual(ended.code, 0, ended.stderr)
      assert.deepStrictEqual((yield* linesOf(dir, "large-orders.ndjson")).map((l) => JSON.parse(l)), large)
      yield* Effect.suspend(() => (dashboard.received.length >= orders.length ? Effect.void : Effect.fail("waiting"))).pipe(
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("30 seconds")
      )
      assert.deepStrictEqual(dashboard.received.map((p) => JSON.parse(p)), orders)
      assert.strictEqual(yield* readyIdle(queue), 0)
    }).pipe(Effect.scoped), 120_000)
})
