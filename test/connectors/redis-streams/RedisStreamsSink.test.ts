/** The `redis-streams` sink against the local Redis: fields or one JSON field, MAXLEN, a run from YAML. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { SinkConfig } from "../../../src/connectors/redis-streams/RedisStreamsConfig.ts"
import { RedisStreamsSink } from "../../../src/connectors/redis-streams/RedisStreamsSink.ts"
import { client, stream, URL } from "./support.ts"

const open = (config: { readonly [k: string]: unknown }) =>
  Effect.flatMap(Schema.decodeUnknownEffect(SinkConfig)({ url: URL, ...config }), (decoded) =>
    RedisStreamsSink.open(decoded, { node: "out", batchSize: 1000, instance: 0, parallelism: 1 }))

const entries = (c: { sendCommand: (args: Array<string>) => Promise<unknown> }, name: string) =>
  Effect.promise(async () => ((await c.sendCommand(["XRANGE", name, "-", "+"])) as Array<[string, Array<string>]>).map((e) => e[1]))

describe("redis-streams sink", () => {
  it.live("writes each record as a flat map of fields (strings as they are, other values as JSON)", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("sink-fields")
      const writer = yield* open({ stream: name })
      const stats = yield* writer.writeBatch(Batch.make([{ id: 1, name: "a b", tags: ["x"], big: 12345678901234567890n }, { id: 2, name: "ü", skip: undefined }]))
      assert.strictEqual(stats.written, 2)
      assert.deepStrictEqual(yield* entries(c, name), [
        ["id", "1", "name", "a b", "tags", "[\"x\"]", "big", "12345678901234567890"],
        ["id", "2", "name", "ü"]
      ])
    })), 30_000)

  it.live("codec json writes the record as JSON in one field; maxlen trims the stream", () =>
    Effect.scoped(Effect.gen(function*() {
      const c = yield* client
      const name = yield* stream("sink-json")
      const writer = yield* open({ stream: name, codec: "json", field: "payload", maxlen: 100 })
      for (let k = 0; k < 10; k++) {
        yield* writer.writeBatch(Batch.make(Array.from({ length: 100 }, (_, i) => ({ n: k * 100 + i, nested: { ok: true } }))))
      }
      const all = yield* entries(c, name)
      // MAXLEN ~ trims whole macro nodes: about 100 entries remain, the newest ones
      assert.isTrue(all.length >= 100 && all.length < 1000, `${all.length} entries left`)
      assert.deepStrictEqual(all[all.length - 1], ["payload", JSON.stringify({ n: 999, nested: { ok: true } })])
    })), 30_000)

  it.live("an unreachable server fails check within a bounded time", () =>
    Effect.gen(function*() {
      const config = yield* Schema.decodeUnknownEffect(SinkConfig)({ url: "redis://:pw-secret@127.0.0.1:1", stream: "s" })
      const error = yield* Effect.flip(RedisStreamsSink.check(config))
      assert.strictEqual(error.reason._tag, "ConnectionError")
      assert.notInclude(error.message, "pw-secret")
    }), 30_000)
})
