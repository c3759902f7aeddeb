/**
 * The pure parts of the `mongodb` connectors: records → bulk operations per mode, a bulk write's
 * error → each operation's outcome, driver errors → reasons (by class, label and code, never by
 * message), config refusals, and resource names without credentials.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted, Schema } from "effect"
import { ObjectId } from "mongodb"
import { SinkConfig, SourceConfig } from "../../../src/connectors/mongodb/MongodbConfig.ts"
import { reasonOf, redactUrls } from "../../../src/connectors/mongodb/MongodbError.ts"
import { collectionResource, hostsOf } from "../../../src/connectors/mongodb/internal/client.ts"
import { idKey, outcomesOfError, toOperation } from "../../../src/connectors/mongodb/internal/operations.ts"

const config = (c: Record<string, unknown>) => Schema.decodeUnknownSync(SinkConfig)({ url: "mongodb://h:27017", database: "d", collection: "c", ...c })

describe("mongodb: records as bulk operations", () => {
  it("insert keeps the record (its own _id, or id_field's value as _id)", () => {
    assert.deepStrictEqual(toOperation({ a: 1 }, 0, config({})), { index: 0, key: undefined, id: undefined, operation: { insertOne: { document: { a: 1 } } } })
    const op = toOperation({ order_id: 7, _id: "old", a: 1 }, 2, config({ id_field: "order_id" }))
    assert.deepStrictEqual<unknown>(op, { index: 2, key: idKey(7), id: 7, operation: { insertOne: { document: { _id: 7, order_id: 7, a: 1 } } } })
  })

  it("upsert $sets the fields but _id; replace replaces all but _id; id_key: field matches on the field", () => {
    assert.deepStrictEqual<unknown>(toOperation({ _id: "x", k: "a", v: 1 }, 0, config({ mode: "upsert", id_field: "k" })), {
      index: 0,
      key: idKey("a"),
      id: "a",
      operation: { updateOne: { filter: { _id: "a" }, update: { $set: { k: "a", v: 1 } }, upsert: true } }
    })
    assert.deepStrictEqual(toOperation({ k: "a", v: 1 }, 0, config({ mode: "replace", id_field: "k", id_key: "field" })), {
      index: 0,
      key: idKey("a"),
      id: "a",
      operation: { replaceOne: { filter: { k: "a" }, replacement: { k: "a", v: 1 }, upsert: true } }
    })
  })

  it("a record without a usable id, or not an object, is refused with the reason", () => {
    assert.deepStrictEqual(toOperation({ v: 1 }, 3, config({ mode: "upsert", id_field: "k" })), { index: 3, reason: "field 'k' is missing (null)" })
    assert.deepStrictEqual(toOperation({ k: [1] }, 0, config({ mode: "upsert", id_field: "k" })), { index: 0, reason: "field 'k' is a list: it cannot identify a document" })
    assert.deepStrictEqual(toOperation("x", 0, config({})), { index: 0, reason: "the record is a string, not an object" })
  })

  it("keys tell ids of different BSON types apart", () => {
    assert.notStrictEqual(idKey(1), idKey("1"))
    const oid = new ObjectId()
    assert.strictEqual(idKey(oid), idKey(new ObjectId(oid.toHexString())))
  })
})

describe("mongodb: a bulk write's error as each operation's outcome", () => {
  const bulkError = (writeErrors: unknown, extra: Record<string, unknown> = {}) => Object.assign(new Error("bulk"), { name: "MongoBulkWriteError", writeErrors, ...extra })

  it("write errors: transient codes retried, others rejected, the rest written", () => {
    assert.deepStrictEqual(outcomesOfError(4, bulkError([{ index: 1, code: 11000, errmsg: "dup" }, { index: 3, code: 189, errmsg: "stepped down" }])), [
      { _tag: "Written" },
      { _tag: "Rejected", status: "code 11000", reason: "dup" },
      { _tag: "Written" },
      { _tag: "Retry", reason: "code 189: stepped down" }
    ])
    assert.deepStrictEqual(outcomesOfError(1, bulkError({ index: 0, code: 121, errmsg: "invalid" }))?.[0], { _tag: "Rejected", status: "code 121", reason: "invalid" }, "one write error, not a list")
  })

  it("a write concern error sends everything not rejected again", () => {
    const outcomes = outcomesOfError(2, bulkError([{ index: 0, code: 11000, errmsg: "dup" }], { err: { code: 64, errmsg: "waiting for replication timed out" } }))
    assert.deepStrictEqual(outcomes?.map((o) => o._tag), ["Rejected", "Retry"])
  })

  it("other errors: retryable ones retry every operation, the rest fail the call", () => {
    assert.deepStrictEqual(outcomesOfError(2, Object.assign(new Error("reset"), { name: "MongoNetworkError" }))?.map((o) => o._tag), ["Retry", "Retry"])
    assert.isUndefined(outcomesOfError(2, Object.assign(new Error("not authorized"), { name: "MongoServerError", code: 13 })))
  })
})

describe("mongodb: errors and config", () => {
  it("driver errors are classified by class, label and code", () => {
    const error = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error("x"), { name, ...extra })
    assert.strictEqual(reasonOf(error("MongoServerSelectionError"))._tag, "ConnectionError")
    assert.strictEqual(reasonOf(error("MongoNetworkTimeoutError"))._tag, "TimeoutError")
    assert.strictEqual(reasonOf(error("MongoServerError", { errorLabels: ["RetryableWriteError"] }))._tag, "TransientError")
    assert.strictEqual(reasonOf(error("MongoServerError", { hasErrorLabel: (l: string) => l === "RetryableWriteError" }))._tag, "TransientError")
    assert.strictEqual(reasonOf(error("MongoServerError", { code: 10107 }))._tag, "TransientError")
    assert.strictEqual(reasonOf(error("MongoServerError", { code: 18 }))._tag, "ConfigurationError")
    assert.strictEqual(reasonOf(error("MongoServerError", { code: 11000 }))._tag, "RejectedError")
  })

  it("the URL is redacted: never in the decoded config's text, messages or resource names", () => {
    const c = config({ url: "mongodb://app:s3cret@db-1:27017,db-2:27017/shop?replicaSet=rs0" })
    assert.isTrue(Redacted.isRedacted(c.url))
    assert.notInclude(String(c.url), "s3cret")
    assert.strictEqual(redactUrls("failed to connect to mongodb://app:s3cret@db-1:27017"), "failed to connect to mongodb://***@db-1:27017")
    assert.strictEqual(hostsOf("mongodb+srv://app:s3cret@cluster0.example.net/shop?retryWrites=true"), "cluster0.example.net")
    assert.deepStrictEqual(collectionResource(c), { kind: "mongodb-collection", name: "db-1:27017,db-2:27017 d.c" })
  })

  it("configs refuse what cannot work, naming the key", () => {
    assert.throws(() => config({ mode: "upsert" }), /mode: upsert needs id_field/)
    assert.throws(() => config({ id_key: "field" }), /id_key applies to id_field/)
    assert.throws(() => config({ on_error: "dead_letter" }), /needs dead_letter/)
    assert.throws(() => config({ url: "postgres://h" }), /mongodb:\/\//)
    const source = (c: Record<string, unknown>) => Schema.decodeUnknownSync(SourceConfig)({ url: "mongodb://h", database: "d", collection: "c", ...c })
    assert.throws(() => source({ mode: "change_stream", filter: { a: 1 } }), /filter applies to mode: scan/)
    assert.throws(() => source({ pipeline: [] }), /applies to mode: change_stream/)
  })
})
