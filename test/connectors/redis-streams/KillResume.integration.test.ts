/**
 * Kill -9 + resume of `dataflare run` reading a Redis stream into an exactly-once NDJSON file:
 * every entry exactly once in the file, and all of them acknowledged after the graceful stop.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "../../cli/support.ts"
import { killTwiceAndResume } from "../brokers/killSupport.ts"
import { client, fill, pendingCount, stream, URL } from "./support.ts"

const ENTRIES = 60_000

describe("redis-streams source: kill -9 of dataflare run", () => {
  it.live("killed twice, the rerun leaves every entry in the file exactly once, and acknowledges them all", () =>
    Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("kill")
      yield* fill(c, name, ENTRIES)
      const dir = yield* tempDir
      const { partial, lines } = yield* killTwiceAndResume(dir, [
        "type: redis-streams",
        `config: { url: "${URL}", stream: ${name}, group: g, consumer: c, batch_size: 500 }`
      ], ENTRIES)
      assert.isTrue(partial < ENTRIES, "the killed runs had not read everything")
      const ns = lines.map((l) => Number((JSON.parse(l) as { n: string }).n))
      assert.strictEqual(ns.length, ENTRIES, "no entry twice")
      assert.deepStrictEqual([...ns].sort((a, b) => a - b), Array.from({ length: ENTRIES }, (_, i) => i + 1))
      assert.strictEqual(yield* pendingCount(c, name, "g"), 0, "every entry acknowledged after the final checkpoint")
    }).pipe(Effect.scoped), 240_000)
})
