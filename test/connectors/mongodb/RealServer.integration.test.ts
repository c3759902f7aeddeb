/**
 * The `mongodb` connectors against a real server, when `MONGODB_URL` is set (a replica set for the
 * change stream test, e.g. `MONGODB_URL=mongodb://localhost:27017/?replicaSet=rs0`); reported as
 * skipped otherwise (no MongoDB runs on the machines this project is built on: the fake covers
 * the same ground there). Each test uses its own database and drops it.
 */
import { randomUUID } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { MongoClient } from "mongodb"
import * as Batch from "../../../src/Batch.ts"
import { drain, failure, openSink, openSource, writeAll } from "../csv/support.ts"

const URL = process.env.MONGODB_URL

describe.skipIf(URL === undefined)("mongodb against a real server (MONGODB_URL)", () => {
  const withDatabase = Effect.acquireRelease(
    Effect.promise(async () => {
      const client = await new MongoClient(URL!).connect()
      return { client, database: `dataflare_${randomUUID().replaceAll("-", "")}` }
    }),
    ({ client, database }) => Effect.promise(() => client.db(database).dropDatabase().then(() => client.close()))
  )

  it.live("upsert by id, a duplicate key rejected on insert, a scan with resume", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client, database } = yield* withDatabase
      const base = { url: URL, database, collection: "orders" }
      const upsert = yield* openSink("mongodb", { ...base, mode: "upsert", id_field: "order_id", write_concern: { w: "majority" } })
      const orders = Array.from({ length: 300 }, (_, i) => ({ order_id: i + 1, amount: i }))
      yield* writeAll(upsert, orders, 100)
      yield* writeAll(upsert, orders.slice(0, 50), 50) // a replay
      assert.strictEqual(yield* Effect.promise(() => client.db(database).collection("orders").countDocuments()), 300)
      const insert = yield* openSink("mongodb", { ...base, id_field: "order_id" })
      const error = yield* failure(insert.writeBatch(Batch.make([{ order_id: 1 }])))
      assert.include(error.message, "code 11000")
      const first = yield* openSource("mongodb", { ...base, batch_size: 100 })
      yield* first.readBatch(100)
      const position = yield* first.position
      const resumed = yield* openSource("mongodb", { ...base, batch_size: 100 })
      yield* resumed.seek(position)
      const { records } = yield* drain(resumed, 100)
      assert.deepStrictEqual(records.map((r) => (r as { _id: number })._id), orders.slice(100).map((o) => o.order_id))
    })))

  it.live("a change stream resumes after its token", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client, database } = yield* withDatabase
      const base = { url: URL, database, collection: "events", mode: "change_stream" }
      yield* Effect.promise(() => client.db(database).createCollection("events"))
      const reader = yield* openSource("mongodb", base)
      yield* reader.readBatch(10)
      yield* Effect.promise(() => client.db(database).collection("events").insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]))
      const seen: Array<unknown> = []
      while (seen.length < 1) for (const c of Batch.toArray((yield* reader.readBatch(1))!)) seen.push(c)
      const position = yield* reader.position
      const resumed = yield* openSource("mongodb", base)
      yield* resumed.seek(position)
      const rest: Array<{ document: { n: number } }> = []
      while (rest.length < 2) for (const c of Batch.toArray((yield* resumed.readBatch(10))!)) rest.push(c as { document: { n: number } })
      assert.deepStrictEqual(rest.map((c) => c.document.n), [2, 3])
    })))
})
