import { assert, describe, it } from "@effect/vitest"
import { Effect, pipe } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Spec from "../../src/Spec.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

interface Order {
  readonly id: number
  readonly status: string
  readonly amount: number
}

const records: ReadonlyArray<Order> = [
  { id: 1, status: "active", amount: 10 },
  { id: 2, status: "closed", amount: 20 }
]
const orders = Spec.source<Order>("memory", { records })
const out = Spec.sink<unknown>("memory_sink", { name: "out" })

describe("Pipeline graph", () => {
  it("produces the exact graph of a linear pipeline", () => {
    const isActive = (r: Order) => r.status === "active"
    const toCents = (r: Order) => ({ id: r.id, cents: r.amount * 100 })
    const explode = (r: { id: number; cents: number }) => [r, r]
    const batch = (rs: ReadonlyArray<{ id: number; cents: number }>) => Effect.succeed(rs)
    const p = Pipeline.from("orders", orders)
      .filter("active", isActive)
      .filter("large", "amount >= 10")
      .map("cents", toCents)
      .flatMap("twice", explode)
      .process("batch", batch)
      .mapFields("computed", { euros: "cents / 100" })
      .select("slim", ["id", "euros"])
      .rename("renamed", { euros: "eur" })
      .to("out", out)

    assert.deepStrictEqual(Pipeline.toGraph(p), {
      name: "orders",
      execution: {},
      nodes: [
        { kind: "source", id: "orders", type: "memory", config: { records }, inputs: [] },
        { kind: "processor", id: "active", type: "filter", config: { predicate: isActive }, inputs: ["orders"] },
        { kind: "processor", id: "large", type: "filter", config: { condition: "amount >= 10" }, inputs: ["active"] },
        { kind: "processor", id: "cents", type: "map", config: { fn: toCents }, inputs: ["large"] },
        { kind: "processor", id: "twice", type: "flat_map", config: { fn: explode }, inputs: ["cents"] },
        { kind: "processor", id: "batch", type: "process", config: { fn: batch }, inputs: ["twice"] },
        { kind: "processor", id: "computed", type: "map", config: { fields: { euros: "cents / 100" } }, inputs: ["batch"] },
        { kind: "processor", id: "slim", type: "select", config: { fields: ["id", "euros"] }, inputs: ["computed"] },
        { kind: "processor", id: "renamed", type: "rename", config: { fields: { euros: "eur" } }, inputs: ["slim"] },
        { kind: "sink", id: "out", type: "memory_sink", config: { name: "out" }, inputs: ["renamed"] }
      ]
    })
  })

  it("sets the name, version, execution settings and per-node options", () => {
    const p = Pipeline.from("orders", orders, { parallelism: 2 })
      .named("orders-pipeline")
      .version("1.2")
      .execution({ batch_size: 500 })
      .filter("active", "status == 'active'", { parallelism: 4, key_by: "status", ordered: true })
      .execution({ queue_capacity: 2 })
      .to("out", out, { key_by: ["id", "status"] })
    assert.deepStrictEqual(WorkflowGraph.structure(p), {
      name: "orders-pipeline",
      version: "1.2",
      execution: { batch_size: 500, queue_capacity: 2 },
      nodes: [
        { kind: "source", id: "orders", type: "memory", config: { records }, inputs: [], parallelism: 2 },
        {
          kind: "processor",
          id: "active",
          type: "filter",
          config: { condition: "status == 'active'" },
          inputs: ["orders"],
          parallelism: 4,
          key_by: "status",
          ordered: true
        },
        { kind: "sink", id: "out", type: "memory_sink", config: { name: "out" }, inputs: ["active"], key_by: ["id", "status"] }
      ]
    })
  })

  it("has immutable builders: one prefix can be extended twice", () => {
    const base = Pipeline.from("orders", orders).filter("active", "status == 'active'")
    const a = base.to("a", out)
    const b = base.select("ids", ["id"]).to("b", out)
    assert.deepStrictEqual(a.nodes.map((n) => n.id), ["orders", "active", "a"])
    assert.deepStrictEqual(b.nodes.map((n) => n.id), ["orders", "active", "ids", "b"])
  })

  it("composes reusable fragments with pipe", () => {
    // A fragment is typed over the builder it extends (generic `Ids` would defer the id check).
    const onlyActive = (p: Pipeline.Builder<"orders", Order, never, never>) =>
      p.filter("only_active", "status == 'active'").select("only_ids", ["id"])
    const p = Pipeline.from("orders", orders).pipe(onlyActive).to("out", Spec.sink<{ readonly id: number }>("x", {}))
    assert.deepStrictEqual(p.nodes.map((n) => [n.id, n.type, n.inputs]), [
      ["orders", "memory", []],
      ["only_active", "filter", ["orders"]],
      ["only_ids", "select", ["only_active"]],
      ["out", "x", ["only_ids"]]
    ])
  })

  it("builds the same graph with the data-last combinators in a pipe", () => {
    const isActive = (r: Order) => r.status === "active"
    const chained = Pipeline.from("orders", orders)
      .named("n")
      .execution({ batch_size: 10 })
      .filter("active", isActive)
      .mapFields("m", { double: "amount * 2" }, { key_by: "id" })
      .select("s", ["id", "double"])
      .rename("r", { double: "twice" })
      .to("out", out)
    const piped = pipe(
      Pipeline.from("orders", orders),
      Pipeline.named("n"),
      Pipeline.execution({ batch_size: 10 }),
      Pipeline.filter("active", isActive),
      Pipeline.mapFields("m", { double: "amount * 2" }, { key_by: "id" }),
      Pipeline.select("s", ["id", "double"]),
      Pipeline.rename("r", { double: "twice" }),
      Pipeline.to("out", out)
    )
    assert.deepStrictEqual(piped, chained)
  })

  it("copies config collections, so later changes to the caller's values do not leak in", () => {
    const fields: Array<"id"> = ["id"]
    const p = Pipeline.from("orders", orders).select("s", fields).to("out", out)
    fields.push("id")
    assert.deepStrictEqual(WorkflowGraph.node(p, "s")?.config, { fields: ["id"] })
  })
})
