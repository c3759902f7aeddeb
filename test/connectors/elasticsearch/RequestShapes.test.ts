/**
 * The requests the `elasticsearch` sink makes, seen through `@elastic/elasticsearch-mock` (the
 * official client with its HTTP layer replaced): the bulk body's action and source lines for
 * each `op`, `routing`, the credentials in the client's options and never in a message; and
 * the pure parts (bulk items, rounds, requests, item classification) on their own.
 */
import { assert, describe, it } from "@effect/vitest"
import MockPackage from "@elastic/elasticsearch-mock"
import { Effect, Redacted, Schema } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { SinkConfig } from "../../../src/connectors/elasticsearch/ElasticsearchConfig.ts"
import { reasonOf, redactUrls } from "../../../src/connectors/elasticsearch/ElasticsearchError.ts"
import { openWith } from "../../../src/connectors/elasticsearch/ElasticsearchSink.ts"
import { classifyItem, isItem, requests, toItem } from "../../../src/connectors/elasticsearch/internal/bulk.ts"
import { rounds } from "../../../src/connectors/kit/internal/itemWrites.ts"
import { type ClientOverrides, clientOptions } from "../../../src/connectors/elasticsearch/internal/client.ts"
import { prepare } from "../csv/support.ts"

// CommonJS (`module.exports = Mock`) declaring `export default`: the default import is the class at run time
const Mock = MockPackage as unknown as typeof MockPackage.default

const context = { node: "search", batchSize: 100, instance: 0, parallelism: 1 }

/** A writer whose client talks to `mock`, and the bodies of the bulk requests it sent. */
const mocked = (config: unknown) =>
  Effect.gen(function*() {
    const mock = new Mock()
    const bodies: Array<unknown> = []
    mock.add({ method: "POST", path: ["/_bulk"] }, (params) => {
      const body = params.body as ReadonlyArray<Record<string, unknown>>
      bodies.push(body)
      const items = body.filter((line) => ["index", "create", "update", "delete"].some((op) => op in line)).map((line) => {
        const op = Object.keys(line)[0]
        return { [op]: { status: 201, _id: (line[op] as { _id?: string })._id ?? "x" } }
      })
      return { errors: false, took: 1, items }
    })
    const decoded = yield* Schema.decodeUnknownEffect(SinkConfig)(config).pipe(Effect.orDie)
    const writer = yield* openWith({ Connection: mock.getConnection() as unknown as NonNullable<ClientOverrides["Connection"]> })(decoded, context)
    return { writer, bodies }
  })

describe("elasticsearch sink: request shapes (@elastic/elasticsearch-mock)", () => {
  it.effect("index: one action line with _index and _id, then the document", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bodies, writer } = yield* mocked({ node: "http://es:9200", index: "orders", id_field: "id" })
      yield* writer.writeBatch(Batch.make([{ id: 1, name: "a" }, { id: "b-2", name: "b" }]))
      assert.deepStrictEqual(bodies, [[
        { index: { _index: "orders", _id: "1" } },
        { id: 1, name: "a" },
        { index: { _index: "orders", _id: "b-2" } },
        { id: "b-2", name: "b" }
      ]])
    })))

  it.effect("update sends the partial document with doc_as_upsert; delete only the action; routing from a field", () =>
    Effect.scoped(Effect.gen(function*() {
      const update = yield* mocked({ node: "http://es:9200", index: "orders", id_field: "id", op: "update", routing: "customer" })
      yield* update.writer.writeBatch(Batch.make([{ id: 1, customer: "c7", amount: 2 }]))
      assert.deepStrictEqual(update.bodies, [[
        { update: { _index: "orders", _id: "1", routing: "c7" } },
        { doc: { id: 1, customer: "c7", amount: 2 }, doc_as_upsert: true }
      ]])
      const remove = yield* mocked({ node: "http://es:9200", index: "orders", id_field: "id", op: "delete" })
      yield* remove.writer.writeBatch(Batch.make([{ id: 1 }, { id: 2 }]))
      assert.deepStrictEqual(remove.bodies, [[{ delete: { _index: "orders", _id: "1" } }, { delete: { _index: "orders", _id: "2" } }]])
    })))

  it.effect("without id_field Elasticsearch picks the ids (at-least-once); create keeps the op name", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bodies, writer } = yield* mocked({ node: "http://es:9200", index: "logs", op: "create" })
      yield* writer.writeBatch(Batch.make([{ msg: "x", n: 10n }]))
      assert.deepStrictEqual(bodies, [[{ create: { _index: "logs" } }, { msg: "x", n: 10 }]])
    })))

  it("the plan's guarantee: exactly-once with id_field (index, update, delete), at-least-once without or with create", () => {
    const guarantee = (config: unknown) => {
      const p = prepare("sink", "elasticsearch", config)
      return p._tag === "PreparedSink" ? p.capabilities.guarantee : undefined
    }
    assert.strictEqual(guarantee({ node: "http://es:9200", index: "i", id_field: "id" }), "exactly-once")
    assert.strictEqual(guarantee({ node: "http://es:9200", index: "i", id_field: "id", op: "delete" }), "exactly-once")
    assert.strictEqual(guarantee({ node: "http://es:9200", index: "i" }), "at-least-once")
    assert.strictEqual(guarantee({ node: "http://es:9200", index: "i", id_field: "id", op: "create" }), "at-least-once")
  })

  it("credentials go to the client's options, redacted until then, and are refused half-given", () => {
    const config = Schema.decodeUnknownSync(SinkConfig)({ node: "http://es:9200", index: "i", api_key: "c2VjcmV0LWtleQ==" })
    assert.isTrue(Redacted.isRedacted(config.api_key))
    assert.notInclude(String(config.api_key), "c2VjcmV0")
    assert.deepStrictEqual(clientOptions(config).auth, { apiKey: "c2VjcmV0LWtleQ==" })
    const basic = Schema.decodeUnknownSync(SinkConfig)({ node: "http://es:9200", index: "i", username: "elastic", password: "pw" })
    assert.deepStrictEqual(clientOptions(basic).auth, { username: "elastic", password: "pw" })
    assert.strictEqual(clientOptions(basic).maxRetries, 0, "the sink retries items itself")
    assert.throws(() => Schema.decodeUnknownSync(SinkConfig)({ node: "http://es:9200", index: "i", username: "elastic" }), /username and password go together/)
    assert.throws(() => Schema.decodeUnknownSync(SinkConfig)({ node: "http://es:9200", index: "i", op: "delete" }), /op: delete needs id_field/)
    assert.throws(() => Schema.decodeUnknownSync(SinkConfig)({ node: "http://es:9200", index: "i", on_error: "dead_letter" }), /needs dead_letter/)
    assert.strictEqual(redactUrls("connect ECONNREFUSED http://elastic:pw@10.0.0.1:9200/_bulk"), "connect ECONNREFUSED http://***@10.0.0.1:9200/_bulk")
  })

  it("client errors are classified by class and status, never by message", () => {
    const response = (status: number, type: string) => Object.assign(new Error(type), { name: "ResponseError", meta: { statusCode: status }, body: { error: { type } } })
    assert.strictEqual(reasonOf(response(429, "too_many_requests")).isRetryable, true)
    assert.strictEqual(reasonOf(response(503, "unavailable")).isRetryable, true)
    assert.strictEqual(reasonOf(response(401, "security_exception"))._tag, "ConfigurationError")
    assert.strictEqual(reasonOf(response(400, "parse_exception"))._tag, "RejectedError")
    assert.strictEqual(reasonOf(Object.assign(new Error("x"), { name: "ConnectionError" }))._tag, "ConnectionError")
    assert.strictEqual(reasonOf(Object.assign(new Error("x"), { name: "ProductNotSupportedError" }))._tag, "ConfigurationError")
  })
})

describe("elasticsearch sink: bulk items (pure)", () => {
  const options = { index: "i", op: "index" as const, idField: "id", routing: undefined }

  it("a record without a usable id is refused with the reason", () => {
    assert.deepStrictEqual(toItem({ id: null }, 3, options), { index: 3, reason: "field 'id' is missing (null)" })
    assert.deepStrictEqual(toItem({ id: { a: 1 } }, 0, options), { index: 0, reason: "field 'id' is a object, not a string or a number" })
    assert.deepStrictEqual(toItem([1], 0, options), { index: 0, reason: "the record is a list, not an object" })
    const cycle: Record<string, unknown> = { id: 1 }
    cycle.self = cycle
    const built = toItem(cycle, 0, options)
    assert.isFalse(isItem(built))
  })

  it("rounds keep the k-th occurrence of each id apart, in order; requests are bounded by count and bytes", () => {
    const items = [1, 2, 1, 3, 1].map((id, i) => toItem({ id }, i, options)).filter(isItem)
    assert.deepStrictEqual(rounds(items).map((r) => r.map((x) => x.index)), [[0, 1, 3], [2], [4]])
    const sized = Array.from({ length: 10 }, (_, i) => toItem({ id: i, pad: "x".repeat(50) }, i, options)).filter(isItem)
    const each = sized[0].bytes
    assert.deepStrictEqual(requests(sized, 4, 100_000).map((r) => r.length), [4, 4, 2])
    assert.deepStrictEqual(requests(sized, 100, each * 3).map((r) => r.length), [3, 3, 3, 1])
    assert.deepStrictEqual(requests(sized.slice(0, 2), 100, 1).map((r) => r.length), [1, 1], "an item over max_bytes goes alone")
  })

  it("bulk item results: written, retryable, rejected", () => {
    assert.deepStrictEqual(classifyItem("index", { index: { status: 201 } }), { _tag: "Written" })
    assert.deepStrictEqual(classifyItem("delete", { delete: { status: 404, result: "not_found" } }), { _tag: "Written" })
    assert.strictEqual(classifyItem("index", { index: { status: 429, error: { type: "x", reason: "y" } } })._tag, "Retry")
    assert.strictEqual(classifyItem("index", { index: { status: 500, error: { type: "x" } } })._tag, "Retry")
    assert.strictEqual(classifyItem("index", { index: { status: 400, error: { type: "es_rejected_execution_exception" } } })._tag, "Retry")
    assert.deepStrictEqual(classifyItem("index", { index: { status: 400, error: { type: "mapper_parsing_exception", reason: "bad", caused_by: { reason: "why" } } } }), {
      _tag: "Rejected",
      status: 400,
      reason: "mapper_parsing_exception: bad: why"
    })
    assert.strictEqual(classifyItem("create", { create: { status: 409, error: { type: "version_conflict_engine_exception" } } })._tag, "Rejected")
  })
})
