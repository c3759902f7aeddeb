/**
 * Benchmark: a CPU-bound map (`rounds` hash rounds per record: FNV-1a in plain JavaScript by
 * default, or SHA-256 through `node:crypto` with `sha256`) through `worker_map` with one
 * worker thread at parallelism 1 versus two worker threads at parallelism 2, run through
 * `Runtime.run` (a generator source, the map, a counting sink), alternating the contenders a few
 * times; prints median records/s, CPU seconds (all threads of the process) and the ratio. The same
 * map on the main thread is the reference for what the thread hop costs, and the same hashing on
 * plain `worker_threads` with 1 and 2 threads is the control: the speed-up the machine can give at
 * all while the benchmark runs (on a shared machine it can be none).
 *
 * A second part measures what a batch costs to cross the thread boundary: a 1,000-record batch
 * sent to a worker and back, by structured clone versus as one JSON string.
 *
 *   node_modules/.bin/node bench/workers.ts [records=2000] [rounds=2000] [repeats=3] [mix|sha256]
 *
 * The pool's start (threads booting, the module loading in each) is inside the timed run: it is
 * part of what a workflow pays.
 */
import { Effect, Schema } from "effect"
import { availableParallelism, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import * as Batch from "../src/Batch.ts"
import * as Connector from "../src/Connector.ts"
import * as Processor from "../src/Processor.ts"
import * as Registry from "../src/Registry.ts"
import * as Runtime from "../src/Runtime.ts"
import * as WorkerMap from "../src/workers/WorkerMap.ts"
import * as WorkflowGraph from "../src/WorkflowGraph.ts"
import { hash, mix } from "../test/workers/fixtures/transforms.ts"
import { alternate, type Contender, median, type Sample } from "./lib/stats.ts"

const records = Number(process.argv[2] ?? 2_000)
const rounds = Number(process.argv[3] ?? 2_000)
const repeats = Number(process.argv[4] ?? 3)
/** `mix`: FNV-1a rounds in plain JavaScript; `hash`: SHA-256 rounds through node:crypto. */
const workload = process.argv[5] === "sha256" ? "hash" : "mix"
const module = fileURLToPath(new URL("../test/workers/fixtures/transforms.ts", import.meta.url))

const Generate = Connector.source({
  type: "bench_generate",
  description: "records { id, rounds } for id in [0, count)",
  config: Schema.Struct({ count: Schema.Int, rounds: Schema.Int }),
  capabilities: () => ({ seekable: false, unbounded: false }),
  check: () => Effect.void,
  open: (config) =>
    Effect.sync(() => {
      let next = 0
      return {
        readBatch: (max: number) =>
          Effect.sync(() => {
            if (next >= config.count) return undefined
            const out: Array<{ id: number; rounds: number }> = []
            while (out.length < max && next < config.count) out.push({ id: next++, rounds: config.rounds })
            return Batch.make(out, { origin: { source: "gen", position: next } })
          }),
        position: Effect.sync(() => next),
        seek: () => Effect.void,
        commit: () => Effect.void
      }
    })
})

let counted = 0
const Count = Connector.sink({
  type: "bench_count",
  description: "counts records",
  config: Schema.Struct({}),
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  check: () => Effect.void,
  open: () =>
    Effect.sync(() => ({
      writeBatch: (batch: Batch.Batch<unknown>) =>
        Effect.sync(() => {
          counted += Batch.size(batch)
          return { written: Batch.size(batch) }
        }),
      flush: Effect.void
    }))
})

const MainThreadHash = Processor.define({
  type: "bench_hash",
  description: "the same map on the main thread",
  config: Schema.Struct({}),
  make: () => {
    const f = workload === "hash" ? hash : mix
    return Processor.stateless({ _tag: "map", f: (r) => f(r as { id: number; rounds: number }) })
  }
})

const registry = Registry.layer([Generate, Count, MainThreadHash, WorkerMap.definition])

const graph = (type: string, config: Record<string, unknown>, parallelism: number) =>
  WorkflowGraph.make({
    name: `bench-${type}-${parallelism}`,
    execution: { batch_size: 100 },
    nodes: [
      { kind: "source", id: "gen", type: "bench_generate", config: { count: records, rounds }, inputs: [] },
      { kind: "processor", id: "map", type, config, inputs: ["gen"], parallelism },
      { kind: "sink", id: "out", type: "bench_count", config: {}, inputs: ["map"] }
    ]
  })

const timed = (g: WorkflowGraph.WorkflowGraph) => async (): Promise<Sample> => {
  counted = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Effect.runPromise(Runtime.run(g).pipe(Effect.provide(registry)))
  const seconds = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  if (counted !== records) throw new Error(`expected ${records} records, counted ${counted}`)
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, records }
}

/**
 * The control: the same hashing on plain worker threads (no DataFlare, no batches), each thread
 * doing its share in one go. Its 2 ÷ 1 ratio is what the machine can give at that moment: on a
 * shared machine whose second core is busy elsewhere, no thread pool can do better.
 */
const plainThreads = (threads: number) => async (): Promise<Sample> => {
  const body = `import { parentPort, workerData } from "node:worker_threads"
const f = (await import(workerData.url))[workerData.workload]
for (let id = workerData.from; id < workerData.to; id++) f({ id, rounds: workerData.rounds })
parentPort.postMessage(0)`
  const url = new URL(`data:text/javascript,${encodeURIComponent(body)}`)
  const share = Math.ceil(records / threads)
  const cpu = process.cpuUsage()
  const start = performance.now()
  const workers = Array.from({ length: threads }, (_, i) =>
    new Worker(url, {
      workerData: { url: new URL(`file://${module}`).href, from: i * share, to: Math.min(records, (i + 1) * share), rounds, workload }
    }))
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))))
  const seconds = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  await Promise.all(workers.map((w) => w.terminate()))
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, records }
}

const contenders: ReadonlyArray<Contender> = [
  { name: "worker_map, 1 worker, parallelism 1", run: timed(graph("worker_map", { module, export: workload, workers: 1 }, 1)) },
  { name: "worker_map, 2 workers, parallelism 2", run: timed(graph("worker_map", { module, export: workload, workers: 2 }, 2)) },
  { name: "main thread map, parallelism 1", run: timed(graph("bench_hash", {}, 1)) },
  { name: "control: plain worker_threads, 1 thread", run: plainThreads(1) },
  { name: "control: plain worker_threads, 2 threads", run: plainThreads(2) }
]

console.log(
  `worker_map benchmark: ${records} records × ${rounds} ${workload === "mix" ? "FNV-1a" : "SHA-256"} rounds, batches of 100, ${availableParallelism()} cores, node ${process.version}, load average ${
    loadavg().map((x) => x.toFixed(1)).join(" ")
  }`
)
const results = await alternate(contenders, repeats)
console.log("")
console.log("| contender | records/s | wall s | CPU s (all threads) | cores busy (CPU s ÷ wall s) |")
console.log("|---|---:|---:|---:|---:|")
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.recordsPerSecond.toFixed(0)} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${
      (r.cpuSeconds / r.seconds).toFixed(2)
    } |`
  )
}
console.log("")
console.log(`2 workers ÷ 1 worker: ${(results[1].recordsPerSecond / results[0].recordsPerSecond).toFixed(2)}×`)
console.log(`1 worker ÷ main thread: ${(results[0].recordsPerSecond / results[2].recordsPerSecond).toFixed(2)}×`)
console.log(
  `control, 2 plain threads ÷ 1 (what the machine gives now): ${(results[4].recordsPerSecond / results[3].recordsPerSecond).toFixed(2)}×`
)

// Part 2: the cost of crossing the thread boundary, per 1,000-record batch, there and back.
const echo = new Worker(
  new URL(`data:text/javascript,${
    encodeURIComponent(`import { parentPort } from "node:worker_threads"
parentPort.on("message", (m) => parentPort.postMessage(m.json ? { json: true, p: JSON.stringify(JSON.parse(m.p)) } : m))`)
  }`)
)
const batch = Array.from({ length: 1_000 }, (_, i) => ({
  id: i,
  name: `customer ${i}`,
  email: `c${i}@example.com`,
  amount: i * 1.5,
  tags: ["a", "b"],
  active: i % 2 === 0,
  address: { city: "Paris", zip: "75001" }
}))
const roundTrip = (json: boolean) =>
  new Promise<unknown>((resolve) => {
    echo.once("message", (m: { json: boolean; p: unknown }) => resolve(json ? JSON.parse(m.p as string) : m.p))
    echo.postMessage(json ? { json, p: JSON.stringify(batch) } : { json, p: batch })
  })
const perBatch = { clone: [] as Array<number>, json: [] as Array<number> }
for (let r = 0; r < 5; r++) {
  for (const json of [false, true]) {
    const start = performance.now()
    for (let i = 0; i < 100; i++) await roundTrip(json)
    perBatch[json ? "json" : "clone"].push((performance.now() - start) / 100)
  }
}
await echo.terminate()
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(" ")}`)
console.log("")
console.log(
  `1,000-record batch to a worker and back (median of 5 × 100): structured clone ${median(perBatch.clone).toFixed(2)} ms, JSON string ${
    median(perBatch.json).toFixed(2)
  } ms`
)
