/**
 * Scenario 6: 10,000 small workflows started at once in one process (each: 20 records → filter →
 * map → a collecting sink); time to complete them all and peak memory.
 */
import { Effect } from "effect"
import * as Builtins from "../../src/Builtins.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

export const concurrency = async (workflows: number): Promise<{ markdown: string }> => {
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
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  const before = process.memoryUsage().rss
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
  return {
    markdown: [
      `### 6. Concurrency: ${workflows.toLocaleString("en")} small workflows in one process`,
      "",
      `all completed: ${summaries.length === workflows ? "yes" : "no"} (${written.toLocaleString("en")} records written, expected ${(workflows * 15).toLocaleString("en")}); ` +
      `time ${seconds.toFixed(2)} s; peak RSS ${(peak / 2 ** 20).toFixed(0)} MB (${((peak - before) / 2 ** 20).toFixed(0)} MB above the process at start)`
    ].join("\n")
  }
}
