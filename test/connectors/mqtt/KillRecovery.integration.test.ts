/**
 * MQTT → exactly-once NDJSON file with real processes: `dataflare run` (QoS 1, persistent
 * session) is killed with SIGKILL twice while it reads (checkpoints every 50 ms), messages are
 * published while it is down, and a third run is stopped with SIGINT once everything is written.
 * The file must hold every message exactly once. `plan` says QoS 0 is at most once; `check` and
 * `run` against a broker that never answers or is not there fail in time, without the password.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, closedPort, silentServer, tempDir } from "../../cli/support.ts"
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

  it.live("check and run fail in time against a broker that never answers or is not there", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow("t", "c", 1).replace("execution: {", "execution: { restart_strategy: { type: none },")))
      const server = yield* silentServer
      const port = yield* closedPort
      for (const url of [`mqtt://user:s3cret@127.0.0.1:${server.port}`, `mqtt://user:s3cret@127.0.0.1:${port}`]) {
        const started = performance.now()
        const check = yield* cli(["check", "wf.yaml", "--timeout", "2000"], { cwd: dir, env: { MQTT_URL: url } })
        const run = yield* cli(["run", "wf.yaml"], { cwd: dir, env: { MQTT_URL: url } })
        assert.isBelow(performance.now() - started, 30_000)
        assert.match(check.stdout + check.stderr, /readings \(mqtt, source\): (no answer within 2000 ms|.*mqtt connect: .*127\.0\.0\.1:\d+)/)
        assert.match(run.stdout + run.stderr, /mqtt connect: .*127\.0\.0\.1:\d+/)
        for (const result of [check, run]) {
          assert.notStrictEqual(result.status, 0)
          assert.notInclude(result.stdout + result.stderr, "s3cret")
        }
      }
    }).pipe(Effect.scoped))
})
