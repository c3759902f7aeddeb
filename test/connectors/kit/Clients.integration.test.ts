/**
 * Shared clients against the local Redis: two sink nodes on one Redis URL share one connection
 * (the server sees one client named for the test), a node with other credentials-equivalent key
 * gets its own, and every client is closed when the run ends. A failed open is not cached.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { createClient } from "redis"
import { Batch, Builtins, Clients, Connector, Errors, Registry, Runtime, WorkflowGraph } from "../../../src/index.ts"

const URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const suffix = Math.random().toString(36).slice(2)
const clientName = `dataflare-clients-${suffix}`

type RedisClient = ReturnType<typeof createClient>

const opened: Array<string> = []
/** The most connections of the test's name the server listed while a sink wrote. */
let during = 0
const closed: Array<string> = []

const redis = Clients.pool({
  key: (config: { readonly url: string }) => Clients.urlKey(config.url),
  open: (config: { readonly url: string }) =>
    Effect.acquireRelease(
      Effect.tryPromise(async () => {
        const client: RedisClient = createClient({ url: config.url, name: clientName })
        await client.connect()
        opened.push(config.url)
        return client
      }),
      (client) =>
        Effect.promise(async () => {
          closed.push(config.url)
          await client.close()
        })
    )
})

/** A sink pushing each record to a Redis list through the shared client. */
const ListSink = Connector.sink({
  type: "redis_list_test",
  description: "RPUSHes records to a list (test)",
  config: Schema.Struct({ url: Schema.String, list: Schema.String }),
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  check: () => Effect.void,
  open: (config) =>
    Effect.gen(function*() {
      const client = yield* Effect.mapError(
        redis.get(config),
        (e) => new Errors.ConnectorError({ connector: "redis_list_test", operation: "open", reason: new Errors.ConnectionError({ message: String(e) }) })
      )
      const writer: Connector.SinkWriter<unknown> = {
        writeBatch: (batch) =>
          Effect.promise(async () => {
            const records = Batch.toArray(batch)
            if (records.length > 0) await client.rPush(config.list, records.map((r) => JSON.stringify(r)))
            const named = (await client.clientList()).filter((c) => c.name === clientName).length
            during = Math.max(during, named)
            return { written: records.length }
          }),
        flush: Effect.void
      }
      return writer
    })
})

const connectedNamed = Effect.promise(async () => {
  const admin: RedisClient = createClient({ url: URL })
  await admin.connect()
  try {
    const list = await admin.clientList()
    return list.filter((c) => c.name === clientName).length
  } finally {
    await admin.close()
  }
})

describe("Clients", () => {
  it.live("two nodes on one Redis URL share one client, closed when the run ends", () =>
    Effect.gen(function*() {
      const a = `df-clients-a-${suffix}`
      const b = `df-clients-b-${suffix}`
      const graph = WorkflowGraph.make({
        name: `clients-${suffix}`,
        nodes: [
          { kind: "source", id: "nums", type: "generator", config: { count: 2000 }, inputs: [] },
          { kind: "sink", id: "one", type: "redis_list_test", config: { url: URL, list: a }, inputs: ["nums"] },
          { kind: "sink", id: "two", type: "redis_list_test", config: { url: URL, list: b }, inputs: ["nums"] }
        ]
      })
      yield* Runtime.run(graph).pipe(Effect.provide(Registry.layer([...Builtins.definitions, ListSink])))
      assert.deepStrictEqual(opened, [URL], "one client opened for both nodes")
      assert.deepStrictEqual(closed, [URL], "and closed once")
      assert.deepStrictEqual(redis.open(), [], "nothing left open after the run")
      assert.strictEqual(during, 1, "the server saw one connection of the run while the sinks wrote")
      assert.strictEqual(yield* connectedNamed, 0)
      const lengths = yield* Effect.promise(async () => {
        const admin: RedisClient = createClient({ url: URL })
        await admin.connect()
        try {
          const n = [await admin.lLen(a), await admin.lLen(b)]
          await admin.del([a, b])
          return n
        } finally {
          await admin.close()
        }
      })
      assert.deepStrictEqual(lengths, [2000, 2000])
    }))

  it.live("a client that fails to open is not kept; keys hide secrets and tell credentials apart", () =>
    Effect.gen(function*() {
      let attempts = 0
      const failing = Clients.pool({
        key: (url: string) => Clients.urlKey(url),
        open: () =>
          Effect.suspend(() => {
            attempts++
            return attempts === 1 ? Effect.fail("refused" as const) : Effect.succeed("client")
          })
      })
      const first = yield* Effect.exit(Effect.scoped(failing.get("redis://h:1")))
      assert.isTrue(Exit.isFailure(first))
      assert.deepStrictEqual(failing.open(), [])
      assert.strictEqual(yield* Effect.scoped(failing.get("redis://h:1")), "client")
      assert.strictEqual(attempts, 2)
      const k1 = Clients.urlKey("redis://user:s3cret@cache:6379/0?token=abc")
      const k2 = Clients.urlKey("redis://user:other@cache:6379/0?token=abc")
      assert.notInclude(k1, "s3cret")
      assert.notInclude(k1, "abc")
      assert.match(k1, /^redis:\/\/user@cache:6379\/0#[0-9a-f]{16}$/)
      assert.notStrictEqual(k1, k2)
    }))
})
