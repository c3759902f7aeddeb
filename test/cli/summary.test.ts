import { assert, describe, it } from "@effect/vitest"
import { formatCount, formatDuration, rate, recordsRead, renderSummary } from "../../dsl/cli/internal/summary.ts"
import type { RunSummary } from "../../src/Runtime.ts"

const node = (id: string, kind: "source" | "processor" | "sink", type: string, recordsIn: number, recordsOut: number) => ({
  id,
  kind,
  type,
  recordsIn,
  recordsOut,
  batchesIn: 0,
  batchesOut: 0
})

describe("run summary", () => {
  it("renders an aligned table, the duration and the rate of records read", () => {
    const summary: RunSummary = {
      workflow: "orders",
      durationMs: 2500,
      restarts: 0,
      batching: {},
      nodes: [
        node("orders", "source", "csv", 0, 12345),
        node("active_large", "processor", "filter", 12345, 2481),
        node("out", "sink", "ndjson", 2481, 2481)
      ]
    }
    assert.strictEqual(
      renderSummary(summary),
      [
        "node          kind       type    records in  records out",
        "orders        source     csv              0       12,345",
        "active_large  processor  filter      12,345        2,481",
        "out           sink       ndjson       2,481        2,481",
        "",
        "orders: 12,345 records in 2.50 s (4,938 records/s)"
      ].join("\n")
    )
    assert.strictEqual(recordsRead(summary), 12345)
    assert.match(
      renderSummary({ ...summary, restarts: 2 }),
      /\norders: 12,345 records in 2\.50 s \(4,938 records\/s\), after 2 restarts \(counts of the last attempt\)$/
    )
  })

  it("adds the final adaptive batch size of each source when adaptive batching is on", () => {
    const summary: RunSummary = {
      workflow: "w",
      durationMs: 1000,
      restarts: 0,
      batching: { orders: { size: 4096, rate: 250_000.4, latencyMs: 12.3, observations: 40 } },
      nodes: [node("orders", "source", "csv", 0, 10), node("out", "sink", "ndjson", 10, 10)]
    }
    assert.strictEqual(
      renderSummary(summary).split("\n").slice(-2).join("\n"),
      "w: 10 records in 1.00 s (10 records/s)\nadaptive batching of orders: batch size 4,096, 250,000 records/s, latency 12 ms"
    )
  })

  it("counts dead letters per node, and in all when several nodes set records aside", () => {
    const summary: RunSummary = {
      workflow: "w",
      durationMs: 1000,
      restarts: 0,
      batching: {},
      nodes: [
        node("orders", "source", "csv", 0, 10),
        { ...node("big", "processor", "filter", 10, 7), deadLetters: 2 },
        { ...node("out", "sink", "postgres", 7, 6), deadLetters: 1 },
        node("rejects", "sink", "ndjson", 3, 3)
      ]
    }
    assert.deepStrictEqual(renderSummary(summary).split("\n").slice(-3), [
      "dead letters of big: 2 records set aside",
      "dead letters of out: 1 records set aside",
      "dead letters: 3 records set aside in all"
    ])
    // one node: no total
    assert.notInclude(renderSummary({ ...summary, nodes: summary.nodes.slice(0, 2) }), "in all")
  })

  it("formats counts, durations and rates", () => {
    assert.strictEqual(formatCount(0), "0")
    assert.strictEqual(formatCount(999), "999")
    assert.strictEqual(formatCount(1000), "1,000")
    assert.strictEqual(formatCount(1234567.6), "1,234,568")
    assert.strictEqual(formatDuration(850), "850 ms")
    assert.strictEqual(formatDuration(2345), "2.35 s")
    assert.strictEqual(formatDuration(185_000), "3 m 05 s")
    assert.strictEqual(rate(500, 250), 2000)
    assert.strictEqual(rate(0, 0), 0)
    assert.strictEqual(rate(10, 0), Infinity)
  })
})
