/** examples/nats-filter.yaml run through the CLI against the local NATS server, stopped gracefully. */
import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"
import { start } from "../brokers/killSupport.ts"
import { ackFloorReaching, nats, payloads, stream } from "./support.ts"

const example = resolve(import.meta.dirname, "../../../examples/nats-filter.yaml")

describe("examples/nats-filter.yaml", () => {
  it.live("keeps the orders of 100 or more, in order, publishes each once and acknowledges what it read", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "example")
      const amounts = Array.from({ length: 500 }, (_, i) => (i * 37) % 300)
      yield* Effect.promise(() => Promise.all(amounts.map((amount, id) => n.js.publish(`${name}.new`, JSON.stringify({ id, amount })))))
      const dir = yield* tempDir
      const run = yield* start(dir, example, { SOURCE_STREAM: name, SOURCE_SUBJECT: `${name}.new`, TARGET_SUBJECT: `${name}.large` })
      const expected = amounts.flatMap((amount, id) => (amount >= 100 ? [id] : []))
      const large = Effect.map(payloads(n, name), (all) =>
        all.map((p) => JSON.parse(p) as { id: number; amount: number }).slice(amounts.length))
      while ((yield* large).length < expected.length) {
        if (run.child.exitCode !== null) return yield* Effect.die(new Error((yield* run.ended).stderr))
        yield* Effect.sleep("100 millis")
      }
      run.child.kill("SIGTERM")
      const ended = yield* run.ended
      assert.strictEqual(ended.code, 0, ended.stderr)
      assert.deepStrictEqual((yield* large).map((r) => r.id), expected)
      assert.strictEqual(yield* ackFloorReaching(n, name, "dataflare-orders", amounts.length), amounts.length)
    }).pipe(Effect.scoped), 120_000)

  it.live("against an unreachable server, check and run fail at once with a clear error", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const command of ["check", "run"]) {
        const result = yield* cli([command, example], { cwd: dir, env: { NATS_SERVERS: "127.0.0.1:1" } })
        assert.notStrictEqual(result.status, 0, command)
        assert.include(result.stderr + result.stdout, "connection refused")
      }
    }).pipe(Effect.scoped), 120_000)
})
