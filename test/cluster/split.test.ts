/**
 * Splitting a workflow into cluster parts: what is refused before anything is submitted, and what
 * a part's graph is (its name, one instance, a checkpoint interval, its own output file).
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Builtins from "../../src/Builtins.ts"
import { keyedNode, keyedNodes, roleOf, stageGraph, stageOf } from "../../src/cluster/internal/exchange.ts"
import { decodeRecord, encodeRecord } from "../../src/cluster/internal/exchangeCodec.ts"
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

  it("accepts key_by (a part runs one instance of each node) and a windowed keyed operator", async () => {
    const dedupe: WorkflowGraph.Node = { kind: "processor", id: "once", type: "dedupe", config: { key: ["id"], window: "1m", time_field: "at" }, inputs: ["big"], key_by: "id" }
    const checked = await Effect.runPromise(check(graph([source, { ...filter, key_by: "id" }, dedupe, { ...sink, inputs: ["once"] }]), "/data").pipe(Effect.provide(Builtins.layer)))
    expect(checked.nodes.map((n) => n.id)).toEqual(["in", "big", "once", "out"])
  })

  it("refuses what the cluster does not distribute yet", async () => {
    expect(await refusal(graph([source, { ...source, id: "in2" }, { ...filter, inputs: ["in", "in2"] }, sink]))).toContain("exactly one source")
    const nats: WorkflowGraph.Node = { kind: "source", id: "in", type: "nats", config: { url: "nats://127.0.0.1:4222", subject: "s" }, inputs: [] }
    expect(await refusal(graph([nats, filter, sink]))).toContain("source 'in' (nats): nats consumers as cluster parts are not supported")
    const mongo: WorkflowGraph.Node = { kind: "source", id: "in", type: "mongodb", config: { url: "mongodb://127.0.0.1", database: "d", collection: "c" }, inputs: [] }
    expect(await refusal(graph([mongo, filter, sink]))).toContain("source 'in' (mongodb): the cluster splits csv and ndjson files, postgres and mysql tables")
    expect(await refusal(graph([source, filter, { ...sink, type: "stdout", config: {} }]))).toContain("file sinks")
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

  it("runs keyed operators in stages, one more than it has keyed operators, refusing what the exchange does not carry", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test"
    const agg: WorkflowGraph.Node = {
      kind: "processor",
      id: "per",
      type: "aggregate",
      config: { group_by: ["customer"], aggregates: { n: { op: "count" } } },
      inputs: ["big"]
    }
    const shaped: WorkflowGraph.Node = { kind: "processor", id: "shaped", type: "map", config: { fields: { m: "n * 2" } }, inputs: ["per"] }
    const out: WorkflowGraph.Node = { ...sink, inputs: ["shaped"] }
    const checked = await Effect.runPromise(check(graph([source, filter, agg, shaped, out]), "/data").pipe(Effect.provide(Builtins.layer)))
    expect(keyedNode(checked)?.id).toBe("per")
    const keyed = keyedNodes(checked)
    // stage 1: the chain up to the operator, then the route and the exchange's exactly-once sink
    const producer = stageGraph(checked, keyed, stageOf(0, 6), url, "pfx")
    expect(producer.nodes.map((n) => [n.id, n.type])).toEqual([
      ["in", "csv"],
      ["big", "filter"],
      ["__exchange_route", "__dataflare_exchange_route"],
      ["__exchange_out", "postgres"]
    ])
    expect(producer.nodes[3]!.config).toEqual({ connection_string: url, table: "pfx_exchange", mode: "insert", checkpoint_table: "pfx_exchange_checkpoints" })
    // stage 2: the exchange's source, then the operator and what follows it
    const consumer = stageGraph(checked, keyed, stageOf(4, 6), url, "pfx")
    expect(consumer.nodes.map((n) => [n.id, n.inputs])).toEqual([["__exchange_in", []], ["per", ["__exchange_in"]], ["shaped", ["per"]], ["out", ["shaped"]]])
    expect(partGraph(consumer, 4).nodes.map((n) => (n.config as { path?: string }).path)[3]).toBe("/data/out/result.part-4.ndjson")
    expect([0, 2, 3, 5].map((p) => stageOf(p, 6))).toEqual([
      { stage: 1, stages: 2, index: 0, n: 3 },
      { stage: 1, stages: 2, index: 2, n: 3 },
      { stage: 2, stages: 2, index: 0, n: 3 },
      { stage: 2, stages: 2, index: 2, n: 3 }
    ])
    expect([0, 4].map((p) => roleOf(checked, stageOf(p, 6)))).toEqual(["stage 1: range 0 of 3 → exchange", "stage 2: key groups 43-85"])

    // two keyed operators: three stages; the middle one reads edge 1 and writes edge 2
    const once: WorkflowGraph.Node = { kind: "processor", id: "once", type: "dedupe", config: { key: ["id"] }, inputs: ["big"] }
    const chained = await Effect.runPromise(
      check(graph([source, filter, once, { ...agg, inputs: ["once"] }, shaped, out]), "/data").pipe(Effect.provide(Builtins.layer))
    )
    const both = keyedNodes(chained)
    expect(both.map((n) => n.id)).toEqual(["once", "per"])
    expect(stageGraph(chained, both, stageOf(0, 6, 2), url, "pfx").nodes.map((n) => n.id)).toEqual(["in", "big", "__exchange_route", "__exchange_out"])
    const middle = stageGraph(chained, both, stageOf(2, 6, 2), url, "pfx")
    expect(middle.nodes.map((n) => [n.id, n.inputs])).toEqual([
      ["__exchange_in", []],
      ["once", ["__exchange_in"]],
      ["__exchange_route", ["once"]],
      ["__exchange_out", ["__exchange_route"]]
    ])
    expect(stageGraph(chained, both, stageOf(5, 6, 2), url, "pfx").nodes.map((n) => n.id)).toEqual(["__exchange_in", "per", "shaped", "out"])
    expect([0, 2, 5].map((p) => roleOf(chained, stageOf(p, 6, 2)))).toEqual([
      "stage 1: range 0 of 2 → exchange",
      "stage 2: key groups 0-63 → exchange",
      "stage 3: key groups 64-127"
    ])
    // a window behind an aggregate over the whole input: no event-time clock comes out of it
    const hourly: WorkflowGraph.Node = {
      kind: "processor",
      id: "hourly",
      type: "aggregate",
      config: { group_by: ["customer"], time_field: "at", window: { type: "tumbling", size: "1h" }, aggregates: { n: { op: "count" } } },
      inputs: ["per"]
    }
    expect(await refusal(graph([source, filter, agg, hourly, { ...sink, inputs: ["hourly"] }]))).toContain(
      "processor 'hourly' (aggregate) has a window behind aggregate 'per' over the whole input"
    )
    // a sink between the keyed operators: not on the one path
    const early: WorkflowGraph.Node = { ...sink, id: "early", config: { path: "early.ndjson" }, inputs: ["once"] }
    expect(await refusal(graph([source, filter, once, { ...agg, inputs: ["once"] }, shaped, out, early]))).toContain(
      "node 'early' (ndjson) is not on the one path source → keyed operator 'once' → keyed operator 'per' → sinks"
    )
    const side: WorkflowGraph.Node = { ...sink, id: "raw", config: { path: "raw.ndjson" }, inputs: ["big"] }
    expect(await refusal(graph([source, filter, agg, shaped, out, side]))).toContain(
      "node 'raw' (ndjson) is not on the one path source → keyed operator 'per' → sinks"
    )
    const redis: WorkflowGraph.Node = {
      kind: "source",
      id: "in",
      type: "redis-streams",
      config: { url: "redis://127.0.0.1:6379", stream: "s", group: "g", consumer: "c", codec: "json" },
      inputs: []
    }
    const upsert: WorkflowGraph.Node = { kind: "sink", id: "out", type: "postgres", config: { connection_string: url, table: "t", mode: "upsert", key: ["customer"] }, inputs: ["shaped"] }
    expect(await refusal(graph([redis, filter, agg, shaped, upsert]))).toContain("processor 'per' (aggregate) is keyed, behind source 'in' (redis-streams) that never ends")
  })

  it("carries records through the exchange as they are: bigints, dates, bytes, non-finite numbers", () => {
    const record = {
      id: 12345678901234567890n,
      at: new Date("2026-01-02T03:04:05.678Z"),
      bytes: new Uint8Array([0, 1, 254, 255]),
      inf: Number.NEGATIVE_INFINITY,
      nan: Number.NaN,
      nested: { list: [1, "two", null, { deep: 3n }] },
      text: "ü名\n\u0000"
    }
    expect(decodeRecord(encodeRecord(record))).toEqual(record)
    // field order kept (a csv sink's columns follow it)
    expect(Object.keys(decodeRecord(encodeRecord({ b: 1, a: 2 })) as object)).toEqual(["b", "a"])
  })
})
