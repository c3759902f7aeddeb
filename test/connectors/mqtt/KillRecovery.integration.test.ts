/**
 * MQTT → exactly-once NDJSON file with real processes: `dataflare run` (QoS 1, persistent
 * session) is killed with SIGKILL twice while it reads (checkpoints every 50 ms), messages are
 * published while it is down, and a third run is stopped with SIGINT once everything is written.
 * The file must hold every message exactly once. `plan` says QoS 0 is at most once.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"
import { killAt, linesOf, start, stopAfter, waitCheckpoint } from "../brokerRuns.ts"
import { publish, sessionId, unique, URL } from "./support.ts"

const workflow = (topic: string, clientId: string, qos: number) =>
  [
    "name: mqtt-kill",
    "execution: { batch_size: 200, checkpoint_interval: 50ms }",
    "sources:",
    `  readings: { type: mqtt, config: { url: "\${MQTT_URL}", topic: ${topic}, qos: ${qos}, client_id: ${clientId}, receive_maximum: 200 } }`,
    "destinations:",
    "  out: { type: ndjson, inputs: [readings], config: { path: out.ndjson } }"
  ].join("\n")

const payloads = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ n: from + i }))

describe("mqtt source: kill -9 of dataflare run", () => {
  it.live("killed twice, the file holds every message exactly once", () =>
    Effect.gen(function*() {
      const topic = unique("df-mqtt-kill")
      const dir = yield* tempDir
      const env = { MQTT_URL: URL }
      const clientId = yield* sessionId("df-mqtt-kill")
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow(topic, clientId, 1)))
      // the first run makes the session and its subscription; then messages flow while runs come and go
      // (Mosquitto queues at most 1000 messages per session, in flight included, and drops the
      // rest: receive_maximum 200 and batches of 300 stay below)
      const first = yield* start(dir, env)
      // a checkpoint is taken between reads: after the first, the source has subscribed
      yield* waitCheckpoint(dir, first, 1)
      yield* publish(topic, payloads(1, 300))
      const one = yield* killAt(dir, first, 3)
      yield* publish(topic, payloads(301, 600))
      const second = yield* start(dir, env)
      yield* publish(topic, payloads(601, 900))
      yield* killAt(dir, second, one + 3)
      yield* publish(topic, payloads(901, 1_200))
      const last = yield* stopAfter(dir, yield* start(dir, env), "out.ndjson", 1_200, 30_000)
      assert.strictEqual(last.code, 0, last.stderr)
      const seen = (yield* linesOf(dir, "out.ndjson")).map((l) => (JSON.parse(l) as { n: number }).n)
      assert.strictEqual(new Set(seen).size, seen.length, "no message twice")
      assert.deepStrictEqual([...seen].sort((a, b) => a - b), Array.from({ length: 1_200 }, (_, i) => i + 1))
    }).pipe(Effect.scoped), 180_000)

  it.live("plan: QoS 1 is exactly-once into a file, QoS 0 at most once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const [qos, guarantee] of [[1, "exactly-once"], [0, "at-most-once"]] as const) {
        yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow("t", "c", qos)))
        const plan = yield* cli(["plan", "wf.yaml"], { cwd: dir, env: { MQTT_URL: URL } })
        assert.strictEqual(plan.status, 0, plan.stderr)
        assert.match(plan.stdout, new RegExp(`source: readings \\(mqtt\\).*${guarantee}: QoS ${qos}`))
        assert.match(plan.stdout, new RegExp(`guarantee: ${guarantee}`))
      }
    }).pipe(Effect.scoped))
})
