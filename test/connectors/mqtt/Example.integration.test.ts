/**
 * examples/mqtt-alerts.yaml against the local Mosquitto and RabbitMQ: readings published to
 * device topics reach the NDJSON file (all, once each) and the hot ones the RabbitMQ exchange,
 * routed by device; the run stops gracefully on SIGINT.
 */
import { copyFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "../../cli/support.ts"
import { linesOf, start, stopAfter, waitCheckpoint } from "../brokerRuns.ts"
import { admin, drain, URL as RABBITMQ_URL, withQueue } from "../rabbitmq/support.ts"
import { publish, sessionId, unique, URL } from "./support.ts"

const example = resolve(import.meta.dirname, "../../../examples/mqtt-alerts.yaml")

describe("examples/mqtt-alerts.yaml", () => {
  it.live("keeps every reading and sends the hot ones to RabbitMQ", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const base = unique("df-example-plant")
      const clientId = yield* sessionId("df-example-alerts")
      const boiler = yield* withQueue("df-example-boiler")
      const exchange = unique("df-example-alerts")
      const c = yield* admin
      yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const ch = await c.createChannel()
          await ch.assertExchange(exchange, "direct", { durable: false })
          await ch.bindQueue(boiler, exchange, "boiler")
          await ch.close()
        }),
        () => Effect.promise(async () => {
          const ch = await c.createChannel()
          await ch.deleteExchange(exchange)
          await ch.close()
        })
      )
      yield* Effect.promise(() => copyFile(example, join(dir, "wf.yaml")))
      const running = yield* start(dir, {
        MQTT_URL: URL,
        RABBITMQ_URL,
        READINGS_TOPIC: `${base}/+/temperature`,
        CLIENT_ID: clientId,
        ALERTS_EXCHANGE: exchange
      })
      yield* waitCheckpoint(dir, running, 1)
      const readings = Array.from({ length: 200 }, (_, i) => ({ device: i % 2 === 0 ? "boiler" : "pump", celsius: 20 + (i % 15) }))
      for (const device of ["boiler", "pump"]) {
        yield* publish(`${base}/${device}/temperature`, readings.filter((r) => r.device === device).map((r) => JSON.stringify(r)))
      }
      const ended = yield* stopAfter(dir, running, "readings.ndjson", readings.length)
      assert.strictEqual(ended.code, 0, ended.stderr)
      const kept = (yield* linesOf(dir, "readings.ndjson")).map((l) => JSON.parse(l) as { device: string; celsius: number })
      assert.strictEqual(kept.length, readings.length)
      for (const device of ["boiler", "pump"]) {
        assert.deepStrictEqual(kept.filter((r) => r.device === device), readings.filter((r) => r.device === device), `${device}, in order`)
      }
      const alerts = (yield* drain(boiler)).map((p) => JSON.parse(p))
      assert.deepStrictEqual(alerts, readings.filter((r) => r.device === "boiler" && r.celsius > 30))
    }).pipe(Effect.scoped), 120_000)
})
