/**
 * The `elasticsearch` connectors against a real server, when `ELASTICSEARCH_URL` is set (e.g.
 * `ELASTICSEARCH_URL=http://elastic:changeme@localhost:9200`); reported as skipped otherwise
 * (no Elasticsearch runs on the machines this project is built on: the HTTP fake covers the
 * same ground there). Each test writes its own index and deletes it.
 */
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Client } from "@elastic/elasticsearch"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { drain, openSink, openSource, tempDir, writeAll } from "../csv/support.ts"

const URL = process.env.ELASTICSEARCH_URL

describe.skipIf(URL === undefined)("elasticsearch against a real server (ELASTICSEARCH_URL)", () => {
  const withIndex = Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ node: URL! })
      const index = `dataflare-test-${randomUUID()}`
      await client.indices.create({ index, mappings: { properties: { id: { type: "long" }, amount: { type: "long" } } } })
      return { client, index }
    }),
    ({ client, index }) => Effect.promise(() => client.indices.delete({ index }).then(() => client.close()))
  )

  it.live("bulk writes by id, a mapping error dead-lettered, then a point-in-time read in order with resume", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client, index } = yield* withIndex
      const dir = yield* tempDir
      const path = join(dir, "rejected.ndjson")
      const writer = yield* openSink("elasticsearch", { node: URL, index, id_field: "id", refresh: true, on_error: "dead_letter", dead_letter: { path } })
      const docs = Array.from({ length: 500 }, (_, i) => ({ id: i + 1, amount: i + 1 === 250 ? "not a number" : i * 2 }))
      yield* writeAll(writer, docs, 200)
      yield* writeAll(writer, docs.slice(0, 100), 100) // a replay: the same ids again
      const count = yield* Effect.promise(() => client.count({ index }))
      assert.strictEqual(count.count, 499)
      const letters = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; status: number })
      assert.deepStrictEqual(letters.map((l) => [l.id, l.status]), [["250", 400]])
      const source = yield* openSource("elasticsearch", { node: URL, index, batch_size: 100, sort: [{ field: "id" }] })
      const first = yield* source.readBatch(100)
      assert.strictEqual(Batch.size(first!), 100)
      const position = yield* source.position
      const resumed = yield* openSource("elasticsearch", { node: URL, index, batch_size: 100, sort: [{ field: "id" }] })
      yield* resumed.seek(position)
      const { records } = yield* drain(resumed, 100)
      assert.deepStrictEqual(records.map((r) => (r as { id: number }).id), docs.slice(100).map((d) => d.id).filter((id) => id !== 250))
    })))
})
