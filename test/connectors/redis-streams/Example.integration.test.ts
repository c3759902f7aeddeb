/** examples/redis-streams-filter.yaml run through the CLI against the local Redis, stopped gracefully. */
import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../../cli/support.ts"
import { start } from "../brokers/killSupport.ts"
import { client, pendingCount, stream } from "./support.ts"

const example = resolve(import.meta.dirname, "../../../examples/redis-streams-filter.yaml")

describe("examples/redis-streams-filter.yaml", () => {
  it.live("keeps the orders of 100 or more, in order, and acknowledges what it read", () =>
    Effect.gen(function*() {
      const c = yield* client
      const source = yield* stream("example-in")
      const target = yield* stream("example-out")
      const amounts = Array.from({ length: 500 }, (_, i) => (i * 37) % 300)
      yield* Effect.promise(() => Promise.all(amounts.map((amount, id) => c.sendCommand(["XADD", source, "*", "data", JSON.stringify({ id, amount })]))))
      const dir = yield* tempDir
      const run = yield* start(dir, example, { SOURCE_STREAM: source, TARGET_STREAM: target })
      const expected = amounts.flatMap((amount, id) => (amount >= 100 ? [id] : []))
      let got: Array<{ id: number; entry_id: string }> = []
      while (got.length < expected.length) {
        if (run.child.exitCode !== null) return yield* Effect.die(new Error((yield* run.ended).stderr))
        yield* Effect.sleep("50 millis")
        const entries = (yield* Effect.promise(() => c.sendCommand(["XRANGE", target, "-", "+"]))) as unknown as Array<[string, Array<string>]>
        got = entries.map((e) => JSON.parse(e[1][1]) as { id: number; entry_id: string })
      }
      run.child.kill("SIGTERM")
      const ended = yield* run.ended
      assert.strictEqual(ended.code, 0, ended.stderr)
      assert.deepStrictEqual(got.map((r) => r.id), expected)
      assert.match(got[0].entry_id, /^\d+-\d+$/)
      assert.strictEqual(yield* pendingCount(c, source, "dataflare"), 0)
    }).pipe(Effect.scoped), 120_000)

  it.live("against an unreachable server, check and run fail at once with a clear error", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const command of ["check", "run"]) {
        const result = yield* cli([command, example], { cwd: dir, env: { REDIS_URL: "redis://user:pw-s3cret@127.0.0.1:1" } })
        assert.notStrictEqual(result.status, 0, command)
        assert.include(result.stderr + result.stdout, "ECONNREFUSED")
        assert.notInclude(result.stderr + result.stdout, "pw-s3cret")
      }
    }).pipe(Effect.scoped), 120_000)
})
