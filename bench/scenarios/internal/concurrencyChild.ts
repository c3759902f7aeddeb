/**
 * The process of scenario 6: starts `workflows` small workflows at once (each: 20 records →
 * filter → map → a collecting sink), waits for all, and prints one JSON line: the time, the
 * records written, and this process's resident memory before and at its sampled peak. Run in a
 * fresh process so that nothing an earlier scenario allocated counts.
 *
 *   node bench/scenarios/internal/concurrencyChild.ts 10000
 */
import { Effect } from "effect"
import * as Builtins from "../../../src/Builtins.ts"
import * as Runtime from "../../../src/Runtime.ts"
import * as WorkflowGraph from "../../../src/WorkflowGraph.ts"

const workflows = Number(process.argv[2] ?? 10_000)
const records = Array.from({ length: 20 }, (_, i) => ({ id: i, amount: i * 10 }))
const graph = (i: number) =>
  WorkflowGraph.make({
    name: `small-${i}`,
    nodes: [
      { kind: "source", id: "src", type: "memory", config: { records }, inputs: [] },
      { kind: "processor", id: "f", type: "filter", config: { condition: "amount >= 50" }, inputs: ["src"] },
      { kind: "processor", id: "m", type: "map", config: { fields: { gross: "amount * 2" } }, inputs: ["f"] },
      { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["m"] }
    ]
  })
// warm the modules and the expression compiler once, so that "before" is a loaded process
await Effect.runPromise(Runtime.run(graph(-1)).pipe(Effect.provide(Builtins.layer)))
const before = process.memoryUsage().rss
let peak = before
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss)
}, 10)
const t = performance.now()
const summaries = await Effect.runPromise(
  Effect.forEach(Array.from({ length: workflows }, (_, i) => i), (i) => Runtime.run(graph(i)), { concurrency: "unbounded" }).pipe(
    Effect.provide(Builtins.layer)
  )
)
const seconds = (performance.now() - t) / 1000
clearInterval(timer)
peak = Math.max(peak, process.memoryUsage().rss)
const written = summaries.reduce((sum, s) => sum + (s.nodes.find((n) => n.id === "out")?.recordsOut ?? 0), 0)
console.log(JSON.stringify({ completed: summaries.length, written, seconds, before, peak }))
