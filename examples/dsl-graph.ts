/**
 * DSL graph example: two sources, a fan-in that reconciles their record types, a fan-out to a
 * keyed windowed aggregate and a filter, a side output for late records, three sinks.
 *
 *   node_modules/.bin/node examples/dsl-graph.ts [orders per source]
 *
 *   web.ndjson ─┐                     ┌─► hourly (aggregate per channel, 1h windows) ─► hourly.ndjson
 *               ├─► orders (map) ─────┤        └─ late ─► late.ndjson
 *   store.csv  ─┘                     └─► large (filter) ─► large.csv
 *
 * The web and store files have different columns; `orders` reads both, so its input type is the
 * union `WebOrder | StoreRow` and its function must handle each (`"sku" in r`). A sink that took
 * only web orders from `orders`' inputs would not compile.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Csv, Ndjson, Processors, Workflow } from "dataflare/dsl"
import { Builtins } from "dataflare"

const perSource = Math.min(Number(process.argv[2] ?? 500), 800)

interface WebOrder {
  readonly id: number
  readonly sku: string
  readonly amount: number
  readonly at: string
}

interface Order {
  readonly id: number
  readonly item: string
  readonly amount: number
  readonly at: string
  readonly channel: "web" | "store"
}

const base = Date.UTC(2026, 0, 1)
const iso = (ms: number) => new Date(ms).toISOString()

const program = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-graph-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const file = (name: string) => join(dir, name)

  // 1. Inputs: orders every 100 s (under a day in all); every 100th web order arrives 3 days late.
  let web = ""
  let store = "order_id,item,total,ts\n"
  for (let i = 0; i < perSource; i++) {
    const at = i % 100 === 99 ? base - 3 * 86_400_000 : base + i * 100_000
    web += JSON.stringify({ id: i, sku: `sku-${i % 7}`, amount: (i * 37) % 500, at: iso(at) }) + "\n"
    store += `${10_000 + i},item-${i % 5},${(i * 53) % 500},${iso(base + i * 100_000 + 50_000)}\n`
  }
  yield* Effect.promise(() => writeFile(file("web.ndjson"), web))
  yield* Effect.promise(() => writeFile(file("store.csv"), store))

  // 2. The workflow.
  const workflow = Workflow.make("dsl-graph", { execution: { batch_size: 100 } })
    .source("web", Ndjson.source<WebOrder>({ path: file("web.ndjson") }))
    .source(
      "store",
      Csv.source({
        path: file("store.csv"),
        columns: { order_id: "integer", item: "string", total: "number", ts: "string" },
        required: ["order_id", "total"]
      })
    )
    .map("orders", ["web", "store"], (r): Order =>
      "sku" in r
        ? { id: r.id, item: r.sku, amount: r.amount, at: r.at, channel: "web" }
        : { id: r.order_id, item: r.item, amount: r.total, at: r.ts, channel: "store" })
    .via(
      "hourly",
      ["orders"],
      Processors.aggregateOf<Order>()({
        group_by: ["channel"],
        time_field: "at",
        window: { type: "tumbling", size: "1h" },
        max_out_of_orderness: "24h",
        late: "side_output",
        aggregates: { orders: { op: "count" }, revenue: { op: "sum", field: "amount" } }
      })
    )
    .port("hourly", "late", Workflow.records<Order>())
    .filter("large", ["orders"], "amount >= 400", { parallelism: 2 })
    .sink("hourly_out", ["hourly"], Ndjson.sink({ path: file("hourly.ndjson") }))
    .sink("late_out", ["hourly.late"], Ndjson.sink({ path: file("late.ndjson") }))
    .sink("large_out", ["large"], Csv.sink({ path: file("large.csv"), columns: { id: "integer", channel: "string", amount: "number" } }))
    .build()

  // 3. Run it.
  const summary = yield* Workflow.run(workflow).pipe(Effect.provide(Builtins.layer))

  const lines = (name: string) =>
    Effect.promise(() => readFile(file(name), "utf8")).pipe(Effect.map((t) => t.split("\n").filter((l) => l.length > 0)))
  const hourly = (yield* lines("hourly.ndjson")).sort()
  const late = yield* lines("late.ndjson")
  const large = (yield* lines("large.csv")).slice(1)
  yield* Console.log(`workflow ${summary.workflow}: ${2 * perSource} orders read`)
  yield* Console.log(`hourly rows: ${hourly.length}, late orders: ${late.length}, large orders: ${large.length}`)
  for (const node of summary.nodes) {
    yield* Console.log(`  ${node.id.padEnd(10)} ${node.kind.padEnd(9)} ${node.type.padEnd(9)} in ${node.recordsIn} out ${node.recordsOut}`)
  }
  yield* Console.log(`first hourly row: ${hourly[0]}`)
})

NodeRuntime.runMain(Effect.scoped(program))
