/**
 * Backpressure across the branches of a fan-out: one source read by a fast branch and a slow one.
 * The slow branch holds the source back (what was read but not yet written by the slow sink stays
 * bounded by the queues), the fast branch keeps pace with the source rather than racing ahead or
 * starving, and both receive every record.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Runtime from "../../src/Runtime.ts"
import { readerSource, writerSink } from "../runtime/overrides.ts"

const COUNT = 20_000
const BATCH = 100
const CAPACITY = 2

const workflow = `name: branches
execution: { batch_size: ${BATCH}, queue_capacity: ${CAPACITY} }
sources:
  events: { type: generator, config: { count: ${COUNT} } }
transformations:
  even:
    type: filter
    inputs: [events]
    config: { condition: "id % 2 == 0" }
  tagged:
    type: map
    inputs: [events]
    config: { fields: { tag: "'all'" } }
destinations:
  fast: { type: collect, inputs: [tagged], config: {} }
  slow: { type: collect, inputs: [even], config: {} }
`

interface Progress {
  read: number
  /** One past the largest source id the slow sink has written (its records arrive in order). */
  slow: number
  fast: number
  slowRecords: number
  /** Largest read − slow seen. */
  maxAhead: number
  /** Largest fast − slow seen when the slow sink writes. */
  maxFastAhead: number
  /** Smallest fast − slow seen when the slow sink writes (negative: fast lagging behind). */
  minFastLead: number
}

const overrides = (p: Progress) =>
  Overrides.layer({
    events: readerSource("counting", () => (max) =>
      Effect.sync(() => {
        if (p.read >= COUNT) return undefined
        const n = Math.min(max, COUNT - p.read)
        const records = Array.from({ length: n }, (_, i) => ({ id: p.read + i }))
        p.read += n
        p.maxAhead = Math.max(p.maxAhead, p.read - p.slow)
        return Batch.make(records)
      })),
    fast: writerSink("fast", (b) =>
      Effect.sync(() => {
        p.fast += Batch.size(b)
        return { written: Batch.size(b) }
      })),
    slow: writerSink("slow", (b) =>
      Effect.gen(function*() {
        yield* Effect.sleep(2)
        Batch.forEach(b, (r) => {
          p.slow = Math.max(p.slow, (r as { readonly id: number }).id + 1)
        })
        p.slowRecords += Batch.size(b)
        p.maxFastAhead = Math.max(p.maxFastAhead, p.fast - p.slow)
        p.minFastLead = Math.min(p.minFastLead, p.fast - p.slow)
        return { written: Batch.size(b) }
      }))
  })

describe("backpressure across branches", () => {
  it.live("a slow branch holds the source back; the fast branch keeps pace, and neither loses a record", () =>
    Effect.gen(function*() {
      const p: Progress = { read: 0, slow: 0, fast: 0, slowRecords: 0, maxAhead: 0, maxFastAhead: 0, minFastLead: 0 }
      const graph = yield* Yaml.parse(workflow, { file: "branches.yaml", env: {} })
      const summary = yield* Runtime.run(graph).pipe(Effect.provide(overrides(p)), Effect.provide(Builtins.layer))
      assert.strictEqual(p.fast, COUNT)
      assert.strictEqual(p.slowRecords, COUNT / 2)
      // 5 tasks, 4 queues of CAPACITY batches: (4 × 2 + 5) × 100 records at most between source and
      // slow sink, whatever COUNT is
      const bound = (4 * CAPACITY + 5) * BATCH
      assert.isAtMost(p.maxAhead, bound)
      assert.isAtMost(p.maxFastAhead, bound)
      // the fast branch is never starved: it stays within the same bound behind the slow one
      assert.isAtLeast(p.minFastLead, -bound)
      const byId = new Map(summary.nodes.map((n) => [n.id, n]))
      assert.strictEqual(byId.get("fast")?.recordsIn, COUNT)
      assert.strictEqual(byId.get("slow")?.recordsIn, COUNT / 2)
    }))
})
