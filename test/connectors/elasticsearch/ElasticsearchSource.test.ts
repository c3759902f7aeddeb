/**
 * The `elasticsearch` source through the official client over real HTTP, against the fake in
 * `fakeServer.ts`: a point in time read page after page with `search_after`, the sort values
 * as the position, resume exact (in the saved point in time, or — with `sort` — in a new one
 * once it expired), a query, and the source conformance suite.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ConnectorError } from "../../../src/Errors.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { drain, failure, openSource } from "../csv/support.ts"
import { fakeElasticsearch } from "./fakeServer.ts"

const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: String(i + 1), source: { id: i + 1, group: i % 3, name: `doc ${i + 1}` } }))

sourceSuite(
  "elasticsearch source (HTTP fake, sort: id)",
  Effect.gen(function*() {
    const fake = yield* fakeElasticsearch()
    // seeded in an order that is not the sort order
    fake.seed("orders", docs(60).reverse())
    return {
      open: openSource("elasticsearch", { node: fake.url, index: "orders", sort: [{ field: "id" }], batch_size: 25 }),
      expected: docs(60).map((d) => d.source)
    }
  }),
  { batchSizes: [1, 7, 100], seekTargets: 10 }
)

describe("elasticsearch source (HTTP fake)", () => {
  it.live("reads every document once in a point in time, in pages of batch_size, and closes it at the end", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", docs(95))
      const reader = yield* openSource("elasticsearch", { node: fake.url, index: "orders", batch_size: 20 })
      const { positions, records } = yield* drain(reader, 1000)
      assert.deepStrictEqual(records, docs(95).map((d) => d.source))
      assert.strictEqual(positions.length, 5)
      assert.deepStrictEqual(positions[0], { pit: "pit-1", after: [19] })
      assert.deepStrictEqual(positions[4], { pit: "pit-1", after: [94], end: true }, "the last page says the read is complete")
      const again = yield* openSource("elasticsearch", { node: fake.url, index: "orders", batch_size: 20 })
      yield* again.seek(positions[4])
      assert.isUndefined(yield* again.readBatch(20), "a resume at the end reads nothing")
      assert.strictEqual(fake.pits.size, 0, "the point in time is closed at the end")
      const searches = fake.searches as ReadonlyArray<{ size: number; sort: unknown; search_after?: unknown }>
      assert.isTrue(searches.every((s) => s.size === 20))
      assert.deepStrictEqual(searches[0].sort, [{ _shard_doc: { order: "asc" } }])
      assert.deepStrictEqual(searches[1].search_after, [19])
    })))

  it.live("a query filters the documents; include_meta adds _id and _index", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", docs(30))
      const reader = yield* openSource("elasticsearch", { node: fake.url, index: "orders", query: { term: { group: 1 } }, include_meta: true, sort: [{ field: "id", order: "desc" }] })
      const { records } = yield* drain(reader)
      assert.deepStrictEqual(records.map((r) => (r as { id: number }).id), [29, 26, 23, 20, 17, 14, 11, 8, 5, 2])
      assert.deepStrictEqual(records[0], { id: 29, group: 1, name: "doc 29", _id: "29", _index: "orders" })
    })))

  it.live("a resume continues after the saved sort values in the saved point in time (what was read after it is unseen)", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", docs(50))
      const first = yield* openSource("elasticsearch", { node: fake.url, index: "orders", batch_size: 10 })
      const batch = yield* first.readBatch(10)
      const position = yield* first.position
      assert.deepStrictEqual(batch?.origin?.position, position)
      // a document added after the point in time was opened is not part of this read
      fake.seed("orders", [{ id: "999", source: { id: 999 } }])
      const resumed = yield* openSource("elasticsearch", { node: fake.url, index: "orders", batch_size: 10 })
      yield* resumed.seek(position)
      const { records } = yield* drain(resumed)
      assert.deepStrictEqual(records, docs(50).slice(10).map((d) => d.source))
    })))

  it.live("without sort, a resume after the point in time expired is refused, naming the way out", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", docs(30))
      const first = yield* openSource("elasticsearch", { node: fake.url, index: "orders", batch_size: 10 })
      yield* first.readBatch(10)
      const position = yield* first.position
      fake.pits.clear()
      const resumed = yield* openSource("elasticsearch", { node: fake.url, index: "orders", batch_size: 10 })
      yield* resumed.seek(position)
      const error = yield* failure(resumed.readBatch(10))
      assert.instanceOf(error, ConnectorError)
      assert.include(error.message, "point in time of the checkpoint has expired")
      assert.include(error.message, "--from-scratch")
    })))

  it.live("with sort, a resume after the point in time expired opens a new one and continues after the saved values", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", docs(30))
      const config = { node: fake.url, index: "orders", batch_size: 10, sort: [{ field: "id" }] }
      const first = yield* openSource("elasticsearch", config)
      yield* first.readBatch(10)
      const position = yield* first.position
      assert.deepStrictEqual(position, { pit: "pit-1", after: [10] }, "only the sort field's value: no tiebreaker of a point in time")
      fake.pits.clear()
      const resumed = yield* openSource("elasticsearch", config)
      yield* resumed.seek(position)
      const { records } = yield* drain(resumed)
      assert.deepStrictEqual(records, docs(30).slice(10).map((d) => d.source))
    })))

  it.live("a position from another sort, or not a position, is refused at seek", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      fake.seed("orders", docs(3))
      const reader = yield* openSource("elasticsearch", { node: fake.url, index: "orders", sort: [{ field: "id" }] })
      assert.include((yield* failure(reader.seek({ pit: "p", after: [1, 2] }))).message, "was 'sort' changed")
      assert.include((yield* failure(reader.seek(42))).message, "not a position")
    })))

  it.live("a missing index fails with a configuration error", () =>
    Effect.scoped(Effect.gen(function*() {
      const fake = yield* fakeElasticsearch()
      const reader = yield* openSource("elasticsearch", { node: fake.url, index: "nope" })
      const error = yield* failure(reader.readBatch(10))
      assert.instanceOf(error, ConnectorError)
      assert.strictEqual((error as ConnectorError).reason._tag, "ConfigurationError")
    })))
})
