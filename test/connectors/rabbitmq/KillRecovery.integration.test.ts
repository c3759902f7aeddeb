/**
 * RabbitMQ → exactly-once NDJSON file with real processes: `dataflare run` is killed with
 * SIGKILL twice while it consumes a queue (checkpoints every 50 ms), messages are published
 * between the runs, and a third run is stopped with SIGINT once everything is written. The file
 * must hold every message exactly once: what a killed run wrote after its last checkpoint is
 * truncated, the messages it had not acknowledged are redelivered, and those its last checkpoint
 * covered are dropped. `dataflare plan` states the guarantee; `check` and `run` against a broker
 * that never answers or is not there fail within bounded time, without the password.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, closedPort, silentServer, tempDir } from "../../cli/support.ts"
import { killAt, linesOf, start, stopAfter } from "../brokerRuns.ts"
import { publish, readyIdle, URL, withQueue } from "./support.ts"

const workflow = (queue: string) =>
  [
    "name: rabbitmq-kill",
    "execution: { batch_size: 500, checkpoint_interval: 50ms }",
    "sources:",
    `  orders: { type: rabbitmq, config: { url: "\${RABBITMQ_URL}", queue: ${queue}, prefetch: 2000 } }`,
    "destinations:",
    "  out: { type: ndjson, inputs: [orders], config: { path: out.ndjson } }"
  ].join("\n")

const bodies = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ n: from + i }))

describe("rabbitmq source: kill -9 of dataflare run", () => {
  it.live("killed twice, the file holds every message exactly once", () =>
    Effect.gen(function*() {
      const queue = yield* withQueue("df-rmq-kill")
      const dir = yield* tempDir
      const env = { RABBITMQ_URL: URL }
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow(queue)))
      yield* publish(queue, bodies(1, 20_000))
      const first = yield* killAt(dir, yield* start(dir, env), 2)
      yield* publish(queue, bodies(20_001, 40_000))
      yield* killAt(dir, yield* start(dir, env), first + 3)
      yield* publish(queue, bodies(40_001, 50_000))
      const last = yield* stopAfter(dir, yield* start(dir, env), "out.ndjson", 50_000)
      assert.strictEqual(last.code, 0, last.stderr)
      const lines = yield* linesOf(dir, "out.ndjson")
      const seen = lines.map((l) => (JSON.parse(l) as { n: number }).n)
      assert.strictEqual(new Set(seen).size, seen.length, "no message twice")
      assert.strictEqual(seen.length, 50_000)
      assert.deepStrictEqual([...seen].sort((a, b) => a - b), Array.from({ length: 50_000 }, (_, i) => i + 1))
      assert.strictEqual(yield* readyIdle(queue), 0, "the final checkpoint acknowledged everything")
    }).pipe(Effect.scoped), 240_000)

  it.live("plan states the guarantee of the pair; check and run fail in time against a broker that never answers or is not there", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow("orders")))
      const plan = yield* cli(["plan", "wf.yaml"], { cwd: dir, env: { RABBITMQ_URL: URL } })
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.match(plan.stdout, /source: orders \(rabbitmq\).*redeliveries the checkpoint covers are dropped/)
      assert.match(plan.stdout, /guarantee: exactly-once/)
      const server = yield* silentServer
      const started = performance.now()
      const check = yield* cli(["check", "wf.yaml", "--timeout", "2000"], { cwd: dir, env: { RABBITMQ_URL: `amqp://guest:s3cret@127.0.0.1:${server.port}` } })
      assert.notStrictEqual(check.status, 0)
      assert.isBelow(performance.now() - started, 20_000)
      assert.match(check.stdout + check.stderr, /orders \(rabbitmq, source\)/)
      assert.notInclude(check.stdout + check.stderr, "s3cret")
      // run: against a broker that never answers (connect_timeout) and one that is not there
      for (const port of [server.port, yield* closedPort]) {
        const begun = performance.now()
        const run = yield* cli(["run", "wf.yaml"], { cwd: dir, env: { RABBITMQ_URL: `amqp://guest:s3cret@127.0.0.1:${port}` } })
        assert.notStrictEqual(run.status, 0)
        assert.isBelow(performance.now() - begun, 30_000)
        assert.match(run.stdout + run.stderr, new RegExp(`rabbitmq connect: .*127\\.0\\.0\\.1:${port}`))
        assert.notInclude(run.stdout + run.stderr, "s3cret")
      }
    }).pipe(Effect.scoped))
})
