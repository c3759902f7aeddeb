/**
 * Encoded batches through the planner and the runtime: a source that can hand its records on as
 * bytes (`encodes`) does so only to a sink that accepts them and is its only consumer; the
 * runtime moves such batches without decoding them (adaptive batching included); anything that
 * reads their records gets the decoded records.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Connector from "../../src/Connector.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import type { Definition } from "../../src/Registry.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

interface Row {
  readonly n: string
}

/** What the test connectors saw: batches handed on encoded, batches decoded, records written. */
const seen = { encodedOpens: 0, encodedBatches: 0, decodedBatches: 0, written: [] as Array<Row>, bytes: [] as Array<string> }

/** A source of `count` rows `{ n }`; when opened with `encoding: text/csv`, as CSV bytes ("n\n" lines). */
const Lines = Connector.source({
  type: "lines",
  description: "rows { n } for n in [0, count), as text/csv bytes when a sink takes them",
  config: Schema.Struct({ count: Schema.Int, chunk: Schema.optionalKey(Schema.Int) }),
  capabilities: () => ({ seekable: true, unbounded: false, encodes: ["text/csv"] }),
  check: () => Effect.void,
  open: (config, ctx) =>
    Effect.sync(() => {
      let next = 0
      if (ctx.encoding === "text/csv") seen.encodedOpens++
      const reader: Connector.SourceReader<Row> = {
        readBatch: (max) =>
          Effect.sync(() => {
            if (next >= config.count) return undefined
            const from = next
            // `chunk`: reads shorter than asked (adaptive batching then gathers plain batches)
            next = Math.min(config.count, next + Math.min(max, config.chunk ?? max))
            const rows = Array.from({ length: next - from }, (_, i) => ({ n: String(from + i) }))
            const origin = { source: ctx.node, position: next }
            if (ctx.encoding !== "text/csv") return Batch.make(rows, { origin, readAt: Date.now() })
            const bytes = new TextEncoder().encode(rows.map((r) => `${r.n}\n`).join(""))
            const encoded: Batch.CsvEncoded = { format: "text/csv", bytes, delimiter: ",", columns: ["n"], emptyIsNull: [false], file: "mem", line: from + 1 }
            return Batch.encoded<Row>(encoded, rows.length, () => {
              seen.decodedBatches++
              return new TextDecoder().decode(bytes).split("\n").filter((l) => l.length > 0).map((n) => ({ n }))
            }, { origin, readAt: Date.now() })
          }),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
      return reader
    })
})

/** A sink that writes the bytes of encoded batches as they are (when `accept`), records otherwise. */
const Bytes = Connector.sink({
  type: "bytes",
  description: "keeps CSV bytes, or records",
  config: Schema.Struct({ accept: Schema.Boolean }),
  capabilities: (config) => ({ guarantee: "at-least-once", transactional: false, ...(config.accept ? { accepts: ["text/csv"] } : {}) }),
  check: () => Effect.void,
  open: () =>
    Effect.sync(() => {
      const writer: Connector.SinkWriter<Row> = {
        writeBatch: (batch) =>
          Effect.sync(() => {
            const enc = Batch.encodedOf(batch)
            if (enc !== undefined) {
              seen.encodedBatches++
              seen.bytes.push(new TextDecoder().decode(enc.bytes))
            } else {
              for (const r of Batch.toArray(batch)) seen.written.push(r)
            }
            return { written: Batch.size(batch) }
          }),
        flush: Effect.void
      }
      return writer
    })
})

const layer = Registry.layer([...Builtins.definitions, Lines as Definition, Bytes as Definition])

const reset = () => {
  seen.encodedOpens = 0
  seen.encodedBatches = 0
  seen.decodedBatches = 0
  seen.written = []
  seen.bytes = []
}

const graphOf = (nodes: ReadonlyArray<WorkflowGraph.Node>, batching = false) =>
  WorkflowGraph.make({
    name: "encoded",
    nodes,
    ...(batching ? { execution: { batch_size: 100, batching: { adaptive: true, min: 10, max: 100, latency_target: "20ms" } } } : {})
  })

const src = (parallelism = 1, chunk?: number): WorkflowGraph.Node => ({
  kind: "source",
  id: "src",
  type: "lines",
  config: { count: 1000, ...(chunk !== undefined ? { chunk } : {}) },
  inputs: [],
  parallelism
})
const sink = (input: string, accept = true, id = "out"): WorkflowGraph.Node => ({ kind: "sink", id, type: "bytes", config: { accept }, inputs: [input] })

const encodingOf = (graph: WorkflowGraph.WorkflowGraph) =>
  Effect.map(Runtime.prepare(graph), (prepared) => {
    const plan = Runtime.plan(prepared)
    const task = plan.tasks.find((t) => t._tag === "Source")
    return { encoding: task?._tag === "Source" ? task.encoding : undefined, text: PlanFormat.text(plan) }
  })

describe("encoded batches", () => {
  it.effect("the planner hands bytes on only to a sink that accepts them and is the source's only consumer", () =>
    Effect.gen(function*() {
      const direct = yield* encodingOf(graphOf([src(), sink("src")]))
      assert.strictEqual(direct.encoding, "text/csv")
      assert.include(direct.text, "source: src (lines), parallelism 1, hands text/csv bytes to its sink unparsed")
      const filtered = graphOf([
        src(),
        { kind: "processor", id: "f", type: "filter", config: { condition: "true" }, inputs: ["src"] },
        sink("f")
      ])
      assert.strictEqual((yield* encodingOf(filtered)).encoding, undefined, "a processor reads records")
      assert.strictEqual((yield* encodingOf(graphOf([src(), sink("src", false)]))).encoding, undefined, "the sink does not accept bytes")
      assert.strictEqual((yield* encodingOf(graphOf([src(), sink("src"), sink("src", true, "other")]))).encoding, undefined, "two consumers")
      assert.strictEqual((yield* encodingOf(graphOf([src(2), sink("src")]))).encoding, undefined, "source parallelism 2")
      assert.notInclude(PlanFormat.text(Runtime.plan(yield* Runtime.prepare(filtered))), "hands")
    }).pipe(Effect.provide(layer)))

  for (const batching of [false, true]) {
    it.effect(`the runtime moves encoded batches to the sink without decoding them${batching ? " (adaptive batching)" : ""}`, () =>
      Effect.gen(function*() {
        reset()
        const summary = yield* Runtime.run(graphOf([src(1, batching ? 7 : undefined), sink("src")], batching))
        assert.strictEqual(seen.encodedOpens, 1)
        assert.isAbove(seen.encodedBatches, 0)
        assert.strictEqual(seen.decodedBatches, 0, "nothing read the records")
        assert.strictEqual(seen.bytes.join(""), Array.from({ length: 1000 }, (_, i) => `${i}\n`).join(""))
        assert.strictEqual(summary.nodes.find((n) => n.id === "out")?.recordsOut, 1000)
        assert.strictEqual(summary.nodes.find((n) => n.id === "src")?.recordsOut, 1000)
      }).pipe(Effect.provide(layer)))
  }

  it("Batch.encoded: records decode on demand, a slice is a plain batch, a decoder that disagrees with the count is an error", () => {
      const encoded: Batch.CsvEncoded = { format: "text/csv", bytes: new TextEncoder().encode("1\n2\n"), delimiter: ",", columns: ["n"], emptyIsNull: [false], file: "mem", line: 1 }
      const batch = Batch.encoded<Row>(encoded, 2, () => [{ n: "1" }, { n: "2" }])
      assert.deepStrictEqual(Batch.toArray(batch), [{ n: "1" }, { n: "2" }])
      assert.deepStrictEqual(Batch.toArray(Batch.slice(batch, 1)), [{ n: "2" }])
      assert.strictEqual(Batch.encodedOf(Batch.slice(batch, 1)), undefined, "a slice is a plain batch")
      const wrongCount = Batch.encoded<Row>(encoded, 3, () => [{ n: "1" }, { n: "2" }])
      const result = Batch.decodeRecords(wrongCount)
      assert.isTrue("error" in result, "a decoder that disagrees with the count is an error, not a short batch")
  })
})
