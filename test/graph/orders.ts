/**
 * Inputs for the graph workflow tests (`examples/graph-orders.yaml`): a deterministic generator
 * of orders (CSV) and refunds (NDJSON) with event times, and the workflow's expected outputs
 * computed independently, in plain TypeScript, from the generated rows.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"

/** One order, as written to orders.csv. */
export interface Order {
  readonly order_id: number
  readonly customer: string
  readonly region: string
  readonly amount: number
  readonly ts: string
}

/** One refund, as written to refunds.ndjson. */
export interface Refund {
  readonly refund_id: number
  readonly order_id: number
  readonly region: string
  readonly refund: number
  readonly at: string
}

/** The generated inputs, with the positions of the records made late on purpose. */
export interface Inputs {
  readonly orders: ReadonlyArray<Order>
  readonly refunds: ReadonlyArray<Refund>
  /** order ids and refund ids whose event time is days before the rest. */
  readonly lateOrders: ReadonlySet<number>
  readonly lateRefunds: ReadonlySet<number>
}

const REGIONS = ["DE", "FR", "US", "JP", "BR"] as const
const BASE = Date.UTC(2026, 0, 1)
const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()

/** A small deterministic generator (LCG, Numerical Recipes constants). */
const lcg = (seed: number) => {
  let s = seed >>> 0
  return (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s % n
  }
}

/**
 * `orders` orders 6 s apart and `refunds` refunds 15 s apart (both spanning about 5 hours), each
 * with up to ±15 minutes of disorder; every 250th order and every 200th refund is days old. Such a
 * record is generated only after a normal record of the same region and kind, so it is late for
 * the aggregate whatever the interleaving of the two sources: its (region, kind) key has already
 * moved its instance's watermark past the record's window. Normal records are never late: their
 * times span less than `max_out_of_orderness` (12 h).
 */
export const generate = (orders: number, refunds: number, seed = 42): Inputs => {
  const next = lcg(seed)
  const jitter = () => (next(1_800_001) - 900_000)
  /**
   * `count` events of a kind, `spacing` ms apart from BASE (with jitter); every `lateEvery`-th is
   * `daysBack` days old when a normal one of its region came before. `make` builds event `i` (it
   * draws after the region and the time); the ids (`idOf`) of the old ones are returned too.
   */
  const timeline = <E>(
    count: number,
    spacing: number,
    lateEvery: number,
    daysBack: number,
    idOf: (i: number) => number,
    make: (id: number, region: string, at: string) => E
  ) => {
    const events: Array<E> = []
    const late = new Set<number>()
    const seen = new Set<string>()
    for (let i = 0; i < count; i++) {
      const region = REGIONS[next(REGIONS.length)]
      const id = idOf(i)
      const old = i % lateEvery === lateEvery - 1 && seen.has(region)
      const at = old ? BASE - daysBack * 24 * HOUR + next(HOUR) : BASE + i * spacing + jitter()
      if (old) late.add(id)
      else seen.add(region)
      events.push(make(id, region, iso(at)))
    }
    return { events, late }
  }
  const o = timeline(orders, 6_000, 250, 3, (i) => 1_000 + i, (id, region, ts): Order => ({
    order_id: id,
    customer: `customer ${next(200)}`,
    region,
    amount: 1 + next(1_000),
    ts
  }))
  const r = timeline(refunds, 15_000, 200, 2, (i) => 1 + i, (id, region, at): Refund => ({
    refund_id: id,
    order_id: 1_000 + next(orders),
    region,
    refund: 1 + next(300),
    at
  }))
  return { orders: o.events, refunds: r.events, lateOrders: o.late, lateRefunds: r.late }
}

/** Writes orders.csv and refunds.ndjson into `dir`. */
export const writeInputs = (dir: string, inputs: Inputs): Effect.Effect<void> =>
  Effect.promise(async () => {
    const csv = ["order_id,customer,region,amount,ts"]
    for (const o of inputs.orders) csv.push(`${o.order_id},${o.customer},${o.region},${o.amount},${o.ts}`)
    await writeFile(join(dir, "orders.csv"), csv.join("\n") + "\n")
    await writeFile(join(dir, "refunds.ndjson"), inputs.refunds.map((r) => JSON.stringify(r) + "\n").join(""))
  })

/** The environment that points the example's sources and sinks into `dir`. */
export const envFor = (dir: string): Record<string, string> => ({
  ORDERS: join(dir, "orders.csv"),
  REFUNDS: join(dir, "refunds.ndjson"),
  TOTALS: join(dir, "totals.ndjson"),
  REVIEW: join(dir, "review.csv")
})

/** One row of totals.ndjson. */
export interface Total {
  readonly region: string
  readonly kind: string
  readonly window_start: string
  readonly window_end: string
  readonly events: number
  readonly total: number
  readonly largest: number
}

/** What the workflow should write, computed by hand. */
export interface Expected {
  /** totals.ndjson rows, sorted by their JSON text. */
  readonly totals: ReadonlyArray<Total>
  /** review.csv data lines (no header), sorted. */
  readonly review: ReadonlyArray<string>
  readonly counts: {
    readonly eu: number
    readonly big: number
    readonly late: number
  }
}

/** Groups the normal (not late) events per region, kind and hour; lists eu, big and late rows. */
export const expected = (inputs: Inputs): Expected => {
  const events: Array<{ kind: string; id: number; region: string; value: number; at: string; late: boolean }> = []
  for (const o of inputs.orders) {
    events.push({ kind: "order", id: o.order_id, region: o.region, value: o.amount, at: o.ts, late: inputs.lateOrders.has(o.order_id) })
  }
  for (const r of inputs.refunds) {
    events.push({ kind: "refund", id: r.refund_id, region: r.region, value: -r.refund, at: r.at, late: inputs.lateRefunds.has(r.refund_id) })
  }
  const groups = new Map<string, { region: string; kind: string; start: number; events: number; total: number; largest: number }>()
  for (const e of events) {
    if (e.late) continue
    const start = Math.floor(Date.parse(e.at) / HOUR) * HOUR
    const key = `${e.region}|${e.kind}|${start}`
    const g = groups.get(key)
    if (g === undefined) groups.set(key, { region: e.region, kind: e.kind, start, events: 1, total: e.value, largest: e.value })
    else {
      g.events += 1
      g.total += e.value
      g.largest = Math.max(g.largest, e.value)
    }
  }
  const totals = [...groups.values()].map((g): Total => ({
    region: g.region,
    kind: g.kind,
    window_start: iso(g.start),
    window_end: iso(g.start + HOUR),
    events: g.events,
    total: g.total,
    largest: g.largest
  }))
  const eu = inputs.orders.filter((o) => o.region === "DE" || o.region === "FR")
  const big = inputs.orders.filter((o) => o.amount >= 900)
  const late = events.filter((e) => e.late)
  const review = [
    ...eu.map((o) => `eu,${o.order_id},${o.region},${o.amount},${o.ts}`),
    ...big.map((o) => `big,${o.order_id},${o.region},${o.amount},${o.ts}`),
    ...late.map((e) => `late,${e.id},${e.region},${e.value},${e.at}`)
  ]
  return {
    totals: sortByJson(totals),
    review: review.sort(),
    counts: { eu: eu.length, big: big.length, late: late.length }
  }
}

/** Sorts values by their JSON text (a set comparison for outputs whose order is not defined). */
export const sortByJson = <A>(values: ReadonlyArray<A>): Array<A> =>
  values.map((v) => [JSON.stringify(v), v] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)
