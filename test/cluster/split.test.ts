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

  it("splits an ndjson file as a csv file: its path made absolute, a file per part", async () => {
    const checked = await Effect.runPromise(check(graph([{ ...source, config: { path: "in.ndjson" }, type: "ndjson" }, filter, sink]), "/data").pipe(Effect.provide(Builtins.layer)))
    expect(partGraph(checked, 1).nodes.map((n) => (n.config as { path?: string }).path)).toEqual(["/data/in.ndjson", undefined, "/data/out/result.part-1.ndjson"])
  })

  it("keeps the workflow's checkpoint interval", () => {
    expect(partGraph(graph([source, filter, sink], { checkpoint_interval: "5s" }), 0).execution.checkpoint_interval).toBe("5s")
  })

  it("refuses what the cluster does not distribute yet", async () => {
    expect(await refusal(graph([source, { ...source, id: "in2" }, { ...filter, inputs: ["in", "in2"] }, sink]))).toContain("exactly one source")
    const nats: WorkflowGraph.Node = { kind: "source", id: "in", type: "nats", config: { url: "nats://127.0.0.1:4222", subject: "s" }, inputs: [] }
    expect(await refusal(graph([nats, filter, sink]))).toContain("source 'in' (nats): nats consumers as cluster parts are not supported")
    const mongo: WorkflowGraph.Node = { kind: "source", id: "in", type: "mongodb", config: { url: "mongodb://127.0.0.1", database: "d", collection: "c" }, inputs: [] }
    expect(await refusal(graph([mongo, filter, sink]))).toContain("source 'in' (mongodb): the cluster splits csv and ndjson files, postgres and mysql tables")
    expect(await refusal(graph([source, { ...filter, key_by: "id" }, sink]))).toContain("node 'big' (filter) has key_by")
    expect(await refusal(graph([source, filter, { ...sink, type: "stdout", config: {} }]))).toContain("file sinks")
    const dedupe: WorkflowGraph.Node = { kind: "processor", id: "big", type: "dedupe", config: { key: ["id"] }, inputs: ["in"] }
    expect(await refusal(graph([source, dedupe, sink]))).toContain("is stateful")
    expect(await refusal(graph([{ ...source, config: { path: "in.csv", dead_letter: { path: "bad.ndjson" } } }, filter, sink]))).toContain("node 'in' (csv) has a dead_letter file")
    const url = "postgres://postgres@127.0.0.1:5432/test"
    expect(await refusal(graph([{ ...source, type: "postgres", config: { connection_string: url, query: "SELECT 1 AS id" } }, filter, sink]))).toContain("reads a query")
    expect(await refusal(graph([{ ...source, type: "mysql", config: { connection_string: "mysql://root@127.0.0.1:3306/test", query: "SELECT 1 AS id" } }, filter, sink])))
      .toContain("source 'in' (mysql) reads a query")
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

  it("runs a broker source's parts as its consumers, into idempotent sinks only", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test"
    const redis: WorkflowGraph.Node = {
      kind: "source",
      id: "events",
      type: "redis-streams",
      config: { url: "redis://127.0.0.1:6379", stream: "s", group: "g", consumer: "c", codec: "json" },
      inputs: []
    }
    const rabbit: WorkflowGraph.Node = { kind: "source", id: "events", type: "rabbitmq", config: { url: "amqp://127.0.0.1", queue: "q" }, inputs: [] }
    const big = { ...filter, inputs: ["events"] }
    const upsert: WorkflowGraph.Node = { kind: "sink", id: "out", type: "postgres", config: { connection_string: url, table: "t", mode: "upsert", key: ["id"] }, inputs: ["big"] }
    for (const broker of [redis, rabbit]) {
      const checked = await Effect.runPromise(check(graph([broker, big, upsert]), "/data").pipe(Effect.provide(Builtins.layer)))
      expect(checked.nodes.map((n) => n.id)).toEqual(["events", "big", "out"])
      const insert = await refusal(graph([broker, big, { ...upsert, config: { connection_string: url, table: "t" } }]))
      expect(insert).toContain(`sink 'out' (postgres) writes in insert mode`)
      expect(insert).toContain(`the parts of source 'events' (${broker.type}) are consumers`)
      expect(insert).toContain("use mode: upsert")
      // duplicates accepted by the sink's own setting
      await Effect.runPromise(
        check(graph([broker, big, { ...upsert, config: { connection_string: url, table: "t", guarantee: "at-least-once" } }]), "/data").pipe(Effect.provide(Builtins.layer))
      )
      const file = await refusal(graph([broker, big, sink]))
      expect(file).toContain(`sink 'out' (ndjson) is not idempotent, but the parts of source 'events' (${broker.type})`)
    }
  })
})
