/**
 * Scenario 4: latency. A rate-limited source emits records at 50 % of the pipeline's measured
 * maximum rate; every record carries its arrival time and the sink measures the time to its
 * acknowledgement. p50/p95/p99 with adaptive batching, and with fixed batches (a batch is emitted
 * when it is full, as a plain batching pipeline would).
 */
import { Effect } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { loadavg } from "node:os"
import { collectGarbage } from "../lib/gc.ts"
import { median } from "../lib/stats.ts"

interface Arrival {
  readonly t: number
  readonly id: number
  readonly amount: number
}

export const run = (options: { readonly rate: number | undefined; readonly records: number; readonly adaptive: boolean; readonly fixedBatch: number }) =>
  Effect.gen(function*() {
    // preallocated: a growing array of a million numbers would itself cause long scavenges
    const latencies = new Float64Array(options.records)
    let acked = 0
    let emitted = 0
    const start = performance.now()
    const overrides = Overrides.layer({
      src: {
        _tag: "PreparedSource",
        type: "rate",
        capabilities: { seekable: false, unbounded: false },
        check: Effect.void,
        open: () =>
          Effect.succeed({
            readBatch: (max: number) =>
              Effect.gen(function*() {
                if (emitted >= options.records) return undefined
                const want = Math.min(max, options.records - emitted)
                if (options.rate !== undefined) {
                  const available = () => Math.floor(((performance.now() - start) * options.rate!) / 1000) - emitted
                  // fixed batching waits until a full batch has arrived; adaptive takes what is there
                  const needed = options.adaptive ? 1 : want
                  while (available() < needed) yield* Effect.sleep(Math.max(1, Math.ceil(((needed - available()) * 1000) / options.rate)))
                }
                const n = options.rate === undefined ? want : Math.min(want, Math.floor(((performance.now() - start) * options.rate) / 1000) - emitted)
                const records: Array<Arrival> = []
                for (let i = 0; i < n; i++) {
                  const id = emitted + i
                  records.push({ t: options.rate === undefined ? performance.now() : start + (id * 1000) / options.rate, id, amount: id % 1000 })
                }
                emitted += n
                return Batch.make(records)
              }),
            position: Effect.succeed(null),
            seek: () => Effect.void,
            commit: () => Effect.void
          })
      },
      out: {
        _tag: "PreparedSink",
        type: "ack",
        capabilities: { guarantee: "at-least-once", transactional: false },
        check: Effect.void,
        open: () =>
          Effect.succeed({
            writeBatch: (b: Batch.Batch<unknown>) =>
              Effect.sync(() => {
                // the work of an NDJSON sink without the disk: encode the batch
                let text = ""
                Batch.forEach(b, (r) => {
                  text += JSON.stringify(r) + "\n"
                })
                const now = performance.now()
                Batch.forEach(b, (r) => {
                  latencies[acked++] = now - (r as Arrival).t
                })
                return { written: Batch.size(b), bytes: text.length }
              }),
            flush: Effect.void
          })
      }
    })
    const graph = WorkflowGraph.make({
      name: "bench-latency",
      execution: {
        batch_size: options.fixedBatch,
        ...(options.adaptive ? { batching: { adaptive: true, min: 16, max: options.fixedBatch, latency_target: "20ms", linger: "2ms" } } : {})
      },
      nodes: [
        { kind: "source", id: "src", type: "memory", config: { records: [] }, inputs: [] },
        { kind: "processor", id: "big", type: "filter", config: { condition: "amount >= 0" }, inputs: ["src"] },
        { kind: "processor", id: "gross", type: "map", config: { fields: { gross: "amount * 1.19" } }, inputs: ["big"] },
        { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["gross"] }
      ]
    })
    const t = performance.now()
    yield* Runtime.run(graph).pipe(Effect.provide(overrides), Effect.provide(Builtins.layer))
    const seconds = (performance.now() - t) / 1000
    return { rate: options.records / seconds, latencies: latencies.subarray(0, acked).sort() }
  })

/** The p-th percentile of sorted values. */
const pct = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

/**
 * Measures the maximum rate, then runs adaptive and fixed batching alternately `rounds` times at
 * half that rate (each mode gets one short unmeasured warm-up run first, so neither pays for the
 * JIT, and a full GC before every run, so none pays for the garbage of the one before) and reports the median of each percentile over the rounds, and every round's p99.
 */
export const latency = async (records: number, rounds = 3): Promise<{ markdown: string }> => {
  const max = await Effect.runPromise(run({ rate: undefined, records, adaptive: false, fixedBatch: 5000 }))
  const rate = Math.floor(max.rate / 2)
  const lines = [
    `### 4. Latency at 50 % of the maximum rate (max ${Math.round(max.rate).toLocaleString("en")} records/s → ${rate.toLocaleString("en")} records/s)`,
    "",
    "| batching | p50 ms | p95 ms | p99 ms | p99 of each round | records per round |",
    "|---|---:|---:|---:|---|---:|"
  ]
  const n = Math.min(records, rate * 2) // about two seconds of input per round
  const modes = [true, false]
  for (const adaptive of modes) await Effect.runPromise(run({ rate, records: Math.min(n, Math.ceil(rate / 2)), adaptive, fixedBatch: 5000 }))
  const results = new Map<boolean, Array<Float64Array>>(modes.map((m) => [m, []]))
  for (let r = 0; r < rounds; r++) {
    for (const adaptive of modes) {
      // a clean heap for each run: it should not pay for the garbage of the one before
      collectGarbage()
      results.get(adaptive)!.push((await Effect.runPromise(run({ rate, records: n, adaptive, fixedBatch: 5000 }))).latencies)
    }
  }
  for (const adaptive of modes) {
    const runs = results.get(adaptive)!
    const at = (p: number) => median(runs.map((l) => pct(l, p))).toFixed(1)
    lines.push(
      `| ${adaptive ? "adaptive (16–5000, target 20 ms, linger 2 ms)" : "fixed 5000-record batches"} | ${at(50)} | ${at(95)} | ${at(99)} | ${
        runs.map((l) => pct(l, 99).toFixed(1)).join(", ")
      } | ${runs[0].length} |`
    )
  }
  lines.push("", `load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(", ")}`)
  return { markdown: lines.join("\n") }
}
