import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import type { Family } from "parse-prometheus-text-format"
import { Deferred, Effect, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Connector from "../../src/Connector.ts"
import * as Registry from "../../src/Registry.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions, FailOnce } from "../runtime/support.ts"
import { eventually, get, observed, scrape, sampleOf } from "./support.ts"

const sumOf = (families: ReadonlyArray<Family>, name: string, node: string) =>
  (families.find((f) => f.name === name)?.metrics ?? [])
    .filter((m) => m.labels?.node === node)
    .reduce((s, m) => s + Number(m.value), 0)

/** nums (slow, unbounded for the test's purpose) → keep_even (2 instances) → out */
const slowGraph = (name: string) =>
  WorkflowGraph.make({
    name,
    execution: { batch_size: 20, queue_capacity: 2, checkpoint_interval: "20ms" },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count: 1_000_000, delay_ms: 2 }, inputs: [] },
      { kind: "processor", id: "even", type: "keep_even", config: { field: "id" }, inputs: ["nums"], parallelism: 2 },
      { kind: "sink", id: "out", type: "collect_test", config: { name: `${name}-out` }, inputs: ["even"] }
    ]
  })

/** A source whose `open` waits until the test lets it (readiness before a connector is open). */
const gates = new Map<string, Deferred.Deferred<void>>()
const Gated = Connector.source({
  type: "gated",
  description: "waits for its gate, then emits `count` records, reporting a lag of what is left",
  config: Schema.Struct({ gate: Schema.String, count: Schema.Int }),
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: () => Effect.void,
  open: (config) =>
    Effect.gen(function*() {
      yield* Deferred.await(gates.get(config.gate)!)
      let next = 0
      return {
        readBatch: (max: number) =>
          Effect.andThen(Effect.sleep(2), Effect.sync(() => {
            if (next >= config.count) return undefined
            const records: Array<{ id: number }> = []
            while (records.length < max && next < config.count) records.push({ id: next++ })
            return Batch.make(records, { origin: { source: "g", position: next } })
          })),
        position: Effect.sync(() => next),
        seek: (p: Batch.Position) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void,
        lag: () => ({ value: config.count - next, unit: "records" as const })
      }
    })
})

const registry = Registry.layer([...definitions, FailOnce, Gated])

describe("observability over HTTP", () => {
  it.live("GET /metrics: per node instance counts, queue fill, latency and checkpoints, in Prometheus text that an independent parser reads", () =>
    Effect.gen(function*() {
      const { result, summary } = yield* observed(slowGraph("obs-metrics"), registry, (base) =>
        Effect.gen(function*() {
          const first = yield* eventually(Effect.flatMap(scrape(base), (m) =>
            sampleOf(m, "dataflare_checkpoints_total", { workflow: "obs-metrics" }) >= 2 &&
              sumOf(m, "dataflare_records_in_total", "out") > 0
              ? Effect.succeed(m)
              : Effect.fail("not yet")))
          const later = yield* eventually(Effect.flatMap(scrape(base), (m) =>
            sumOf(m, "dataflare_records_out_total", "nums") > sumOf(first, "dataflare_records_out_total", "nums")
              ? Effect.succeed(m)
              : Effect.fail("not yet")))
          const raw = yield* get(`${base}/metrics`)
          return { first, later, raw }
        }))
      const { first, raw } = result
      assert.match(raw.body, /^# HELP dataflare_records_in_total /m)
      assert.match(raw.body, /^# TYPE dataflare_records_in_total counter$/m)
      // every per-node series carries workflow, node, type and instance; keep_even runs 2 instances
      const records = first.find((f) => f.name === "dataflare_records_in_total")!
      assert.strictEqual(records.type, "COUNTER")
      const even = records.metrics.filter((m) => m.labels?.node === "even").map((m) => m.labels)
      assert.deepStrictEqual(even.map((l) => l?.instance).sort(), ["0", "1"])
      assert.deepStrictEqual(Object.keys(even[0] ?? {}).sort(), ["instance", "node", "type", "workflow"])
      assert.strictEqual(even[0]?.type, "keep_even")
      // the queue in front of each keep_even instance: capacity 2 batches
      assert.strictEqual(sampleOf(first, "dataflare_queue_capacity_batches", { node: "even", instance: "1" }), 2)
      const fill = sampleOf(first, "dataflare_queue_fill_ratio", { node: "even", instance: "0" })
      assert.isTrue(fill >= 0 && fill <= 1)
      // the sink's read-to-written latency histogram counts its batches
      const latency = first.find((f) => f.name === "dataflare_batch_latency_seconds")!
      assert.strictEqual(latency.type, "HISTOGRAM")
      assert.isAbove(Number(latency.metrics[0].buckets?.["+Inf"]), 0)
      assert.strictEqual(sampleOf(first, "dataflare_connector_open", { node: "nums" }), 1)
      assert.isAbove(sampleOf(first, "dataflare_checkpoint_last_success_timestamp_seconds", { workflow: "obs-metrics" }), 1.7e9)
      assert.isAbove(sampleOf(first, "dataflare_checkpoint_last_id", { workflow: "obs-metrics" }), 1)
      assert.strictEqual(sampleOf(first, "dataflare_restarts_total", { workflow: "obs-metrics" }), 0)
      // counts agree with the plain counters the run summary reads (taken after the stop)
      const read = summary.nodes.find((n) => n.id === "nums")!.recordsOut
      assert.isAtLeast(read, sumOf(result.later, "dataflare_records_out_total", "nums"))
    }), { timeout: 60_000 })

  it.live("the totals after a run equal its summary", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "obs-totals",
        execution: { batch_size: 50, checkpoint_interval: "10ms" },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 3000 }, inputs: [] },
          { kind: "processor", id: "even", type: "keep_even", config: { field: "id" }, inputs: ["nums"], parallelism: 2 },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "obs-totals-out", delay_ms: 1 }, inputs: ["even"] }
        ]
      })
      const { result, summary } = yield* observed(graph, registry, (base, _handle, ended) =>
        Effect.flatMap(ended, () => scrape(base)))
      for (const node of summary.nodes) {
        assert.strictEqual(sumOf(result, "dataflare_records_in_total", node.id), node.recordsIn, `${node.id} in`)
        assert.strictEqual(sumOf(result, "dataflare_records_out_total", node.id), node.recordsOut, `${node.id} out`)
      }
      assert.strictEqual(sumOf(result, "dataflare_records_out_total", "out"), 1500)
    }), { timeout: 60_000 })

  it.live("GET /ready: 503 naming the node whose connector is not open, then 200 once a batch is through; /ping is 200 all along", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      gates.set("ready", gate)
      const graph = WorkflowGraph.make({
        name: "obs-ready",
        execution: { batch_size: 10 },
        nodes: [
          { kind: "source", id: "gated_in", type: "gated", config: { gate: "ready", count: 100_000 }, inputs: [] },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "obs-ready-out" }, inputs: ["gated_in"] }
        ]
      })
      const { result } = yield* observed(graph, registry, (base) =>
        Effect.gen(function*() {
          const waiting = yield* eventually(Effect.flatMap(get(`${base}/ready`), (r) =>
            r.body.includes("gated_in") ? Effect.succeed(r) : Effect.fail("not yet")))
          const ping = yield* get(`${base}/ping`)
          yield* Deferred.succeed(gate, undefined)
          const ready = yield* eventually(Effect.flatMap(get(`${base}/ready`), (r) => (r.status === 200 ? Effect.succeed(r) : Effect.fail("not yet"))))
          const lag = yield* eventually(Effect.flatMap(scrape(base), (m) => {
            const v = sampleOf(m, "dataflare_source_lag_records", { node: "gated_in" })
            return v < 100_000 ? Effect.succeed(v) : Effect.fail("not yet")
          }))
          return { waiting, ping, ready, lag }
        }))
      assert.strictEqual(result.waiting.status, 503)
      const body = JSON.parse(result.waiting.body) as { status: string; waiting: Array<{ node?: string; reason: string; workflow?: string }> }
      assert.strictEqual(body.status, "not ready")
      assert.strictEqual(body.waiting[0].node, "gated_in")
      assert.strictEqual(body.waiting[0].workflow, "obs-ready")
      assert.include(body.waiting[0].reason, "not open")
      assert.strictEqual(result.ping.status, 200)
      assert.strictEqual(result.ready.status, 200)
      assert.isAbove(result.lag, 0)
    }), { timeout: 60_000 })

  it.live("a failure counts as an error of its node and a restart; counters keep growing over the restart", () =>
    Effect.gen(function*() {
      const graph = WorkflowGraph.make({
        name: "obs-restart",
        execution: {
          batch_size: 20,
          checkpoint_interval: "5ms",
          restart_strategy: { type: "fixed-delay", attempts: 3, delay: "1ms" }
        },
        nodes: [
          { kind: "source", id: "nums", type: "numbers", config: { count: 4000, delay_ms: 1 }, inputs: [] },
          { kind: "processor", id: "maybe_fail", type: "fail_once", config: { at: 2500, flag: "obs-restart" }, inputs: ["nums"] },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "obs-restart-out" }, inputs: ["maybe_fail"] }
        ]
      })
      const { result, summary } = yield* observed(graph, registry, (base, _handle, ended) => Effect.flatMap(ended, () => scrape(base)))
      assert.strictEqual(summary.restarts, 1)
      assert.strictEqual(sampleOf(result, "dataflare_errors_total", { node: "maybe_fail" }), 1)
      assert.strictEqual(sampleOf(result, "dataflare_errors_total", { node: "nums" }), 0)
      assert.strictEqual(sampleOf(result, "dataflare_restarts_total", { workflow: "obs-restart" }), 1)
      // the second attempt re-reads from the checkpoint: both attempts together read more than the input
      assert.isAbove(sumOf(result, "dataflare_records_out_total", "nums"), 4000)
      assert.isAbove(sumOf(result, "dataflare_records_out_total", "nums"), summary.nodes.find((n) => n.id === "nums")!.recordsOut)
    }), { timeout: 60_000 })

  it.live("dead letters of a file source are counted per node", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "df-obs-dl-")))
      const input = join(dir, "in.ndjson")
      const rejected = join(dir, "rejected.ndjson")
      const long = JSON.stringify({ id: 0, pad: "x".repeat(200) })
      yield* Effect.promise(() => writeFile(input, [`{"id":1}`, long, `{"id":2}`, long, `{"id":3}`, `{"id":"four"}`].join("\n") + "\n"))
      const graph = WorkflowGraph.make({
        name: "obs-dead-letters",
        nodes: [
          {
            kind: "source",
            id: "in",
            type: "ndjson",
            config: { path: input, max_record_bytes: 100, oversize: "dead_letter", dead_letter: { path: rejected } },
            inputs: []
          },
          // a transformation's dead letters, sent to a destination, count on the transformation
          {
            kind: "processor",
            id: "odd",
            type: "filter",
            config: { condition: "id > 1" },
            inputs: ["in"],
            on_error: "dead_letter",
            dead_letter: { to: "rejects" }
          },
          { kind: "sink", id: "out", type: "collect_test", config: { name: "obs-dl-out" }, inputs: ["odd"] },
          { kind: "sink", id: "rejects", type: "collect_test", config: { name: "obs-dl-rejects" }, inputs: [] }
        ]
      })
      const { result } = yield* observed(graph, Registry.layer([...definitions, ...Builtins.definitions]), (base, _handle, ended) =>
        Effect.flatMap(ended, () => scrape(base)))
      const lines = (yield* Effect.promise(() => readFile(rejected, "utf8"))).trim().split("\n")
      yield* Effect.promise(() => rm(dir, { recursive: true, force: true }))
      assert.strictEqual(lines.length, 2)
      assert.strictEqual(sampleOf(result, "dataflare_dead_letters_total", { node: "in" }), 2)
      assert.strictEqual(sampleOf(result, "dataflare_dead_letters_total", { node: "out" }), 0)
      // "four" > 1 is a type error: set aside, to the destination
      assert.strictEqual(sampleOf(result, "dataflare_dead_letters_total", { node: "odd" }), 1)
      assert.strictEqual(sampleOf(result, "dataflare_records_in_total", { node: "rejects" }), 1)
      assert.strictEqual(sampleOf(result, "dataflare_records_in_total", { node: "out" }), 2)
      assert.strictEqual(sampleOf(result, "dataflare_records_out_total", { node: "in" }), 4)
    }), { timeout: 60_000 })
})
