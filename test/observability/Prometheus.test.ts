/**
 * `dataflare top` reads /metrics with its own small parser (dsl/cli/internal/prometheus.ts): it
 * must read what Effect's exposition writes exactly as an independent parser does, label values
 * with quotes, backslashes and line breaks included.
 */
import { assert, describe, it } from "@effect/vitest"
import parsePrometheus from "parse-prometheus-text-format"
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { parse, parseLine } from "../../dsl/cli/internal/prometheus.ts"

describe("the Prometheus text reader of dataflare top", () => {
  it.effect("reads Effect's exposition as the independent parser does", () =>
    Effect.gen(function*() {
      const nodes = ["plain", "with \"quotes\"", "back\\slash", "line\nbreak", "comma,brace}"]
      for (const [i, node] of nodes.entries()) {
        yield* Metric.update(Metric.counter("dataflare_records_in_total", { attributes: { node, instance: String(i) } }), i * 10 + 1)
        yield* Metric.update(Metric.gauge("dataflare_queue_batches", { attributes: { node } }), i)
      }
      const text = yield* PrometheusMetrics.format()
      const ours = parse(text)
      const reference = parsePrometheus(text)
      for (const family of reference) {
        if (family.type === "HISTOGRAM" || family.type === "SUMMARY") continue
        const mine = ours.filter((s) => s.name === family.name)
        assert.strictEqual(mine.length, family.metrics.length, family.name)
        family.metrics.forEach((m, i) => {
          assert.deepStrictEqual(mine[i].labels, m.labels ?? {}, family.name)
          assert.strictEqual(mine[i].value, Number(m.value), family.name)
        })
      }
      assert.deepStrictEqual(
        ours.filter((s) => s.name === "dataflare_records_in_total").map((s) => s.labels.node),
        nodes
      )
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it("reads special values and ignores timestamps, comments and lines that are not samples", () => {
    assert.deepStrictEqual(parseLine("x_total 12 1395066363000"), { name: "x_total", labels: {}, value: 12 })
    assert.isTrue(Number.isNaN(parseLine("x NaN")!.value))
    assert.strictEqual(parseLine('x{le="+Inf"} +Inf')!.value, Number.POSITIVE_INFINITY)
    assert.deepStrictEqual(parseLine('x{a="1",} 2'), { name: "x", labels: { a: "1" }, value: 2 })
    assert.isUndefined(parseLine('x{a="unterminated} 2'))
    assert.isUndefined(parseLine("x not-a-number"))
    assert.deepStrictEqual(parse("# HELP x y\n# TYPE x counter\n\nx 1\ngarbage here\n").map((s) => s.value), [1])
  })
})
