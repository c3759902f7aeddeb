/**
 * Watermarks a source sets on its batches survive adaptive batching: when the source task gathers
 * several short reads into one batch, the batch carries the watermark of the *first* read. A
 * watermark must hold for every record of its batch; a later read's watermark may already be past
 * the records read before it, and handing it on with them made a windowed operator drop those
 * records as late (the cluster's keyed exchange hands its consumers' operators such watermarks).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Connector from "../../src/Connector.ts"
import { clearCollected, collected } from "../../src/connectors/memory/CollectSink.ts"
import type { Definition } from "../../src/Registry.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

/** Reads: one record `{ t }` each, with the watermark the read says (everything before it has come). */
const READS: ReadonlyArray<{ readonly t: number; readonly watermark: number }> = [
  { t: 100, watermark: 0 },
  { t: 150, watermark: 50 },
  { t: 300, watermark: 200 }
]

/** A source of {@link READS}, one short read at a time, each batch with its watermark. */
const Ticks = Connector.source({
  type: "ticks",
  description: "one record per read, each read with a watermark",
  config: Schema.Struct({}),
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: () => Effect.void,
  open: (_config, ctx) =>
    Effect.sync(() => {
      let next = 0
      const reader: Connector.SourceReader<{ readonly t: number }> = {
        readBatch: () =>
          Effect.sync(() => {
            const read = READS[next]
            if (read === undefined) return undefined
            next += 1
            return Batch.make([{ t: read.t }], { origin: { source: ctx.node, position: next }, watermark: read.watermark, readAt: Date.now() })
          }),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
      return reader
    })
})

const layer = Layer.merge(Registry.layer([...Builtins.definitions, Ticks as Definition]), StateBackend.layerMemory)

describe("source watermarks", () => {
  for (const adaptive of [true, false]) {
    it.effect(`a windowed aggregate behind a source with watermarks counts every record in time${adaptive ? " (short reads gathered)" : ""}`, () =>
      Effect.gen(function*() {
        clearCollected("watermarks")
        const graph = WorkflowGraph.make({
          name: "watermarks",
          // a long linger: the three short reads are gathered into one batch
          ...(adaptive ? { execution: { batch_size: 100, batching: { adaptive: true, min: 10, max: 100, latency_target: "20ms", linger: "5s" } } } : {}),
          nodes: [
            { kind: "source", id: "ticks", type: "ticks", config: {}, inputs: [] },
            {
              kind: "processor",
              id: "per_100ms",
              type: "aggregate",
              // the clock moves only with the batches' watermarks (records never move it)
              config: { time_field: "t", window: { type: "tumbling", size: 100 }, max_out_of_orderness: 1e12, window_format: "epoch_ms", aggregates: { n: { op: "count" } } },
              inputs: ["ticks"]
            },
            { kind: "sink", id: "out", type: "collect", config: { name: "watermarks" }, inputs: ["per_100ms"] }
          ]
        })
        const summary = yield* Runtime.run(graph)
        assert.strictEqual(summary.nodes.find((n) => n.id === "ticks")?.recordsOut, 3)
        const windows = collected("watermarks").map((r) => {
          const w = r as { readonly window_start: number; readonly n: number }
          return [w.window_start, w.n]
        })
        // none of the three is behind the watermark its own read came with: none is late
        assert.deepStrictEqual(windows, [[100, 2], [300, 1]])
      }).pipe(Effect.provide(layer)))
  }
})
