/**
 * The `mongodb` source against the MongoClient-shaped fake: a collection scan in `_id` order with
 * the last `_id` as the position (the source conformance suite), a filter, ObjectIds through a
 * position; the change stream with resume tokens as positions (resume exact), and a change that
 * ends the stream failing the run.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ObjectId } from "mongodb"
import { ConnectorError } from "../../../src/Errors.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { drain, failure } from "../csv/support.ts"
import { fakeMongo } from "./fakeMongo.ts"
import { openSink, openSource } from "./support.ts"

const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ _id: i + 1, name: `doc ${i + 1}`, group: i % 3 }))

sourceSuite(
  "mongodb source, scan (MongoClient-shaped fake)",
  Effect.sync(() => {
    const fake = fakeMongo()
    fake.seed("shop.orders", [...docs(60)].reverse())
    return { open: openSource(fake, { batch_size: 25 }), expected: docs(60) }
  }),
  { batchSizes: [1, 7, 100], seekTargets: 10 }
)

describe("mongodb source (MongoClient-shaped fake)", () => {
  it.effect("scan: _id order, the last _id as the position (Extended JSON: ObjectIds survive a checkpoint)", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      const ids = Array.from({ length: 5 }, (_, i) => new ObjectId(`65f0000000000000000000${String(i).padStart(2, "0")}`))
      fake.seed("shop.orders", ids.map((_id, i) => ({ _id, n: i })))
      const reader = yield* openSource(fake, { batch_size: 2 })
      const first = yield* reader.readBatch(2)
      const position = yield* reader.position
      assert.deepStrictEqual(position, { last_id: { $oid: ids[1].toHexString() } })
      assert.deepStrictEqual(first?.origin?.position, position)
      const resumed = yield* openSource(fake, { batch_size: 2 })
      yield* resumed.seek(JSON.parse(JSON.stringify(position)))
      const { records } = yield* drain(resumed)
      assert.deepStrictEqual(records.map((r) => (r as { n: number }).n), [2, 3, 4])
    })))

  it.effect("scan with a filter", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      fake.seed("shop.orders", docs(20))
      const { records } = yield* drain(yield* openSource(fake, { filter: { group: 1 }, batch_size: 3 }))
      assert.deepStrictEqual(records.map((r) => (r as { _id: number })._id), [2, 5, 8, 11, 14, 17, 20])
    })))

  it.live("change stream: changes as records, the resume token as the position; a resume continues right after it", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      const config = { mode: "change_stream", batch_size: 10 }
      const reader = yield* openSource(fake, config)
      const empty = yield* reader.readBatch(10)
      assert.strictEqual(empty?.records.length, 0, "nothing yet: an empty batch, not the end")
      const writer = yield* openSink(fake, { mode: "upsert", id_field: "order_id" })
      yield* writer.writeBatch({ _tag: "Batch", records: [{ order_id: "a", v: 1 }, { order_id: "b", v: 1 }, { order_id: "a", v: 2 }], start: 0, end: 3, origin: undefined, watermark: undefined, readAt: 0 })
      const batch = yield* reader.readBatch(2)
      assert.deepStrictEqual(batch?.records.map((c) => [c.operation, c.key, (c.document as { v: number }).v]), [["update", "a", 1], ["update", "b", 1]])
      const position = yield* reader.position
      assert.deepStrictEqual(position, { resume_token: { _data: "00000002" } })
      // a new reader (after a restore) continues after the token: the third change, once
      const resumed = yield* openSource(fake, config)
      yield* resumed.seek(position)
      const rest = yield* resumed.readBatch(10)
      assert.deepStrictEqual(rest?.records.map((c) => [c.key, (c.document as { v: number }).v]), [["a", 2]])
      assert.deepStrictEqual((yield* resumed.readBatch(10))?.records, [])
    })))

  it.live("change stream: a dropped collection ends the stream and fails the run naming it", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      const reader = yield* openSource(fake, { mode: "change_stream" })
      yield* reader.readBatch(10)
      fake.emit("shop.orders", { operationType: "drop" })
      const error = yield* failure(reader.readBatch(10))
      assert.instanceOf(error, ConnectorError)
      assert.include(error.message, "'drop'")
      assert.include(error.message, "shop.orders")
    })))

  it.effect("a position of another mode, or no position, is refused at seek", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = fakeMongo()
      const scan = yield* openSource(fake, {})
      assert.include((yield* failure(scan.seek(42))).message, "not a position of the mongodb scan")
      const stream = yield* openSource(fake, { mode: "change_stream" })
      assert.include((yield* failure(stream.seek({ last_id: 3 }))).message, "not a position of the mongodb change stream")
    })))
})
