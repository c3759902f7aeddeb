/**
 * Splitting a workflow into cluster parts: what is refused before anything is submitted, and what
 * a part's graph is (its name, one instance, a checkpoint interval, its own output file).
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Builtins from "../../src/Builtins.ts"
import { check, partGraph, partPath } from "../../src/cluster/internal/split.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

const graph = (nodes: ReadonlyArray<WorkflowGraph.Node>, execution: WorkflowGraph.ExecutionSettings = {}) =>
  WorkflowGraph.make({ name: "orders", execution, nodes })

const source: WorkflowGraph.Node = { kind: "source", id: "in", type: "csv", config: { path: "in.csv" }, inputs: [] }
const filter: WorkflowGraph.Node = { kind: "processor", id: "big", type: "filter", config: { condition: "amount >= 1" }, inputs: ["in"] }
const sink: WorkflowGraph.Node = { kind: "sink", id: "out", type: "ndjson", config: { path: "out/result.ndjson" }, inputs: ["big"] }

const refusal = (g: WorkflowGraph.WorkflowGraph) =>
  Effect.runPromise(check(g, "/data").pipe(Effect.flip, Effect.map((e) => e.message), Effect.provide(Builtins.layer)))

describe("cluster parts", () => {
  it("makes the file paths absolute and gives each part its own output file", async () => {
    const checked = await Effect.runPromise(check(graph([source, filter, sink]), "/data").pipe(Effect.provide(Builtins.layer)))
    expect(checked.sourceMap).toBeUndefined()
    const part = partGraph(checked, 2)
    expect(part.name).toBe("orders/2")
    expect(part.execution.parallelism).toBe(1)
    expect(part.execution.checkpoint_interval).toBe("1s")
    expect(part.nodes.map((n) => (n.config as { path?: string }).path)).toEqual(["/data/in.csv", undefined, "/data/out/result.part-2.ndjson"])
    expect(partPath("/x/a.b.csv", 0)).toBe("/x/a.b.part-0.csv")
    expect(partPath("/x/noext", 1)).toBe("/x/noext.part-1")
  })

  it("keeps the workflow's checkpoint interval", () => {
    expect(partGraph(graph([source, filter, sink], { checkpoint_interval: "5s" }), 0).execution.checkpoint_interval).toBe("5s")
  })

  it("refuses what the cluster does not distribute yet", async () => {
    expect(await refusal(graph([{ ...source, type: "ndjson" }, filter, sink]))).toContain("exactly one csv or postgres source")
    expect(await refusal(graph([source, { ...filter, key_by: "id" }, sink]))).toContain("key_by")
    expect(await refusal(graph([source, filter, { ...sink, type: "stdout", config: {} }]))).toContain("file sinks")
    const dedupe: WorkflowGraph.Node = { kind: "processor", id: "big", type: "dedupe", config: { key: ["id"] }, inputs: ["in"] }
    expect(await refusal(graph([source, dedupe, sink]))).toContain("is stateful")
    expect(await refusal(graph([{ ...source, config: { path: "in.csv", dead_letter: { path: "bad.ndjson" } } }, filter, sink]))).toContain("dead_letter")
    const url = "postgres://postgres@127.0.0.1:5432/test"
    expect(await refusal(graph([{ ...source, type: "postgres", config: { connection_string: url, query: "SELECT 1 AS id" } }, filter, sink]))).toContain("reads a query")
    expect(await refusal(graph([source, filter, { ...sink, type: "postgres", config: { connection_string: url, table: "t", mode: "replace" } }]))).toContain("mode: replace")
  })

  it("gives each part its own instance of a shared postgres sink", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test"
    const table: WorkflowGraph.Node = { kind: "source", id: "in", type: "postgres", config: { connection_string: url, table: "src" }, inputs: [] }
    const shared: WorkflowGraph.Node = { kind: "sink", id: "out", type: "postgres", config: { connection_string: url, table: "dst" }, inputs: ["big"] }
    const checked = await Effect.runPromise(check(graph([table, filter, shared]), "/data").pipe(Effect.provide(Builtins.layer)))
    // the same table for every part; the part's name (its checkpoint marks) is `<workflow>/<part>`
    const part = partGraph(checked, 1)
    expect(part.name).toBe("orders/1")
    expect(part.nodes[2]!.config).toEqual({ connection_string: url, table: "dst" })
    const named = partGraph(graph([table, filter, { ...shared, config: { connection_string: url, table: "dst", workflow: "w" } }]), 3)
    expect((named.nodes[2]!.config as { workflow?: string }).workflow).toBe("w/3")
  })
})
