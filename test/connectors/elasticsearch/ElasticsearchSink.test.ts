/**
 * The `elasticsearch` sink through the official client over real HTTP, against the fake in
 * `fakeServer.ts`: bulk requests bounded by count and bytes, retryable items (429,
 * es_rejected_execution_exception) sent again and only they, a mapping error failing the batch
 * naming the document or going to the dead letters with its status and reason, every good
 * document written once.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { ConnectorError, RecordError } from "../../../src/Errors.ts"
import { failure, openSink, tempDir, writeAll } from "../csv/support.ts"
import { fakeElasticsearch, type Forced } from "./fakeServer.ts"

const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `doc ${i + 1}`, amount: i * 1.5 }))

const mappingError: Forced = {
  status: 400,
  type: "document_parsing_exception",
  reason: "[1:30] failed to parse field [amount] of type [double] in document"
}

/** The fake's mapping: `amount` must be a number. */
const mapped = (item: { readonly source: unknown }): Forced | undefined => {
  const amount = item.source !== null && typeof item.source === "object" ? (item.source as { amount?: unknown }).amount : undefined
  return amount !== undefined && typeof amount !== "number" ? mappingError : undefined
}

const fast = { retry: { delay: "1ms", max_delay: "5ms" } }

describe("elasticsearch sink (HTTP fake)", () => {
  it.live("writes every document once under its id, in requests bounded by batch_size and max_bytes", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", batch_size: 40, max_bytes: 3000, ...fast })
      yield* writeAll(writer, docs(250), 100)
      const index = fake.indices.get("orders")!
      assert.strictEqual(index.size, 250)
      assert.deepStrictEqual(index.get("17"), { id: 17, name: "doc 17", amount: 24 })
      assert.strictEqual(fake.writes.length, 250, "each document written once")
      assert.isTrue(fake.requests.every((r) => r.length <= 40), "at most batch_size items per request")
      for (const r of fake.requests) {
        const bytes = r.reduce((n, item) => n + Buffer.byteLength(JSON.stringify({ index: { _index: item.index, _id: item.id } })) + Buffer.byteLength(JSON.stringify(item.source)) + 2, 0)
        assert.isTrue(bytes <= 3000, `a request of ${bytes} bytes`)
      }
      assert.isTrue(fake.requests.some((r) => r.length < 40 && r.length > 0), "max_bytes cut some requests")
    })))

  it.live("sends again only the items refused with 429 or es_rejected_execution_exception", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch({
        decide: (item) =>
          item.attempt === 0 && Number(item.id) % 5 === 0
            ? { status: 429, type: "es_rejected_execution_exception", reason: "rejected execution of coordinating operation" }
            : item.attempt < 2 && Number(item.id) === 7
            ? { status: 503, type: "unavailable_shards_exception", reason: "primary shard is not active" }
            : undefined
      })
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", ...fast })
      yield* writeAll(writer, docs(30), 30)
      assert.strictEqual(fake.indices.get("orders")!.size, 30)
      assert.strictEqual(fake.writes.length, 30, "each document written once")
      const [first, second, third] = fake.requests
      assert.strictEqual(first.length, 30)
      assert.deepStrictEqual(second.map((i) => i.id), ["5", "7", "10", "15", "20", "25", "30"], "only the refused items are sent again")
      assert.deepStrictEqual(third.map((i) => i.id), ["7"])
      assert.strictEqual(fake.requests.length, 3)
    })))

  it.live("a whole request refused with 503 is sent again", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch({ failRequest: (n) => (n <= 2 ? 503 : undefined) })
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", ...fast })
      yield* writeAll(writer, docs(10))
      assert.strictEqual(fake.indices.get("orders")!.size, 10)
    })))

  it.live("items still refused after the last retry fail the run, naming the first document", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch({
        decide: (item) => (item.id === "3" ? { status: 429, type: "es_rejected_execution_exception", reason: "queue full" } : undefined)
      })
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", retry: { attempts: 3, delay: "1ms" } })
      const error = yield* failure(writer.writeBatch(Batch.make(docs(5))))
      assert.instanceOf(error, ConnectorError)
      assert.strictEqual((error as ConnectorError).reason._tag, "TransientError")
      assert.include(error.message, "document '3'")
      assert.include(error.message, "429 es_rejected_execution_exception: queue full")
      assert.strictEqual(fake.requests.length, 4, "the first attempt and 3 retries")
    })))

  it.live("a mapping error fails the batch naming the document, its status and the reason (on_error: fail)", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch({ decide: mapped })
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", ...fast })
      const records = docs(10).map((d) => (d.id === 6 ? { ...d, amount: "six" } : d))
      const error = yield* failure(writer.writeBatch(Batch.make(records)))
      assert.instanceOf(error, RecordError)
      assert.include(error.message, "document '6'")
      assert.include(error.message, "status 400")
      assert.include(error.message, "document_parsing_exception")
      assert.deepStrictEqual((error as RecordError).record, records[5])
      assert.strictEqual(fake.requests.length, 1, "a rejection is not retried")
    })))

  it.live("mapping errors go to the dead letters with status and reason; the good documents are written once", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "rejected.ndjson")
      const fake = yield* fakeElasticsearch({
        decide: (item) => mapped(item) ?? (item.attempt === 0 && item.id === "2" ? { status: 429, type: "es_rejected_execution_exception", reason: "busy" } : undefined)
      })
      let counted = 0
      const writer = yield* openSink(
        "elasticsearch",
        { node: fake.url, index: "orders", id_field: "id", on_error: "dead_letter", dead_letter: { path }, ...fast },
        { node: "search", batchSize: 100, instance: 0, parallelism: 1, onDeadLetters: (n) => (counted += n) }
      )
      const records = docs(20).map((d) => (d.id % 7 === 0 ? { ...d, amount: "bad" } : d))
      const stats = yield* writer.writeBatch(Batch.make(records, { origin: { source: "input", position: 20 } }))
      assert.strictEqual(stats.written, 18)
      const letters = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
      assert.deepStrictEqual(letters.map((l) => l.id), ["7", "14"])
      assert.strictEqual(counted, 2)
      const [letter] = letters
      // the kit's envelope: { ...context, node, at, ...fields, error, record }
      assert.strictEqual(letter.node, "search")
      assert.strictEqual(letter.index, "orders")
      assert.strictEqual(letter.status, 400)
      assert.include(String(letter.reason), "failed to parse field [amount]")
      assert.include(String(letter.error), "document '7' for index 'orders' was rejected (status 400)")
      assert.deepStrictEqual(letter.record, records[6])
      assert.isString(letter.at)
      assert.strictEqual(fake.indices.get("orders")!.size, 18)
      assert.strictEqual(fake.writes.length, 18, "each good document written once")
    })))

  it.live("a record without a usable id_field is rejected before sending", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", ...fast })
      const error = yield* failure(writer.writeBatch(Batch.make([{ id: 1 }, { name: "no id" }])))
      assert.instanceOf(error, RecordError)
      assert.include(error.message, "field 'id' is missing")
      assert.deepStrictEqual([...fake.indices.get("orders")!.keys()], ["1"], "the others are written")
    })))

  it.live("two versions of one document in a batch: the later one wins even when the earlier is retried", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch({
        decide: (item) => (item.attempt === 0 && item.id === "1" ? { status: 429, type: "es_rejected_execution_exception", reason: "busy" } : undefined)
      })
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", concurrency: 4, batch_size: 1, ...fast })
      yield* writer.writeBatch(Batch.make([{ id: 1, v: 1 }, { id: 2, v: 1 }, { id: 1, v: 2 }]))
      assert.deepStrictEqual(fake.indices.get("orders")!.get("1"), { id: 1, v: 2 })
    })))

  it.live("update merges partial documents, delete removes them (a missing one is no error)", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", [{ id: "1", source: { id: 1, name: "a", amount: 1 } }])
      const update = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", op: "update", ...fast })
      yield* writeAll(update, [{ id: 1, amount: 5 }, { id: 2, amount: 7 }])
      assert.deepStrictEqual(fake.indices.get("orders")!.get("1"), { id: 1, name: "a", amount: 5 })
      assert.deepStrictEqual(fake.indices.get("orders")!.get("2"), { id: 2, amount: 7 })
      const remove = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", op: "delete", ...fast })
      yield* writeAll(remove, [{ id: 1 }, { id: 99 }])
      assert.deepStrictEqual([...fake.indices.get("orders")!.keys()], ["2"])
    })))

  it.live("create refuses an existing id as a rejection (409)", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", [{ id: "1", source: { id: 1 } }])
      const writer = yield* openSink("elasticsearch", { node: fake.url, index: "orders", id_field: "id", op: "create", ...fast })
      const error = yield* failure(writer.writeBatch(Batch.make([{ id: 1 }, { id: 2 }])))
      assert.include(error.message, "status 409")
      assert.include(error.message, "version_conflict_engine_exception")
    })))

  it.live("a server that is not Elasticsearch, or not there, fails with a classified error and no credentials", () =>
    Effect.scoped(Effect.gen(function*() {
      const writer = yield* openSink("elasticsearch", { node: "http://elastic:s3cret-pass@127.0.0.1:1", index: "orders", id_field: "id", retry: { attempts: 1, delay: "1ms" } })
      const error = yield* failure(writer.writeBatch(Batch.make(docs(2))))
      assert.instanceOf(error, ConnectorError)
      assert.notInclude(error.message, "s3cret")
      assert.strictEqual((error as ConnectorError).reason._tag, "TransientError")
    })))
})
