import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import * as Batch from "../../src/Batch.ts"
import { RecordError } from "../../src/Errors.ts"
import * as Dedupe from "../../src/processors/dedupe.ts"
import * as Processors from "../../src/processors/index.ts"
import type { StatefulProcessor } from "../../src/Processor.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import { checkRestoreEquivalence } from "../../src/testing/RestoreEquivalence.ts"
import { Collect, collected, Numbers } from "../runtime/support.ts"
import { chunks, configIssues, feed, numbersThrough, operatorRuns, throughJson } from "./statefulSupport.ts"
import { numRuns, timeoutFor } from "../../property-tests/support/effectProperty.ts"

const make = (config: unknown): StatefulProcessor => Dedupe.processor(Schema.decodeUnknownSync(Dedupe.DedupeConfig)(config))

const { run, runWithRestore } = operatorRuns("dd")

interface Ev {
  readonly id: string
  readonly t: number
  readonly n: number
}

/** Reference: a record is late when its window closed under the prefix maximum; a duplicate when the key's last emitted record is less than `window` earlier. */
const reference = (records: ReadonlyArray<Ev>, window: number, ooo: number) => {
  let max = -Infinity
  const lastEmitted = new Map<string, number>()
  const out: Array<Ev> = []
  const late: Array<Ev> = []
  for (const r of records) {
    max = Math.max(max, r.t)
    if (r.t + window <= max - ooo) {
      late.push(r)
      continue
    }
    const prev = lastEmitted.get(r.id)
    if (prev !== undefined && r.t < prev + window) continue
    lastEmitted.set(r.id, r.t)
    out.push(r)
  }
  return { records: out, late }
}

const generate = (n: number, seed: number, keys: number, disorder: number): Array<Ev> => {
  let x = seed >>> 0
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296)
  return Array.from({ length: n }, (_, i) => ({
    id: `k${Math.floor(rnd() * keys)}`,
    t: i * 3 - Math.floor(rnd() * disorder) - (rnd() < 0.04 ? 120 : 0),
    n: i
  }))
}

describe("dedupe over all time", () => {
  it("emits the first record of each key, in input order; a missing key field counts as null", () => {
    const p = make({ key: ["user", "action"] })
    const input = [
      { user: "a", action: "click", n: 1 },
      { user: "a", action: "view", n: 2 },
      { user: "a", action: "click", n: 3 },
      { user: "b", action: "click", n: 4 },
      { user: "b", n: 5 },
      { user: "b", action: null, n: 6 },
      { user: "a|click", n: 7 },
      { user: "b", action: "click", n: 8 }
    ]
    for (const batchSize of [1, 3, 8]) {
      assert.deepStrictEqual(run(p, input, batchSize).records.map((r) => (r as { n: number }).n), [1, 2, 4, 5, 7])
    }
    const op = p.make({ node: "dd", instance: 0 })
    feed(op, [input], true)
    assert.strictEqual(op.state.size(), 5, "one entry per distinct key: the state grows with the keys")
  })

  it("1 and \"1\" are different keys; the partitioning key is the dedupe key", () => {
    const p = make({ key: ["id"] })
    assert.deepStrictEqual(run(p, [{ id: 1 }, { id: "1" }, { id: 1 }]).records, [{ id: 1 }, { id: "1" }])
    assert.strictEqual(p.key!({ id: 4, x: 1 }), p.key!({ id: 4, x: 2 }))
    assert.notStrictEqual(p.key!({ id: 4 }), p.key!({ id: 5 }))
  })
})

describe("dedupe within a window", () => {
  it("drops a key seen again before the window of its last emitted occurrence ends", () => {
    const p = make({ key: ["id"], time_field: "ts", window: "10s" })
    const s = (sec: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, sec)).toISOString()
    const input = [
      { id: "x", ts: s(0) },
      { id: "x", ts: s(9) }, // within [0, 10): dropped
      { id: "y", ts: s(9) },
      { id: "x", ts: s(10) }, // starts a new window [10, 20)
      { id: "x", ts: s(19) }, // dropped
      { id: "y", ts: s(19) }, // at y's window end: emitted
      { id: "x", ts: s(35) }
    ]
    assert.deepStrictEqual(run(p, input).records, [input[0], input[2], input[3], input[5], input[6]])
  })

  it("equals the reference for disorder inside and beyond the bound, at every batch size, and forgets old keys", () => {
    for (const [window, ooo, disorder] of [[30, 0, 0], [30, 20, 20], [50, 10, 40], [7, 5, 15]] as const) {
      const input = generate(400, window * 7 + ooo, 25, disorder)
      const expected = reference(input, window, ooo)
      const p = make({ key: ["id"], time_field: "t", window, max_out_of_orderness: ooo, late: "side_output" })
      for (const batchSize of [1, 4, 33, 400]) {
        assert.deepStrictEqual(run(p, input, batchSize), expected, `window ${window} ooo ${ooo} batch ${batchSize}`)
      }
      assert.isBelow(expected.records.length, input.length)
      assert.isAbove(expected.late.length, 0)
    }
    // keys are evicted: with 1000 distinct keys over a long in-order stream the state stays near two windows of keys
    const p = make({ key: ["id"], time_field: "t", window: 20 })
    const op = p.make({ node: "dd", instance: 0 })
    let peak = 0
    for (let i = 0; i < 1000; i++) {
      op.onBatch(Batch.make([{ id: `k${i}`, t: i }]))
      peak = Math.max(peak, op.state.size())
    }
    assert.isAtMost(peak, 2 * 20 + 2)
  })

  it("late records are dropped and counted, or sent to the 'late' side output", () => {
    const input = [{ id: "a", t: 100 }, { id: "b", t: 40 }, { id: "b", t: 95 }, { id: "c", t: 89 }]
    const dropping = make({ key: ["id"], time_field: "t", window: 10 }).make({ node: "dd", instance: 0 }) as Dedupe.DedupeOperator
    // t=40 and t=89: their windows [t, t+10) closed under the watermark 100
    assert.deepStrictEqual(feed(dropping, [input], true), { records: [input[0], input[2]], late: [] })
    assert.strictEqual(dropping.lateRecords(), 2)
    assert.strictEqual(dropping.watermark(), 100)
    const side = make({ key: ["id"], time_field: "t", window: 10, late: "side_output" })
    assert.deepStrictEqual(run(side, input), { records: [input[0], input[2]], late: [input[1], input[3]] })
  })

  it("an invalid event time is a RecordError naming the field", () => {
    assert.throws(() => run(make({ key: ["id"], time_field: "t", window: 10 }), [{ id: 1, t: "soon" }]), RecordError)
  })
})

describe("dedupe state and checkpoints", () => {
  it("snapshot, JSON, restore into a fresh operator at every split point: the same output as one run", () => {
    const input = generate(80, 3, 6, 20)
    for (const config of [
      { key: ["id"] },
      { key: ["id"], time_field: "t", window: 15, max_out_of_orderness: 10, late: "side_output" },
      { key: ["id"], time_field: "t", window: 40 }
    ]) {
      const p = make(config)
      const whole = run(p, input, 3)
      const batches = chunks(input, 3)
      for (let split = 0; split <= batches.length; split++) {
        assert.deepStrictEqual(runWithRestore(p, batches, split), whole, `${JSON.stringify(config)} split ${split}`)
      }
    }
  })

  it("property: for any input, batch size and split point, output equals the reference and survives a restore", () => {
    const evArb = fc.record({ id: fc.constantFrom("a", "b", "c", "d"), t: fc.integer({ min: 0, max: 300 }), n: fc.nat() })
    fc.assert(
      fc.property(fc.array(evArb, { maxLength: 80 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 9 }), fc.nat(), (input, window, ooo, batchSize, splitSeed) => {
        const p = make({ key: ["id"], time_field: "t", window, max_out_of_orderness: ooo, late: "side_output" })
        const expected = reference(input, window, ooo)
        const batches = chunks(input, batchSize)
        assert.deepStrictEqual(run(p, input, batchSize), expected)
        assert.deepStrictEqual(runWithRestore(p, batches, splitSeed % (batches.length + 1)), expected)
      }),
      { numRuns: numRuns(300) }
    )
  }, timeoutFor(numRuns(300), 10, 60_000))

  it("the state encodes to JSON and back unchanged; other values do not decode", () => {
    const p = make({ key: ["id"], time_field: "t", window: 10 })
    const op = p.make({ node: "dd", instance: 0 })
    op.onBatch(Batch.make([{ id: "a", t: 1 }, { id: "b", t: 2 }, { id: "a", t: 30 }]))
    const restored = throughJson(p, op)
    assert.deepStrictEqual(restored, op.state.snapshot())
    assert.throws(() => Schema.decodeUnknownSync(p.stateSchema)({ until: 3 }))
  })
})

describe("dedupe config and runtime", () => {
  it("reports problems at their keys", () => {
    const issues = (config: unknown) => configIssues(Dedupe.DedupeConfig, config)
    assert.deepStrictEqual(issues({ key: ["id"], window: "5m" }), ["time_field: time_field is required when a window is set"])
    assert.deepStrictEqual(issues({ key: ["id"], time_field: "t", late: "drop" }), [
      "time_field: time_field only applies with a window (set window, or remove time_field)",
      "late: late only applies with a window (set window, or remove late)"
    ])
    assert.isAbove(issues({ key: [] }).length, 0)
    assert.isAbove(issues({ key: ["id"], time_field: "t", window: "soon" }).length, 0)
    assert.deepStrictEqual(issues({ key: ["id"], time_field: "t", window: "5m", max_out_of_orderness: "10s", late: "drop" }), [])
  })

  const registry = Registry.layer([Numbers, Collect, ...Processors.statefulDefinitions])

  it.effect("keyed over 2 instances in a workflow built from the DSL spec: the first record of each key", () =>
    Effect.gen(function*() {
      const spec = Processors.dedupe<{ id: number; group: number }>({ key: ["group"] })
      const graph = numbersThrough({
        name: "dedupe",
        batchSize: 5,
        source: "nums",
        count: 100,
        processor: { id: "dd", type: spec.type, config: spec.config, parallelism: 2 },
        collect: "dedupe-runtime"
      })
      yield* Runtime.run(graph)
      const got = (collected("dedupe-runtime") as Array<{ id: number; group: number }>).sort((a, b) => a.id - b.id)
      assert.deepStrictEqual(got, [{ id: 0, group: 0 }, { id: 1, group: 1 }, { id: 2, group: 2 }])
    }).pipe(Effect.provide(registry)))

  it("checkpoint/crash/restore through the runtime leaves the sink equal to a run without failures", async () => {
    const graph = numbersThrough({
      name: "dedupe-restore",
      batchSize: 3,
      source: "src",
      count: 0,
      processor: {
        id: "dd",
        type: "dedupe",
        parallelism: 2,
        config: { key: ["group"], time_field: "id", window: 20, max_out_of_orderness: 5, late: "side_output" }
      },
      collect: "dd-prop",
      ports: ["late"]
    })
    const records = fc.array(fc.record({ id: fc.integer({ min: 0, max: 200 }), group: fc.integer({ min: 0, max: 3 }) }), { minLength: 5, maxLength: 60 })
      .map((rs) => rs.sort((a, b) => a.id - b.id).map((r, i) => ({ ...r, id: r.id - (i % 5 === 0 ? 12 : 0) })))
    // 100 cases, not 40: whether a case's checkpoint completes before its injected failure depends
    // on timing, and on a loaded CI machine 40 cases once had none restored from a checkpoint
    const stats = await checkRestoreEquivalence({ graph, registry, inputs: { src: records }, numRuns: numRuns(100) })
    assert.isAbove(stats.restoredFromCheckpoint, 0)
  }, timeoutFor(numRuns(100), 100, 120_000))
})
