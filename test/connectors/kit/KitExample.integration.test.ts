/**
 * The connector guide's kit-built sink (examples/connector/RedisHashSink.ts) against the local
 * Redis: it passes the sink conformance suite, and in a workflow a record it cannot write goes to
 * the dead-letter file with the shared envelope while every other record is written once.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { createClient } from "redis"
import { RedisHashSink } from "../../../examples/connector/RedisHashSink.ts"
import { Builtins, type Connector, Registry, Runtime, WorkflowGraph } from "../../../src/index.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"

const URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const context = { node: "sink", batchSize: 100, instance: 0, parallelism: 1 }

const connect = () => createClient({ url: URL })

const withRedis = <A>(f: (client: ReturnType<typeof connect>) => Promise<A>) =>
  Effect.promise(async () => {
    const client = connect()
    await client.connect()
    try {
      return await f(client)
    } finally {
      await client.close()
    }
  })

/** A fresh hash key, deleted when the case ends. */
const hashKey = Effect.acquireRelease(
  Effect.sync(() => `df-kit-example-${Math.random().toString(36).slice(2)}`),
  (key) => withRedis((c) => c.del(key))
)

const readHash = (key: string) =>
  withRedis(async (c) => Object.values(await c.hGetAll(key)).map((v) => JSON.parse(v) as unknown))

sinkSuite(
  "the guide's redis-hash sink",
  Effect.map(hashKey, (key) => {
    const config = { url: URL, key, field: "id" }
    return {
      open: RedisHashSink.open(Schema.decodeUnknownSync(RedisHashSink.config)(config), context),
      read: readHash(key),
      guarantee: "exactly-once" as const,
      workflow: {
        definition: RedisHashSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
        config,
        badConfigs: [{ key, field: "id" }, { ...config, on_error: "dead_letter" }, { ...config, retry: { delay: "soon" } }]
      }
    }
  })
)

describe("the guide's redis-hash sink", () => {
  it.live("a record without the key field goes to the dead letters; the rest is written once", () =>
    Effect.scoped(Effect.gen(function*() {
      const key = yield* hashKey
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "kit-example-"))),
        (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
      )
      const path = join(dir, "rejected.ndjson")
      const records = Array.from({ length: 200 }, (_, i) => (i === 57 ? { name: "no id" } : { id: i, name: `r${i}` }))
      yield* Runtime.run(
        WorkflowGraph.make({
          name: `kit-example-${key}`,
          nodes: [
            { kind: "source", id: "in", type: "memory", config: { records }, inputs: [] },
            {
              kind: "sink",
              id: "hash",
              type: "redis-hash",
              config: { url: URL, key, field: "id", on_error: "dead_letter", dead_letter: { path } },
              inputs: ["in"]
            }
          ]
        })
      ).pipe(Effect.provide(Registry.layer([...Builtins.definitions, RedisHashSink])))
      const held = (yield* readHash(key)) as Array<{ id: number }>
      assert.strictEqual(held.length, 199)
      const letters = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
      assert.strictEqual(letters.length, 1)
      // the runtime tells the writer where the batch came from: its source and position
      assert.deepStrictEqual(Object.keys(letters[0]), ["key", "node", "at", "source", "position", "error", "record"])
      assert.strictEqual(letters[0].source, "in")
      assert.deepStrictEqual([letters[0].key, letters[0].node, letters[0].record], [key, "hash", { name: "no id" }])
      assert.strictEqual(letters[0].error, "the record has no 'id'")
    })))
})
