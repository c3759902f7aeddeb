/**
 * `Monitor.layer` without a server: a run's counts land in Effect's metric registry (what any
 * exporter reads), an ended run stays visible until a run of the same workflow replaces it, and
 * readiness speaks only of running workflows.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import parsePrometheus from "parse-prometheus-text-format"
import * as Monitor from "../../src/Monitor.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { definitions } from "../runtime/support.ts"
import { sampleOf } from "./support.ts"

const graph = (count: number) =>
  WorkflowGraph.make({
    name: "monitored",
    execution: { batch_size: 100 },
    nodes: [
      { kind: "source", id: "nums", type: "numbers", config: { count }, inputs: [] },
      { kind: "processor", id: "even", type: "keep_even", config: { field: "id" }, inputs: ["nums"] },
      { kind: "sink", id: "out", type: "collect_test", config: { name: "monitored-out" }, inputs: ["even"] }
    ]
  })

// a registry of this test's own; the monitor publishes into the registry of the context it is built in
const layer = Layer.mergeAll(Registry.layer(definitions), Monitor.layer).pipe(
  Layer.provideMerge(Layer.succeed(Metric.MetricRegistry)(new Map()))
)

describe("Monitor.layer", () => {
  it.live("publishes a run's counts to Effect's metric registry; a rerun of the workflow replaces them", () =>
    Effect.gen(function*() {
      const monitor = yield* Monitor.Monitor
      yield* Runtime.run(graph(1000))
      yield* monitor.sync
      const first = parsePrometheus(yield* PrometheusMetrics.format())
      assert.strictEqual(sampleOf(first, "dataflare_records_out_total", { node: "out" }), 500)
      assert.strictEqual(sampleOf(first, "dataflare_records_in_total", { node: "even", type: "keep_even", instance: "0" }), 1000)
      const [ended] = yield* monitor.runs
      assert.strictEqual(ended.status, "completed")
      assert.deepStrictEqual(ended.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut]), [["nums", 0, 1000], ["even", 1000, 500], ["out", 500, 500]])
      assert.deepStrictEqual(ended.edges, [{ from: "nums", to: "even", port: "main" }, { from: "even", to: "out", port: "main" }])
      // nothing is running: not ready, and it says why
      const readiness = yield* monitor.readiness
      assert.isFalse(readiness.ready)
      assert.deepStrictEqual(readiness.notReady, [{ reason: "no workflow is running" }])

      yield* Runtime.run(graph(300))
      yield* monitor.sync
      const second = parsePrometheus(yield* PrometheusMetrics.format())
      assert.strictEqual(sampleOf(second, "dataflare_records_out_total", { node: "out" }), 150)
      assert.strictEqual(second.find((f) => f.name === "dataflare_records_out_total")?.metrics.length, 3)
      assert.strictEqual((yield* monitor.runs).length, 1)
    }).pipe(Effect.provide(layer)))
})
