/**
 * The `mongodb` sink against a MongoClient-shaped fake (`fakeMongo.ts`, behind the small interface
 * the connector uses): the modes, unordered bulk writes whose per-operation write errors are
 * retried when transient (those only) or rejected (failing the run naming the document, or dead
 * letters), whole-call transient failures retried, write concern passed on, order of operations on
 * one document kept.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { ConnectorError, RecordError } from "../../../src/Errors.ts"
import { failure, tempDir, writeAll } from "../csv/support.ts"
import { fakeMongo } from "./fakeMongo.ts"
import { openSink } from "./support.ts"

const fast = { retry: { delay: "1ms", max_delay: "5ms" } }
const orders = (n: number) => Array.from({ length: n }, (_, i) => ({ order_id: `o-${i + 1}`, amount: i }))
const idOf = (op: Record<string, { document?: { _id?: unknown }; filter?: { _id?: unknown } }>) => {
  const spec = Object.values(op)[0]
  return String(spec.document?._id ?? spec.filter?._id)
}

describe("mongodb sink (MongoClient-shaped fake)", () => {
  it.live("upsert: $set of the record's fields under _id = id_field, fields left out are kept; the client is closed with the scope", () =>
    Effect.gen(function*() {
      const fake = fakeMongo()
      fake.seed("shop.orders", [{ _id: "o-1", order_id: "o-1", amount: 0, note: "kept" }])
      yield* Effect.scoped(Effect.flatMap(openSink(fake, { mode: "upsert", id_field: "order_id", write_concern: { w: "majority", j: true, wtimeout: "5s" }, ...fast }), (w) => writeAll(w, orders(3))))
      assert.deepStrictEqual(fake.documents("shop.orders"), [
        { _id: "o-1", order_id: "o-1", amount: 0, note: "kept" },
        { _id: "o-2", order_id: "o-2", amount: 1 },
        { _id: "o-3", order_id: "o-3", amount: 2 }
      ])
      assert.deepStrictEqual(fake.calls[0].options, { ordered: false, writeConcern: { w: "majority", journal: true, wtimeoutMS: 5000 } })
      assert.deepStrictEqual(fake.calls[0].operations[0], { updateOne: { filter: { _id: "o-1" }, update: { $set: { order_id: "o-1", amount: 0 } }, upsert: true } })
      assert.strictEqual(fake.open(), 0, "closed")
    }))

  it.live("replace: the document becomes the record; a replay leaves the same documents (idempotent)", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      fake.seed("shop.orders", [{ _id: "o-1", order_id: "o-1", amount: 0, note: "gone" }])
      const writer = yield* openSink(fake, { mode: "replace", id_field: "order_id", ...fast })
      yield* writeAll(writer, orders(5))
      const once = fake.documents("shop.orders")
      yield* writeAll(writer, orders(5))
      assert.deepStrictEqual(fake.documents("shop.orders"), once)
      assert.deepStrictEqual(once[0], { _id: "o-1", order_id: "o-1", amount: 0 })
    })))

  it.live("id_key: field matches documents on the field itself, _id left to the server", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      const writer = yield* openSink(fake, { mode: "upsert", id_field: "order_id", id_key: "field", ...fast })
      yield* writeAll(writer, orders(2))
      yield* writeAll(writer, [{ order_id: "o-1", amount: 99 }])
      const docs = fake.documents("shop.orders")
      assert.strictEqual(docs.length, 2)
      assert.deepStrictEqual(docs.map((d) => [d.order_id, d.amount]).sort(), [["o-1", 99], ["o-2", 1]])
      assert.deepStrictEqual(fake.calls[0].operations[0], { updateOne: { filter: { order_id: "o-1" }, update: { $set: { order_id: "o-1", amount: 0 } }, upsert: true } })
    })))

  it.live("a transient write error (primary stepped down) sends that operation again, only it", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo({ decide: (op, attempt) => (attempt === 0 && idOf(op) === "o-3" ? { code: 189, errmsg: "primary stepped down" } : undefined) })
      const writer = yield* openSink(fake, { mode: "upsert", id_field: "order_id", ...fast })
      yield* writeAll(writer, orders(5))
      assert.strictEqual(fake.documents("shop.orders").length, 5)
      assert.deepStrictEqual(fake.calls.map((c) => c.operations.map(idOf)), [["o-1", "o-2", "o-3", "o-4", "o-5"], ["o-3"]])
      assert.strictEqual(fake.writes.length, 5, "each document written once")
    })))

  it.live("a whole call failing with a RetryableWriteError is sent again", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo({ failCall: (n) => (n === 1 ? Object.assign(new Error("connection reset"), { name: "MongoNetworkError", errorLabels: ["RetryableWriteError"] }) : undefined) })
      const writer = yield* openSink(fake, { mode: "replace", id_field: "order_id", ...fast })
      yield* writeAll(writer, orders(4))
      assert.strictEqual(fake.documents("shop.orders").length, 4)
      assert.strictEqual(fake.calls.length, 2)
    })))

  it.live("a duplicate key fails the run naming the document and the server's code (on_error: fail)", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      fake.seed("shop.orders", [{ _id: "o-2", order_id: "o-2" }])
      const writer = yield* openSink(fake, { id_field: "order_id", ...fast })
      const error = yield* failure(writer.writeBatch(Batch.make(orders(3))))
      assert.instanceOf(error, RecordError)
      assert.include(error.message, "document 'o-2'")
      assert.include(error.message, "code 11000")
      assert.include(error.message, "E11000 duplicate key")
      assert.deepStrictEqual((error as RecordError).record, orders(3)[1])
      assert.strictEqual(fake.calls.length, 1, "a rejection is not retried")
    })))

  it.live("validation failures go to the dead letters with code and message; the others are written once", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "rejected.ndjson")
      let counted = 0
      const fake = fakeMongo({ invalid: (doc) => typeof doc.amount !== "number" })
      const writer = yield* openSink(
        fake,
        { mode: "upsert", id_field: "order_id", on_error: "dead_letter", dead_letter: { path }, ...fast },
        { node: "store", batchSize: 100, instance: 0, parallelism: 1, onDeadLetters: (n) => (counted += n) }
      )
      const records = orders(10).map((o, i) => (i % 4 === 1 ? { ...o, amount: "n/a" } : o))
      const stats = yield* writer.writeBatch(Batch.make(records))
      assert.strictEqual(stats.written, 7)
      const letters = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
      assert.deepStrictEqual(letters.map((l) => l.id), ["o-2", "o-6", "o-10"])
      assert.strictEqual(counted, 3)
      assert.strictEqual(letters[0].status, "code 121")
      assert.strictEqual(letters[0].collection, "shop.orders")
      assert.include(String(letters[0].error), "Document failed validation")
      assert.deepStrictEqual(letters[0].record, records[1])
      assert.strictEqual(fake.writes.length, 7)
    })))

  it.live("two versions of one document in a batch are written in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo({ decide: (op, attempt) => (attempt === 0 && idOf(op) === "o-1" ? { code: 91, errmsg: "shutting down" } : undefined) })
      const writer = yield* openSink(fake, { mode: "replace", id_field: "order_id", ...fast })
      yield* writer.writeBatch(Batch.make([{ order_id: "o-1", v: 1 }, { order_id: "o-2", v: 1 }, { order_id: "o-1", v: 2 }]))
      assert.deepStrictEqual(fake.documents("shop.orders")[0], { _id: "o-1", order_id: "o-1", v: 2 })
    })))

  it.live("transient errors past the last retry fail with a ConnectorError naming the document", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo({ decide: (op) => (idOf(op) === "o-2" ? { code: 10107, errmsg: "not writable primary" } : undefined) })
      const writer = yield* openSink(fake, { mode: "upsert", id_field: "order_id", retry: { attempts: 2, delay: "1ms" } })
      const error = yield* failure(writer.writeBatch(Batch.make(orders(3))))
      assert.instanceOf(error, ConnectorError)
      assert.strictEqual((error as ConnectorError).reason._tag, "TransientError")
      assert.include(error.message, "document 'o-2'")
      assert.include(error.message, "code 10107")
      assert.strictEqual(fake.calls.length, 3)
    })))

  it.live("a record without id_field is refused before sending; an unreachable server fails without the password", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      const writer = yield* openSink(fake, { mode: "upsert", id_field: "order_id", ...fast })
      const error = yield* failure(writer.writeBatch(Batch.make([{ order_id: "a" }, { amount: 1 }])))
      assert.include(error.message, "field 'order_id' is missing")
      assert.deepStrictEqual(fake.documents("shop.orders").map((d) => d._id), ["a"])
      const refused = yield* failure(openSink(fake, { url: "mongodb://app:s3cret@unreachable:27017", mode: "insert" }))
      assert.instanceOf(refused, ConnectorError)
      assert.strictEqual((refused as ConnectorError).reason._tag, "ConnectionError")
      assert.notInclude(refused.message, "s3cret")
    })))

  it.live("nodes on one URL share one client (the kit's Clients pool), closed with the last", () =>
    Effect.gen(function*() {
      const fake = fakeMongo()
      yield* Effect.scoped(Effect.gen(function*() {
        const a = yield* openSink(fake, { mode: "upsert", id_field: "order_id" })
        const b = yield* openSink(fake, { mode: "replace", id_field: "order_id", collection: "other" })
        yield* writeAll(a, orders(2))
        yield* writeAll(b, orders(2))
        assert.strictEqual(fake.open(), 1, "one connection for both nodes")
      }))
      assert.strictEqual(fake.open(), 0, "closed when the last node's scope closed")
    }))
})
