/**
 * Scenario 2: the runtime's own overhead. An in-memory source of pre-built 1,000-record batches →
 * a fused chain of filter + map → a sink that discards, vs a plain loop calling the same
 * functions on the same batches. Both sides consume their output (the sink and the loop count the
 * records that come out), and both get one unmeasured warm-up round. The source and the sink
 * are like the built-in `memory` source and `collect` sink: they answer synchronously
 * (`readBatchSync`, `writeBatchSync`) and the sink is `inline`, so the runtime chains the whole
 * pipeline into one fiber. A second DataFlare row runs the same with the sink behind a queue
 * (a sink that waits on I/O, e.g. a file or a database, keeps its own fiber).
 */
import { Effect } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { alternate, type Result, table } from "../lib/stats.ts"

interface Row {
  readonly id: number
  readonly amount: number
  readonly status: string
}

const keep = (r: Row) => r.status === "active" && r.amount >= 100
const reshape = (r: Row) => ({ id: r.id, gross: r.amount * 1.19 })

export const fusedChain = async (records: number, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const statuses = ["active", "inactive", "pending"]
  const batches: Array<Array<Row>> = []
  for (let i = 0; i < records; i += 1000) {
    const b: Array<Row> = []
    for (let j = i; j < Math.min(records, i + 1000); j++) b.push({ id: j, amount: j % 1000, status: statuses[j % 3] })
    batches.push(b)
  }
  const graph = WorkflowGraph.make({
    name: "bench-fused",
    execution: { batch_size: 1000 },
    nodes: [
      { kind: "source", id: "src", type: "memory", config: { records: [] }, inputs: [] },
      { kind: "processor", id: "keep", type: "filter", config: { predicate: keep }, inputs: ["src"] },
      { kind: "processor", id: "reshape", type: "map", config: { fn: reshape }, inputs: ["keep"] },
      { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["reshape"] }
    ]
  })
  let sink = 0 // consumed below so the work is not optimised away
  const overridesFor = (inline: boolean) => Overrides.layer({
    src: {
      _tag: "PreparedSource",
      type: "batches",
      capabilities: { seekable: false, unbounded: false },
      check: Effect.void,
      open: () => {
        let i = 0
        const read = () => (i < batches.length ? Batch.make(batches[i++]) : undefined)
        return Effect.succeed({
          readBatch: () => Effect.sync(read),
          // the batches are at hand, as in the built-in memory source
          readBatchSync: read,
          position: Effect.sync(() => i),
          seek: () => Effect.void,
          commit: () => Effect.void
        })
      }
    },
    out: {
      _tag: "PreparedSink",
      type: "discard",
      // it waits on nothing, as the built-in collect sink: chained into the source's fiber
      capabilities: { guarantee: "at-least-once", transactional: false, inline },
      check: Effect.void,
      open: () =>
        Effect.succeed({
          writeBatch: (b: Batch.Batch<unknown>) =>
            Effect.sync(() => {
              sink += Batch.size(b)
              return { written: Batch.size(b) }
            }),
          writeBatchSync: (b: Batch.Batch<unknown>) => {
            sink += Batch.size(b)
            return { written: Batch.size(b) }
          },
          flush: Effect.void
        })
    }
  })
  const runtime = (name: string, inline: boolean) => {
    const overrides = overridesFor(inline)
    return {
      name,
      run: async () => {
        const cpu = process.cpuUsage()
        const t = performance.now()
        await Effect.runPromise(Runtime.run(graph).pipe(Effect.provide(overrides), Effect.provide(Builtins.layer)))
        const c = process.cpuUsage(cpu)
        return { seconds: (performance.now() - t) / 1000, cpuSeconds: (c.user + c.system) / 1e6, records }
      }
    }
  }
  const contenders = [
    runtime("DataFlare runtime (fused filter+map, sink chained)", true),
    runtime("DataFlare runtime, sink behind a queue", false),
    {
      name: "plain loop over the same batches",
      run: async () => {
        const cpu = process.cpuUsage()
        const t = performance.now()
        for (const b of batches) {
          const out: Array<unknown> = []
          for (let i = 0; i < b.length; i++) if (keep(b[i])) out.push(reshape(b[i]))
          sink += out.length
        }
        const c = process.cpuUsage(cpu)
        return { seconds: (performance.now() - t) / 1000, cpuSeconds: (c.user + c.system) / 1e6, records }
      }
    }
  ]
  // Unmeasured rounds of each first, at least 5 M records' worth: the batches were just built (the
  // first contender to run would pay for moving them to the old generation), and neither side's
  // code is optimized yet (with 1 M records, one round is too short for the JIT to finish).
  for (let w = 0; w < Math.max(1, Math.ceil(5_000_000 / records)); w++) for (const c of contenders) await c.run()
  // short inputs get more rounds (a 1 M-record round takes ~20 ms: one noisy moment decides a median of 3)
  const results = await alternate(contenders, Math.max(rounds, Math.ceil(5_000_000 / records)))
  if (sink === 0) throw new Error("nothing reached the sink")
  return { markdown: table(`2. in-memory → fused filter + map → discard, ${records.toLocaleString("en")} records`, results), results }
}
