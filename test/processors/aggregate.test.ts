import { assert, describe, it } from "@effect/vitest"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Schema, SchemaGetter } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as MemoryCollect from "../../src/connectors/memory/CollectSink.ts"
import * as Builtins from "../../src/Builtins.ts"
import fc from "fast-check"
import * as Batch from "../../src/Batch.ts"
import { RecordError } from "../../src/Errors.ts"
import * as Aggregate from "../../src/processors/aggregate.ts"
import * as Processors from "../../src/processors/index.ts"
import type { StatefulProcessor } from "../../src/Processor.ts"
import * as Registry from "../../src/Registry.ts"
import type * as Spec from "../../src/Spec.ts"
import * as Runtime from "../../src/Runtime.ts"
import { checkRestoreEquivalence } from "../../src/testing/RestoreEquivalence.ts"
import { Collect, collected, Numbers } from "../runtime/support.ts"
import { chunks, configIssues, feed, numbersThrough, operatorRuns, throughJson } from "./statefulSupport.ts"
import { numRuns, timeoutFor } from "../../property-tests/support/effectProperty.ts"

// ---------------------------------------------------------------------------------------------
// helpers

const make = (config: unknown): StatefulProcessor => Aggregate.processor(Schema.decodeUnknownSync(Aggregate.AggregateConfig)(config))

const { run, runWithRestore } = operatorRuns("agg")

// ---------------------------------------------------------------------------------------------
// an independent reference: enumerate windows per record, decide lateness from the prefix maximum

interface Rec {
  readonly g: string
  readonly t: number
  readonly v?: number | null
}

const OPS_CONFIG = {
  n: { op: "count" },
  nv: { op: "count", field: "v" },
  sum: { op: "sum", field: "v" },
  min: { op: "min", field: "v" },
  max: { op: "max", field: "v" },
  avg: { op: "avg", field: "v" },
  first: { op: "first", field: "v" },
  last: { op: "last", field: "v" },
  distinct: { op: "count_distinct", field: "v" }
} as const

const aggregatesOf = (rs: ReadonlyArray<Rec>) => {
  const withV = rs.filter((r) => typeof r.v === "number")
  const vs = withV.map((r) => r.v as number)
  const minT = Math.min(...withV.map((r) => r.t))
  const maxT = Math.max(...withV.map((r) => r.t))
  const firstRec = withV.find((r) => r.t === minT)
  const lastRec = [...withV].reverse().find((r) => r.t === maxT)
  return {
    n: rs.length,
    nv: vs.length,
    sum: vs.reduce((a, b) => a + b, 0),
    min: vs.length === 0 ? null : Math.min(...vs),
    max: vs.length === 0 ? null : Math.max(...vs),
    avg: vs.length === 0 ? null : vs.reduce((a, b) => a + b, 0) / vs.length,
    first: firstRec?.v ?? null,
    last: lastRec?.v ?? null,
    distinct: new Set(vs).size
  }
}

const reference = (records: ReadonlyArray<Rec>, size: number, slide: number, ooo: number) => {
  let max = -Infinity
  const windows = new Map<string, { start: number; g: string; rs: Array<Rec> }>()
  const late: Array<Rec> = []
  for (const r of records) {
    max = Math.max(max, r.t)
    const watermark = max - ooo
    let placed = false
    for (let s = Math.floor((r.t - size) / slide) * slide; s <= r.t; s += slide) {
      if (r.t < s || r.t >= s + size || s + size <= watermark) continue
      const key = `${s}/${r.g}`
      const w = windows.get(key) ?? { start: s, g: r.g, rs: [] }
      w.rs.push(r)
      windows.set(key, w)
      placed = true
    }
    if (!placed) late.push(r)
  }
  const rows = [...windows.values()].sort((a, b) => a.start - b.start || (a.g < b.g ? -1 : a.g > b.g ? 1 : 0))
  return {
    records: rows.map((w) => ({ g: w.g, window_start: w.start, window_end: w.start + size, ...aggregatesOf(w.rs) })),
    late
  }
}

/** Deterministic pseudo-random records: mostly increasing time with bounded disorder, some very late ones. */
const generate = (n: number, seed: number, disorder: number): Array<Rec> => {
  let x = seed >>> 0
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296)
  const out: Array<Rec> = []
  for (let i = 0; i < n; i++) {
    const base = 1000 + i * 7
    const lateBy = rnd() < 0.05 ? 200 : 0
    const t = base - Math.floor(rnd() * disorder) - lateBy
    const k = rnd()
    const v = k < 0.1 ? null : k < 0.15 ? undefined : Math.floor(rnd() * 20) - 5
    const g = ["a", "b", "c"][Math.floor(rnd() * 3)]
    out.push(v === undefined ? { g, t } : { g, t, v })
  }
  return out
}

const windowedConfig = (window: unknown, ooo: number, late: "drop" | "side_output" = "side_output") => ({
  group_by: ["g"],
  time_field: "t",
  window,
  max_out_of_orderness: ooo,
  late,
  window_format: "epoch_ms",
  aggregates: OPS_CONFIG
})

// ---------------------------------------------------------------------------------------------

describe("aggregate over windows", () => {
  it("tumbling, in order: one row per group and window, in start then group order", () => {
    const p = make({
      group_by: ["user"],
      time_field: "ts",
      window: { type: "tumbling", size: "1m" },
      aggregates: { clicks: { op: "count" }, spent: { op: "sum", field: "amount" } }
    })
    const t0 = Date.parse("2024-03-01T10:00:00Z")
    const input = [
      { user: "bob", ts: t0 + 1_000, amount: 5 },
      { user: "al", ts: t0 + 2_000, amount: 1 },
      { user: "bob", ts: t0 + 59_999, amount: 2 },
      { user: "al", ts: t0 + 60_000, amount: 10 },
      { user: "al", ts: t0 + 150_000, amount: 3 }
    ]
    // the first window fires as soon as a record of the second arrives (max_out_of_orderness 0)
    const op = p.make({ node: "agg", instance: 0 })
    assert.deepStrictEqual(op.onBatch(Batch.make(input.slice(0, 3))).records, [])
    assert.deepStrictEqual(op.onBatch(Batch.make(input.slice(3))).records, [
      { user: "al", window_start: "2024-03-01T10:00:00.000Z", window_end: "2024-03-01T10:01:00.000Z", clicks: 1, spent: 1 },
      { user: "bob", window_start: "2024-03-01T10:00:00.000Z", window_end: "2024-03-01T10:01:00.000Z", clicks: 2, spent: 7 },
      { user: "al", window_start: "2024-03-01T10:01:00.000Z", window_end: "2024-03-01T10:02:00.000Z", clicks: 1, spent: 10 }
    ])
    assert.deepStrictEqual(op.onEnd().records, [
      { user: "al", window_start: "2024-03-01T10:02:00.000Z", window_end: "2024-03-01T10:03:00.000Z", clicks: 1, spent: 3 }
    ])
    assert.strictEqual(op.state.size(), 1, "only the clock is left")
  })

  it("tumbling and sliding, with disorder inside and beyond the bound: every op equals the reference, for every batch size", () => {
    const cases: Array<{ window: unknown; size: number; slide: number; ooo: number; disorder: number }> = [
      { window: { type: "tumbling", size: 50 }, size: 50, slide: 50, ooo: 0, disorder: 0 },
      { window: { type: "tumbling", size: "50ms" }, size: 50, slide: 50, ooo: 30, disorder: 30 },
      { window: { type: "tumbling", size: 50 }, size: 50, slide: 50, ooo: 10, disorder: 40 },
      { window: { type: "sliding", size: 60, slide: 20 }, size: 60, slide: 20, ooo: 25, disorder: 25 },
      { window: { type: "sliding", size: 50, slide: 15 }, size: 50, slide: 15, ooo: 5, disorder: 30 }
    ]
    for (const c of cases) {
      const input = generate(300, c.size * 31 + c.ooo, c.disorder)
      const expected = reference(input, c.size, c.slide, c.ooo)
      const p = make(windowedConfig(c.window, c.ooo))
      for (const batchSize of [1, 3, 17, 300]) {
        const got = run(p, input, batchSize)
        assert.deepStrictEqual(got.records, expected.records, `${JSON.stringify(c)} batch ${batchSize}`)
        assert.deepStrictEqual(got.late, expected.late)
      }
      if (c.disorder > c.ooo || input.some((r, i) => i > 0 && r.t < input[i - 1].t - 100)) {
        assert.isAbove(expected.late.length, 0, "the case exercises late records")
      }
    }
  })

  it("late records: dropped and counted by default, or sent to the 'late' side output", () => {
    const input = [{ k: 1, t: 5 }, { k: 1, t: 25 }, { k: 1, t: 3 }, { k: 1, t: 12 }, { k: 1, t: 21 }]
    const base = { group_by: ["k"], time_field: "t", window: { type: "tumbling", size: 10 }, window_format: "epoch_ms", aggregates: { n: { op: "count" } } }
    const dropping = make(base).make({ node: "agg", instance: 0 }) as Aggregate.AggregateOperator
    const out = feed(dropping, [input], true)
    // t=25 moves the watermark to 25: windows [0,10) and [10,20) fire; t=3 and t=12 are late
    assert.deepStrictEqual(out.records, [
      { k: 1, window_start: 0, window_end: 10, n: 1 },
      { k: 1, window_start: 20, window_end: 30, n: 2 }
    ])
    assert.deepStrictEqual(out.late, [])
    assert.strictEqual(dropping.lateRecords(), 2)
    const side = feed(make({ ...base, late: "side_output" }).make({ node: "agg", instance: 0 }), [input], true)
    assert.deepStrictEqual(side.records, out.records)
    assert.deepStrictEqual(side.late, [{ k: 1, t: 3 }, { k: 1, t: 12 }])
  })

  it("honours a watermark carried by the input batch", () => {
    const p = make({ time_field: "t", window: { type: "tumbling", size: 10 }, window_format: "epoch_ms", aggregates: { n: { op: "count" } } })
    const op = p.make({ node: "agg", instance: 0 }) as Aggregate.AggregateOperator
    assert.deepStrictEqual(op.onBatch(Batch.make([{ t: 1 }, { t: 2 }])).records, [])
    assert.deepStrictEqual(op.onBatch(Batch.make([], { watermark: 10 })).records, [{ window_start: 0, window_end: 10, n: 2 }])
    assert.strictEqual(op.watermark(), 10)
    // t=9 belongs to a window that has fired: late (dropped)
    assert.deepStrictEqual(op.onBatch(Batch.make([{ t: 9 }, { t: 10 }])).records, [])
    assert.strictEqual(op.lateRecords(), 1)
    assert.deepStrictEqual(op.onEnd().records, [{ window_start: 10, window_end: 20, n: 1 }])
  })

  it("event time as epoch ms, ISO string or Date gives the same windows", () => {
    const ms = [0, 30_000, 61_000, 185_000].map((d) => Date.parse("2024-06-01T00:00:00Z") + d)
    const p = make({ time_field: "t", window: { type: "sliding", size: "2m", slide: "1m" }, aggregates: { n: { op: "count" } } })
    const asNumber = run(p, ms.map((t) => ({ t })))
    assert.deepStrictEqual(run(p, ms.map((t) => ({ t: new Date(t).toISOString() }))), asNumber)
    assert.deepStrictEqual(run(p, ms.map((t) => ({ t: new Date(t) }))), asNumber)
    assert.deepStrictEqual(asNumber.records, [
      { window_start: "2024-05-31T23:59:00.000Z", window_end: "2024-06-01T00:01:00.000Z", n: 2 },
      { window_start: "2024-06-01T00:00:00.000Z", window_end: "2024-06-01T00:02:00.000Z", n: 3 },
      { window_start: "2024-06-01T00:01:00.000Z", window_end: "2024-06-01T00:03:00.000Z", n: 1 },
      { window_start: "2024-06-01T00:02:00.000Z", window_end: "2024-06-01T00:04:00.000Z", n: 1 },
      { window_start: "2024-06-01T00:03:00.000Z", window_end: "2024-06-01T00:05:00.000Z", n: 1 }
    ])
  })

  it("empty input and empty groups produce no rows", () => {
    const p = make(windowedConfig({ type: "tumbling", size: 10 }, 0))
    assert.deepStrictEqual(run(p, []), { records: [], late: [] })
    // windows [10,20) and [20,30) hold no record: no row for them
    assert.deepStrictEqual(run(p, [{ g: "a", t: 5, v: 1 }, { g: "a", t: 35, v: 2 }]).records.map((r) => (r as { window_start: number }).window_start), [0, 30])
    assert.deepStrictEqual(run(make({ aggregates: { n: { op: "count" } } }), []).records, [])
  })
})

describe("aggregate without a window", () => {
  it("emits one row per group at end of input, in group order; first/last follow arrival without a time field", () => {
    const p = make({ group_by: ["country", "city"], aggregates: { ...OPS_CONFIG } })
    const input = [
      { country: "fr", city: "paris", v: 3 },
      { country: "de", city: "berlin", v: 1 },
      { country: "fr", city: "paris", v: null },
      { country: "fr", city: "lyon", v: 2 },
      { country: "fr", city: "paris", v: 3 },
      { country: "fr", city: "paris", v: 9 },
      { country: "de", city: "berlin" }
    ]
    const op = p.make({ node: "agg", instance: 0 })
    assert.deepStrictEqual(op.onBatch(Batch.make(input)).records, [])
    const rows = op.onEnd().records
    const expect = (country: string, city: string) => {
      const rs = input.filter((r) => r.country === country && r.city === city)
      return { country, city, ...aggregatesOf(rs.map((r) => ({ g: "", t: 0, ...("v" in r ? { v: r.v } : {}) }))) }
    }
    assert.deepStrictEqual(rows, [expect("de", "berlin"), expect("fr", "lyon"), expect("fr", "paris")])
    assert.deepStrictEqual(rows[2], { country: "fr", city: "paris", n: 4, nv: 3, sum: 15, min: 3, max: 9, avg: 5, first: 3, last: 9, distinct: 2 })
    assert.deepStrictEqual((rows[0] as { min: unknown }).min, 1)
    assert.strictEqual(op.state.size(), 0)
  })

  it("one global group without group_by; first/last follow event time when a time field is set", () => {
    const p = make({ time_field: "t", aggregates: { n: { op: "count" }, first: { op: "first", field: "v" }, last: { op: "last", field: "v" } } })
    const input = [{ t: 5, v: "b" }, { t: 1, v: "a" }, { t: 9, v: "c" }, { t: 9, v: "d" }, { t: 3, v: "x" }]
    assert.deepStrictEqual(run(p, input, 2).records, [{ n: 5, first: "a", last: "d" }])
    assert.strictEqual(p.key!({ anything: 1 }), p.key!({ other: 2 }), "one partition key for the global group")
  })

  it("null and missing values are skipped; a non-numeric value for sum is a RecordError naming the field and record", () => {
    const p = make({ aggregates: { s: { op: "sum", field: "x" }, lo: { op: "min", field: "x" }, a: { op: "avg", field: "x" } } })
    assert.deepStrictEqual(run(p, [{ x: null }, {}]).records, [{ s: 0, lo: null, a: null }])
    assert.deepStrictEqual(run(p, [{ x: 2 }, { x: null }, { x: 4n }]).records, [{ s: 6, lo: 2, a: 3 }])
    const bad = { id: 3, x: "12" }
    let error: unknown
    try {
      run(p, [{ x: 1 }, bad])
    } catch (e) {
      error = e
    }
    assert.instanceOf(error, RecordError)
    assert.strictEqual((error as RecordError).field, "x")
    assert.strictEqual((error as RecordError).record, bad)
    assert.include((error as RecordError).message, "sum needs a number, got the string \"12\"")
  })
})

describe("user reducers (DSL)", () => {
  it("reducers run beside built-in ops, and their state survives a checkpoint through their schema", () => {
    const spec = Processors.aggregate({
      group_by: ["g"],
      time_field: "t",
      window: { type: "tumbling", size: 10 },
      window_format: "epoch_ms",
      aggregates: {
        n: { op: "count" },
        values: {
          reducer: Processors.reducer({
            init: () => [] as ReadonlyArray<number>,
            add: (s, r) => [...s, (r as { v: number }).v],
            result: (s) => s.join(",")
          })
        },
        seen: {
          reducer: {
            init: () => new Set<number>(),
            add: (s: Set<number>, r: unknown) => new Set(s).add((r as { v: number }).v),
            result: (s: Set<number>) => [...s].sort((a, b) => a - b),
            schema: Schema.Array(Schema.Number).pipe(
              Schema.decodeTo(Schema.declare((u): u is Set<number> => u instanceof Set), {
                decode: SchemaGetter.transform((a: ReadonlyArray<number>) => new Set(a)),
                encode: SchemaGetter.transform((s: Set<number>) => [...s])
              })
            ) as Schema.Codec<Set<number>, unknown>
          }
        }
      }
    })
    assert.strictEqual(spec.type, "aggregate")
    // the output type is computed from the config (a wrong field type here would not compile)
    type Row = typeof spec extends Spec.ProcessorSpec<never, infer O> ? O : never
    const fields = (r: Row): [unknown, number, number, string, Array<number>] => [r.g, r.window_start, r.n, r.values, r.seen]
    void fields
    const p = make(spec.config)
    const input = [{ g: "x", t: 1, v: 4 }, { g: "x", t: 2, v: 4 }, { g: "x", t: 3, v: 1 }, { g: "y", t: 4, v: 7 }, { g: "x", t: 12, v: 2 }]
    const expected = [
      { g: "x", window_start: 0, window_end: 10, n: 3, values: "4,4,1", seen: [1, 4] },
      { g: "y", window_start: 0, window_end: 10, n: 1, values: "7", seen: [7] },
      { g: "x", window_start: 10, window_end: 20, n: 1, values: "2", seen: [2] }
    ]
    assert.deepStrictEqual(run(p, input).records, expected)
    const batches = chunks(input, 1)
    for (let split = 0; split <= batches.length; split++) {
      assert.deepStrictEqual(runWithRestore(p, batches, split).records, expected, `split at ${split}`)
    }
  })
})

describe("aggregate state and checkpoints", () => {
  const configs: ReadonlyArray<readonly [string, unknown]> = [
    ["tumbling", windowedConfig({ type: "tumbling", size: 40 }, 15)],
    ["sliding, late to the side output", windowedConfig({ type: "sliding", size: 60, slide: 20 }, 10)],
    ["sliding, late dropped", windowedConfig({ type: "sliding", size: 30, slide: 10 }, 0, "drop")],
    ["global", { group_by: ["g"], time_field: "t", aggregates: OPS_CONFIG }],
    ["global, no group", { aggregates: OPS_CONFIG }]
  ]

  it("snapshot, JSON, restore into a fresh operator at every split point: the same output as one run", () => {
    for (const [name, config] of configs) {
      const p = make(config)
      const input = generate(60, 7, 30)
      for (const batchSize of [1, 4]) {
        const batches = chunks(input, batchSize)
        const whole = run(p, input, batchSize)
        assert.isAbove(whole.records.length, 0)
        for (let split = 0; split <= batches.length; split++) {
          assert.deepStrictEqual(runWithRestore(p, batches, split), whole, `${name}, batch ${batchSize}, split at ${split}`)
        }
      }
    }
  })

  it("the late count survives a restore", () => {
    const p = make(windowedConfig({ type: "tumbling", size: 10 }, 0, "drop"))
    const first = p.make({ node: "agg", instance: 0 }) as Aggregate.AggregateOperator
    feed(first, [[{ g: "a", t: 30 }, { g: "a", t: 1 }]], false)
    const second = p.make({ node: "agg", instance: 0 }) as Aggregate.AggregateOperator
    second.state.restore(throughJson(p, first))
    assert.strictEqual(second.lateRecords(), 1)
    assert.strictEqual(second.watermark(), 30)
    feed(second, [[{ g: "a", t: 2 }]], false)
    assert.strictEqual(second.lateRecords(), 2)
  })

  it("encode → JSON → decode → encode is the identity, and an encoded state does not change with the live one", () => {
    const p = make({
      group_by: ["g", "d"],
      time_field: "t",
      window: { type: "sliding", size: 20, slide: 10 },
      aggregates: { ...OPS_CONFIG, firstDate: { op: "first", field: "d" } }
    })
    const op = p.make({ node: "agg", instance: 0 })
    op.onBatch(Batch.make([
      { g: "a", d: new Date(86_400_000), t: 1, v: 2 },
      { g: "a", d: new Date(86_400_000), t: 2, v: 3 },
      { g: 5n, d: null, t: 3, v: 3 }
    ]))
    const encode = Schema.encodeUnknownSync(p.stateSchema)
    const decode = Schema.decodeUnknownSync(p.stateSchema)
    const encoded = op.state.snapshot().map(([k, v]) => [k, encode(v)] as const)
    const before = JSON.stringify(encoded)
    const again = (JSON.parse(before) as Array<[string, unknown]>).map(([k, v]) => [k, encode(decode(v))] as const)
    assert.strictEqual(JSON.stringify(again), before)
    // the decoded group values are the original ones (a Date stays a Date, a bigint a bigint)
    const restored = p.make({ node: "agg", instance: 0 })
    restored.state.restore(throughJson(p, op))
    const rows = restored.onEnd().records as Array<{ g: unknown; d: unknown; firstDate: unknown }>
    assert.deepStrictEqual(rows, op.onEnd().records)
    assert.instanceOf(rows.find((r) => r.g === "a")!.firstDate, Date)
    assert.strictEqual(rows.filter((r) => r.g === 5n).length, 2)
    // live state moved on (onEnd deleted every pane); the earlier encoding is unchanged
    assert.strictEqual(JSON.stringify(encoded), before)
    // a value that is not a state value does not decode
    assert.throws(() => decode({ _tag: "Pane", start: 0, group: ["a"], acc: [1] }))
  })

  it("property: for any input, batch sizes and split point, output equals the reference and survives a restore", () => {
    const recordArb = fc.record({
      g: fc.constantFrom("a", "b", "c"),
      t: fc.integer({ min: 0, max: 400 }),
      v: fc.option(fc.integer({ min: -50, max: 50 }), { nil: null })
    })
    const windowArb = fc.oneof(
      fc.integer({ min: 1, max: 60 }).map((size) => ({ window: { type: "tumbling", size }, size, slide: size })),
      fc.integer({ min: 1, max: 20 }).chain((slide) =>
        fc.integer({ min: 1, max: 4 }).map((k) => ({ window: { type: "sliding", size: slide * k + (k > 1 ? slide - 1 : 0) }, size: slide * k + (k > 1 ? slide - 1 : 0), slide }))
      )
    )
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 80 }), windowArb, fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 10 }), fc.nat(), (input, w, ooo, batchSize, splitSeed) => {
        const window = w.window.type === "sliding" ? { ...w.window, slide: w.slide } : w.window
        const p = make(windowedConfig(window, ooo))
        const expected = reference(input, w.size, w.slide, ooo)
        const batches = chunks(input, batchSize)
        const got = run(p, input, batchSize)
        assert.deepStrictEqual(got, expected)
        assert.deepStrictEqual(runWithRestore(p, batches, splitSeed % (batches.length + 1)), expected)
      }),
      { numRuns: numRuns(300) }
    )
  }, timeoutFor(numRuns(300), 20, 60_000))
})

describe("aggregate config", () => {
  const issues = (config: unknown) => configIssues(Aggregate.AggregateConfig, config)

  it("reports each problem at its key", () => {
    assert.deepStrictEqual(issues({ window: { type: "tumbling", size: "1m" }, aggregates: { s: { op: "sum" } } }), [
      "time_field: time_field is required when a window is set",
      "aggregates.s.field: op 'sum' needs a field"
    ])
    assert.deepStrictEqual(issues({ time_field: "t", window: { type: "sliding", size: "1m", slide: "2m" }, aggregates: {} }), [
      "window.slide: slide must not be larger than size (records between windows would belong to none)"
    ])
    assert.deepStrictEqual(issues({ group_by: ["n"], time_field: "t", window: { type: "tumbling", size: 5 }, aggregates: { n: { op: "count" }, window_end: { op: "count" } } }), [
      "aggregates.n: output field 'n' is also a group_by field or a window field",
      "aggregates.window_end: output field 'window_end' is also a group_by field or a window field"
    ])
    assert.deepStrictEqual(issues({ late: "side_output", max_out_of_orderness: "1s", aggregates: {} }), [
      "max_out_of_orderness: max_out_of_orderness only applies to a windowed aggregate (set window)",
      "late: late only applies to a windowed aggregate (set window)"
    ])
    assert.isAbove(issues({ aggregates: { m: { op: "median", field: "x" } } }).length, 0)
    assert.isAbove(issues({ time_field: "t", window: { type: "tumbling", size: "soon" }, aggregates: {} }).length, 0)
    assert.deepStrictEqual(issues({ group_by: ["a"], time_field: "t", window: { type: "tumbling", size: "1m" }, max_out_of_orderness: "5s", late: "side_output", aggregates: { n: { op: "count" } } }), [])
  })

  it("a reducer written in YAML (no functions) is refused with a message that says why", () => {
    const found = issues({ aggregates: { r: { reducer: { init: "[]", add: "x", result: "y" } } } })
    assert.isTrue(found.some((m) => m.includes("only from the DSL")), found.join("\n"))
  })
})

describe("aggregate in a running workflow", () => {
  const registry = Registry.layer([Numbers, Collect, Aggregate.Aggregate])

  it.effect("keyed over 3 instances: each (group, window) row once, equal to an independent count", () =>
    Effect.gen(function*() {
      const graph = numbersThrough({
        name: "agg",
        batchSize: 7,
        source: "nums",
        count: 500,
        processor: {
          id: "agg",
          type: "aggregate",
          parallelism: 3,
          config: {
            group_by: ["group"],
            time_field: "id",
            window: { type: "sliding", size: 100, slide: 50 },
            window_format: "epoch_ms",
            aggregates: { n: { op: "count" }, total: { op: "sum", field: "id" } }
          }
        },
        collect: "agg-runtime"
      })
      yield* Runtime.run(graph)
      const got = (collected("agg-runtime") as Array<{ group: number; window_start: number; n: number; total: number }>)
        .map((r) => JSON.stringify(r)).sort()
      const expected: Array<string> = []
      for (let start = -50; start < 500; start += 50) {
        for (const group of [0, 1, 2]) {
          const ids = Array.from({ length: 500 }, (_, i) => i).filter((i) => i % 3 === group && i >= start && i < start + 100)
          if (ids.length > 0) {
            expected.push(JSON.stringify({ group, window_start: start, window_end: start + 100, n: ids.length, total: ids.reduce((a, b) => a + b, 0) }))
          }
        }
      }
      assert.deepStrictEqual(got, expected.sort())
    }).pipe(Effect.provide(registry)))

  it("checkpoint/crash/restore through the runtime leaves the sink equal to a run without failures", async () => {
    const graph = numbersThrough({
      name: "agg-restore",
      batchSize: 3,
      source: "src",
      count: 0,
      processor: {
        id: "agg",
        type: "aggregate",
        parallelism: 2,
        config: {
          group_by: ["group"],
          time_field: "id",
          window: { type: "sliding", size: 30, slide: 10 },
          max_out_of_orderness: 15,
          aggregates: { n: { op: "count" }, hi: { op: "max", field: "id" }, ids: { op: "count_distinct", field: "id" } }
        }
      },
      collect: "agg-prop"
    })
    const records = fc.array(fc.record({ id: fc.integer({ min: 0, max: 300 }), group: fc.integer({ min: 0, max: 3 }) }), { minLength: 5, maxLength: 60 })
      .map((rs) => rs.sort((a, b) => a.id - b.id).map((r, i) => ({ ...r, id: r.id + (i % 4 === 0 ? -10 : 0) })))
    const stats = await checkRestoreEquivalence({ graph, registry, inputs: { src: records }, numRuns: numRuns(40) })
    assert.isAbove(stats.restoredFromCheckpoint, 0)
  }, timeoutFor(numRuns(40), 200, 120_000))
})

describe("aggregate and dedupe from a YAML workflow", () => {
  it.effect("NDJSON events → dedupe → per-minute aggregate with late records to their own file", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-windowing-")))
      yield* Effect.addFinalizer(() => Effect.promise(() => rm(dir, { recursive: true, force: true })))
      const t0 = Date.parse("2024-07-01T08:00:00Z")
      // 400 events over ~7 minutes, a few out of order, every 10th sent twice, and some far too late
      const events: Array<{ event_id: number; country: string; at: string; amount: number }> = []
      for (let i = 0; i < 400; i++) {
        const offset = i * 1_000 + (i % 7 === 3 ? -4_000 : 0) - (i % 50 === 49 ? 120_000 : 0)
        const e = { event_id: i, country: ["de", "fr", "it"][(i * 7) % 3], at: new Date(t0 + offset).toISOString(), amount: (i % 13) + 0.5 }
        events.push(e)
        if (i % 10 === 0) events.push({ ...e })
      }
      yield* Effect.promise(() => writeFile(join(dir, "events.ndjson"), events.map((e) => JSON.stringify(e)).join("\n") + "\n"))
      const yaml = `
name: windowing
execution: { batch_size: 16 }
sources:
  events: { type: ndjson, config: { path: "${join(dir, "events.ndjson")}" } }
transformations:
  unique:
    type: dedupe
    inputs: [events]
    config: { key: [event_id], time_field: at, window: 5m, max_out_of_orderness: 10s }
  per_minute:
    type: aggregate
    inputs: [unique]
    parallelism: 2
    config:
      group_by: [country]
      time_field: at
      window: { type: tumbling, size: 1m }
      max_out_of_orderness: 5s
      late: side_output
      aggregates:
        orders: { op: count }
        revenue: { op: sum, field: amount }
        biggest: { op: max, field: amount }
destinations:
  totals: { type: ndjson, inputs: [per_minute], config: { path: "${join(dir, "totals.ndjson")}" } }
  late: { type: ndjson, inputs: [per_minute.late], config: { path: "${join(dir, "late.ndjson")}" } }
`
      const graph = yield* Yaml.parse(yaml, { file: "windowing.yaml", env: {} })
      yield* Runtime.run(graph).pipe(Effect.provide(Builtins.layer))
      const read = (name: string) =>
        Effect.promise(() => readFile(join(dir, name), "utf8")).pipe(
          Effect.map((text) => text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>))
        )
      // independent expectation: duplicates are adjacent, so dedupe keeps each event_id once; the
      // events sent two minutes behind are late whatever the partition (every instance has seen
      // events of the last few seconds), the others all land in their minute
      const unique = events.filter((e, i) => i === 0 || events[i - 1].event_id !== e.event_id)
      const late: Array<number> = []
      const totals = yield* read("totals.ndjson")
      const lateRows = yield* read("late.ndjson")
      for (const r of lateRows) late.push(r.event_id as number)
      // every unique event is counted once, either in a total or as late
      const counted = totals.reduce((n, r) => n + (r.orders as number), 0)
      assert.strictEqual(counted + late.length, unique.length)
      assert.strictEqual(unique.length, 400)
      // the far-too-late events (2 minutes behind) are exactly the late ones
      assert.deepStrictEqual(late.sort((a, b) => a - b), unique.filter((e) => e.event_id % 50 === 49).map((e) => e.event_id))
      // with the late events removed, each (country, minute) row equals the independent sums
      const expected = new Map<string, { orders: number; revenue: number; biggest: number }>()
      for (const e of unique) {
        if (e.event_id % 50 === 49) continue
        const start = Math.floor(Date.parse(e.at) / 60_000) * 60_000
        const key = `${e.country}/${new Date(start).toISOString()}`
        const c = expected.get(key) ?? { orders: 0, revenue: 0, biggest: -Infinity }
        c.orders += 1
        c.revenue += e.amount
        c.biggest = Math.max(c.biggest, e.amount)
        expected.set(key, c)
      }
      assert.strictEqual(totals.length, expected.size)
      for (const r of totals) {
        const want = expected.get(`${r.country}/${r.window_start}`)
        assert.isDefined(want, JSON.stringify(r))
        assert.deepStrictEqual(
          { orders: r.orders, revenue: r.revenue, biggest: r.biggest, end: Date.parse(r.window_end as string) - Date.parse(r.window_start as string) },
          { ...want!, end: 60_000 }
        )
      }
    }).pipe(Effect.scoped))
})

describe("aggregate from the typed DSL", () => {
  interface Sale {
    readonly shop: string
    readonly day: number
    readonly amount: number
  }

  it.effect("aggregateOf<I>() checks field names against I and types the output rows", () =>
    Effect.gen(function*() {
      const sales: Array<Sale> = [
        { shop: "north", day: 1, amount: 10 },
        { shop: "south", day: 1, amount: 4 },
        { shop: "north", day: 2, amount: 5 }
      ]
      const pipeline = Pipeline.from("sales", Memory.source({ records: sales }))
        .via("unique", Processors.dedupe<Sale>({ key: ["shop", "day"] }))
        .via("per_shop", Processors.aggregateOf<Sale>()({ group_by: ["shop"], aggregates: { total: { op: "sum", field: "amount" }, days: { op: "count" } } }))
        // r.shop is a string and r.total a number: this would not compile otherwise
        .map("line", (r) => ({ line: `${r.shop.toUpperCase()} ${r.total.toFixed(1)} over ${r.days} days` }))
        .to("out", Memory.sink({ name: "dsl-aggregate" }))
      yield* Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(MemoryCollect.collected("dsl-aggregate"), [{ line: "NORTH 15.0 over 2 days" }, { line: "SOUTH 4.0 over 1 days" }])
      // a field that Sale does not have is a compile error
      // @ts-expect-error: 'price' is not a field of Sale
      Processors.aggregateOf<Sale>()({ aggregates: { p: { op: "max", field: "price" } } })
    }))
})
