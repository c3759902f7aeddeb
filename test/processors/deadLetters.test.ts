/**
 * The stateful operators' side of `on_error: dead_letter` (`OperatorContext.setAside`): for any
 * input with bad records mixed in, and any split into batches, an operator that sets them aside
 * emits what the same operator emits for the input without them, ends with the same state (the
 * encoded snapshot: windows, aggregates, clock, remembered keys), and hands over exactly the bad
 * records, with their index in the batch. Without `setAside` the first bad record still throws.
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import fc from "fast-check"
import { numRuns, timeoutFor } from "../../property-tests/support/effectProperty.ts"
import * as Batch from "../../src/Batch.ts"
import * as Aggregate from "../../src/processors/aggregate.ts"
import * as Dedupe from "../../src/processors/dedupe.ts"
import type { Operator, StatefulProcessor } from "../../src/Processor.ts"
import * as Stateful from "../../src/processors/stateful.ts"

interface Row {
  readonly id: number
  readonly g?: unknown
  readonly v?: unknown
  readonly t?: unknown
}

const T0 = 1_700_000_000_000

/** A good record, or (kind > 0) one of the ways a record is bad for these operators. */
const row = fc.record({ g: fc.integer({ min: 0, max: 2 }), v: fc.integer({ min: -5, max: 20 }), t: fc.integer({ min: 0, max: 600_000 }), bad: fc.integer({ min: 0, max: 8 }) })

const toRow = (id: number, r: { readonly g: number; readonly v: number; readonly t: number; readonly bad: number }, badKinds: number): Row & { readonly bad: boolean } => {
  const kind = r.bad <= badKinds ? r.bad : 0
  switch (kind) {
    case 1:
      return { id, g: r.g, v: r.v, bad: true } // no event time
    case 2:
      return { id, g: r.g, v: r.v, t: "not a time", bad: true }
    case 3:
      return { id, g: r.g, v: "lots", t: T0 + r.t, bad: true } // a number op cannot add it
    case 4:
      return { id, g: r.g, v: { n: r.v }, t: T0 + 10_000_000_000, bad: true } // far ahead: taken, it would fire every window
    default:
      return { id, g: r.g, v: r.v, t: T0 + r.t, bad: false }
  }
}

interface Outcome {
  readonly records: Array<unknown>
  readonly late: Array<unknown>
  readonly state: string
  readonly aside: Array<readonly [number, number]>
}

/** Runs the operator over `rows` in batches of `size`; its state encoded (sorted) at the end. */
const outcome = (p: StatefulProcessor, rows: ReadonlyArray<Row>, size: number, setAside: boolean, end: boolean): Outcome => {
  const aside: Array<readonly [number, number]> = []
  const op: Operator = p.make(
    setAside
      ? { node: "n", instance: 0, setAside: (record, _error, index) => void aside.push([(record as Row).id, index]) }
      : { node: "n", instance: 0 }
  )
  const records: Array<unknown> = []
  const late: Array<unknown> = []
  const take = (o: ReturnType<Operator["onBatch"]>) => {
    records.push(...o.records)
    late.push(...(o.side?.late ?? []))
  }
  for (let i = 0; i < rows.length; i += size) take(op.onBatch(Batch.make(rows.slice(i, i + size))))
  const snapshot = op.state.snapshot().map(([k, v]) => [k, Schema.encodeUnknownSync(p.stateSchema)(v)] as const)
  const state = JSON.stringify([...snapshot].sort(([a], [b]) => (a < b ? -1 : 1)))
  if (end) take(op.onEnd())
  return { records, late, state, aside }
}

/**
 * The property: the operator setting records aside over the input = the operator over the same
 * batches without the records it set aside; those are bad ones (`bad`), and every record that
 * fails wherever it comes (`alwaysBad`: no readable time, a bad amount far ahead) is among them.
 * (A late record with a bad amount is late, as without dead letters: nothing is added from it.)
 */
const setsAsideExactly = (p: StatefulProcessor, badKinds: number, rowOf = toRow) =>
  fc.property(fc.array(row, { maxLength: 120 }), fc.integer({ min: 1, max: 17 }), fc.boolean(), (raw, size, end) => {
    const rows = raw.map((r, i) => rowOf(i + 1, r, badKinds))
    const mixed = outcome(p, rows, size, true, end)
    const asideIds = new Set(mixed.aside.map(([id]) => id))
    const reference = outcomeWithout(p, rows, asideIds, size, end)
    assert.deepStrictEqual(mixed.records, reference.records)
    assert.deepStrictEqual(mixed.late, reference.late)
    assert.strictEqual(mixed.state, reference.state)
    assert.deepStrictEqual(mixed.aside.map(([id]) => id), [...asideIds].sort((a, b) => a - b), "in input order, once each")
    for (const id of asideIds) assert.isTrue(rows[id - 1].bad, `record ${id} is not a bad one`)
    for (const r of rows) if (alwaysBad(r)) assert.isTrue(asideIds.has(r.id), `record ${r.id} was not set aside`)
    // each index is the record's place in its batch's records
    for (const [id, index] of mixed.aside) assert.strictEqual(index, (id - 1) % size)
  })

const alwaysBad = (r: Row): boolean => typeof r.t !== "number" || (typeof r.v === "object" && r.v !== null)

/** The reference: the same batches without the records `aside` (batch boundaries kept). */
const outcomeWithout = (p: StatefulProcessor, rows: ReadonlyArray<Row>, aside: ReadonlySet<number>, size: number, end: boolean): Outcome => {
  const op = p.make({ node: "n", instance: 0 })
  const records: Array<unknown> = []
  const late: Array<unknown> = []
  const take = (o: ReturnType<Operator["onBatch"]>) => {
    records.push(...o.records)
    late.push(...(o.side?.late ?? []))
  }
  for (let i = 0; i < rows.length; i += size) take(op.onBatch(Batch.make(rows.slice(i, i + size).filter((r) => !aside.has(r.id)))))
  const snapshot = op.state.snapshot().map(([k, v]) => [k, Schema.encodeUnknownSync(p.stateSchema)(v)] as const)
  const state = JSON.stringify([...snapshot].sort(([a], [b]) => (a < b ? -1 : 1)))
  if (end) take(op.onEnd())
  return { records, late, state, aside: [] }
}

const aggregate = (config: unknown) => Aggregate.processor(Schema.decodeUnknownSync(Aggregate.AggregateConfig)(config))
const dedupe = (config: unknown) => Dedupe.processor(Schema.decodeUnknownSync(Dedupe.DedupeConfig)(config))

const OPS = { n: { op: "count" }, total: { op: "sum", field: "v" }, top: { op: "max", field: "v" }, mean: { op: "avg", field: "v" }, seen: { op: "count_distinct", field: "v" } }

const runs = numRuns(150)

describe("stateful operators set bad records aside without touching their state", () => {
  it("aggregate, tumbling window: output, state and letters", () => {
    fc.assert(
      setsAsideExactly(aggregate({ group_by: ["g"], time_field: "t", window: { type: "tumbling", size: "1m" }, max_out_of_orderness: "20s", late: "side_output", aggregates: OPS }), 4),
      { numRuns: runs }
    )
  }, timeoutFor(runs, 20, 60_000))

  it("aggregate, sliding window with a user reducer that throws on some records (every pane or none)", () => {
    const picky = Stateful.reducer({
      init: () => [] as ReadonlyArray<number>,
      add: (s, r) => {
        const v = (r as Row).v
        if (typeof v === "number" && v < 0) throw new Error(`negative ${v}`)
        return [...s, (r as Row).id]
      },
      result: (s) => s.join(",")
    })
    const p = aggregate({
      group_by: ["g"],
      time_field: "t",
      window: { type: "sliding", size: "2m", slide: "30s" },
      aggregates: { total: { op: "sum", field: "v" }, ids: { reducer: picky } }
    })
    // a negative v is a bad record here too (the reducer throws on it), besides kinds 1-4
    const negative = (id: number, r: Parameters<typeof toRow>[1], kinds: number) => {
      const x = toRow(id, r, kinds)
      return typeof x.v === "number" && x.v < 0 ? { ...x, bad: true } : x
    }
    fc.assert(setsAsideExactly(p, 4, negative), { numRuns: runs })
  }, timeoutFor(runs, 20, 60_000))

  it("aggregate over the whole input (no window, time read for first/last)", () => {
    fc.assert(
      setsAsideExactly(
        aggregate({ group_by: ["g"], time_field: "t", aggregates: { ...OPS, first: { op: "first", field: "v" }, last: { op: "last", field: "v" } } }),
        4
      ),
      { numRuns: runs }
    )
  }, timeoutFor(runs, 20, 60_000))

  it("dedupe, windowed and over all time", () => {
    fc.assert(
      setsAsideExactly(dedupe({ key: ["g", "v"], time_field: "t", window: "1m", max_out_of_orderness: "10s", late: "side_output" }), 2),
      { numRuns: runs }
    )
    // over all time nothing about a record can fail: every record is taken
    fc.assert(setsAsideExactly(dedupe({ key: ["g", "v"] }), 0), { numRuns: runs })
  }, timeoutFor(runs, 40, 60_000))

  it("without setAside the first bad record throws, as before", () => {
    const p = aggregate({ group_by: ["g"], time_field: "t", window: { type: "tumbling", size: "1m" }, aggregates: OPS })
    const op = p.make({ node: "n", instance: 0 })
    assert.throws(() => op.onBatch(Batch.make([{ id: 1, g: 0, v: 1, t: T0 }, { id: 2, g: 0, v: "lots", t: T0 }])), /sum needs a number/)
  })
})
