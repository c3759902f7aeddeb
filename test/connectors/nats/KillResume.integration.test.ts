/**
 * Kill -9 + resume of `dataflare run` reading a JetStream stream: into an exactly-once NDJSON file
 * (every message once), and into another JetStream subject through the `nats` sink (every message
 * once: the replays are de-duplicated by Nats-Msg-Id within the duplicate window).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "../../cli/support.ts"
import { killTwiceAndResume } from "../brokers/killSupport.ts"
import { ackFloorReaching, fill, nats, payloads, SERVERS, stream } from "./support.ts"

const MESSAGES = 40_000
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe("nats source: kill -9 of dataflare run", () => {
  it.live("killed twice, the rerun leaves every message in the file exactly once, and acknowledges them all", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "kill")
      yield* fill(n, name, MESSAGES)
      const dir = yield* tempDir
      const { partial, lines } = yield* killTwiceAndResume(dir, [
        "type: nats",
        `config: { servers: "${SERVERS}", stream: ${name}, consumer: c, batch_size: 500 }`
      ], MESSAGES)
      assert.isTrue(partial < MESSAGES, "the killed runs had not read everything")
      const ns = lines.map((l) => (JSON.parse(l) as { n: number }).n)
      assert.strictEqual(ns.length, MESSAGES, "no message twice")
      assert.deepStrictEqual([...ns].sort((a, b) => a - b), range(MESSAGES))
      assert.strictEqual(yield* ackFloorReaching(n, name, "c", MESSAGES), MESSAGES, "every message acknowledged after the final checkpoint")
    }).pipe(Effect.scoped), 240_000)

  it.live("killed twice, nats -> nats publishes every message exactly once (Nats-Msg-Id de-duplication)", () =>
    Effect.gen(function*() {
      const n = yield* nats
      const name = yield* stream(n, "killsink")
      const target = yield* stream(n, "killtarget")
      const count = 20_000
      yield* fill(n, name, count)
      const dir = yield* tempDir
      const outCount = Effect.promise(async () => (await n.jsm.streams.info(target)).state.messages)
      const { partial } = yield* killTwiceAndResume(dir, [
        "type: nats",
        `config: { servers: "${SERVERS}", stream: ${name}, consumer: c, batch_size: 500 }`
      ], count, {
        yaml: ["type: nats", `config: { servers: "${SERVERS}", subject: ${target}.out }`],
        count: outCount
      })
      assert.isTrue(partial < count, "the killed runs had not published everything")
      const ns = (yield* payloads(n, target)).map((p) => (JSON.parse(p) as { n: number }).n)
      assert.strictEqual(ns.length, count, "no message published twice")
      assert.deepStrictEqual(ns, range(count), "in order")
    }).pipe(Effect.scoped), 240_000)
})
