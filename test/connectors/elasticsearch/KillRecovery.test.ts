/**
 * Exactly-once into Elasticsearch by idempotence, with a real process over real HTTP:
 * `dataflare run` loads an NDJSON file into the HTTP fake (`id_field`, checkpoints every 50 ms
 * into a state directory) while the fake refuses some items with 429 on their first attempt and
 * rejects documents that do not fit its mapping; the run is killed with SIGKILL twice mid-load,
 * then run again to completion. The index must hold every good document once, with its content;
 * every rejected document is in the dead letters with its status and reason, and nothing else is.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { killAt, start } from "../../cli/killRun.ts"
import { tempDir } from "../../cli/support.ts"
import { fakeElasticsearch } from "./fakeServer.ts"

const DOCS = 6000
const bad = (id: number) => id % 97 === 0

describe("elasticsearch sink: kill -9 of dataflare run mid-load (HTTP fake)", () => {
  it.live("killed twice, the rerun leaves every good document in the index once and every rejected one in the dead letters", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* fakeElasticsearch({
        // slow enough that checkpoints come while the load runs
        bulkDelay: 15,
        decide: (item) => {
          const amount = (item.source as { amount?: unknown } | undefined)?.amount
          if (typeof amount !== "number") return { status: 400, type: "document_parsing_exception", reason: "failed to parse field [amount] of type [long]" }
          return item.attempt === 0 && Number(item.id) % 13 === 0
            ? { status: 429, type: "es_rejected_execution_exception", reason: "rejected execution" }
            : undefined
        }
      })
      const lines: Array<string> = []
      for (let id = 1; id <= DOCS; id++) lines.push(JSON.stringify({ id, name: `doc ${id}`, amount: bad(id) ? "n/a" : id * 3 }))
      yield* Effect.promise(() => writeFile(join(dir, "in.ndjson"), lines.join("\n") + "\n"))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          [
            "name: es-kill",
            "execution: { batch_size: 100, checkpoint_interval: 50ms }",
            "sources:",
            "  input: { type: ndjson, config: { path: in.ndjson } }",
            "destinations:",
            "  search:",
            "    type: elasticsearch",
            "    inputs: [input]",
            `    config: { node: "${fake.url}", index: orders, id_field: id, batch_size: 50, concurrency: 2, retry: { delay: 5ms }, on_error: dead_letter, dead_letter: { path: rejected.ndjson } }`
          ].join("\n")
        )
      )
      const first = yield* killAt(dir, yield* start(dir), 1)
      const second = yield* killAt(dir, yield* start(dir), first + 3)
      assert.isTrue(second > first)
      const index = () => fake.indices.get("orders") ?? new Map<string, unknown>()
      const good = Array.from({ length: DOCS }, (_, i) => i + 1).filter((id) => !bad(id))
      assert.isTrue(index().size < good.length, "the killed runs had not loaded everything")
      const last = yield* (yield* start(dir)).ended
      assert.strictEqual(last.code, 0, last.stderr)
      assert.strictEqual(index().size, good.length, "every good document, once")
      for (const id of good) assert.deepStrictEqual(index().get(String(id)), { id, name: `doc ${id}`, amount: id * 3 })
      const letters = (yield* Effect.promise(() => readFile(join(dir, "rejected.ndjson"), "utf8"))).trim().split("\n").map((l) => JSON.parse(l) as { id: string; status: number; reason: string })
      assert.deepStrictEqual([...new Set(letters.map((l) => Number(l.id)))].sort((a, b) => a - b), Array.from({ length: DOCS }, (_, i) => i + 1).filter(bad))
      assert.isTrue(letters.every((l) => l.status === 400 && l.reason.includes("failed to parse field [amount]")))
      // the 429s were sent again (documents with ids divisible by 13 were all written)
      assert.isTrue(fake.requests.some((r) => r.some((item) => item.attempt === 1 && Number(item.id) % 13 === 0)))
    }).pipe(Effect.scoped), 240_000)
})
