import { assert, describe, it } from "@effect/vitest"
import { Schedule } from "effect"
import { empty } from "../../dsl/internal/workflow.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import { DefinitionError, formatIssue } from "../../src/Errors.ts"
import * as Spec from "../../src/Spec.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

interface WebOrder {
  readonly id: number
  readonly sku: string
}
interface StoreOrder {
  readonly id: number
  readonly item: string
}

const web = Spec.source<WebOrder>("memory", { records: [{ id: 1, sku: "a" }] })
const store = Spec.source<StoreOrder>("memory", { records: [{ id: 2, item: "b" }] })
const sink = (name: string) => Spec.sink<unknown>("memory_sink", { name })

describe("Workflow graph", () => {
  it("produces the exact graph of a DAG with fan-out, fan-in, two sources and two sinks", () => {
    const unify = (o: WebOrder | StoreOrder) => ({ id: o.id, item: "sku" in o ? o.sku : o.item })
    const w = Workflow.make("shop", { version: "2", execution: { batch_size: 100 } })
      .source("web", web, { parallelism: 2 })
      .source("store", store)
      .map("orders", ["web", "store"], unify)
      .filter("large", ["orders"], "id > 1", { parallelism: 3, key_by: "item", ordered: true })
      .select("ids", ["orders"], ["id"])
      .sink("all", ["ids", "large"], sink("all"))
      .sink("big", ["large"], sink("big"))
      .build()
    assert.deepStrictEqual(WorkflowGraph.structure(w), {
      name: "shop",
      version: "2",
      execution: { batch_size: 100 },
      nodes: [
        { kind: "source", id: "web", type: "memory", config: { records: [{ id: 1, sku: "a" }] }, inputs: [], parallelism: 2 },
        { kind: "source", id: "store", type: "memory", config: { records: [{ id: 2, item: "b" }] }, inputs: [] },
        { kind: "processor", id: "orders", type: "map", config: { fn: unify }, inputs: ["web", "store"] },
        {
          kind: "processor",
          id: "large",
          type: "filter",
          config: { condition: "id > 1" },
          inputs: ["orders"],
          parallelism: 3,
          key_by: "item",
          ordered: true
        },
        { kind: "processor", id: "ids", type: "select", config: { fields: ["id"] }, inputs: ["orders"] },
        { kind: "sink", id: "all", type: "memory_sink", config: { name: "all" }, inputs: ["ids", "large"] },
        { kind: "sink", id: "big", type: "memory_sink", config: { name: "big" }, inputs: ["large"] }
      ]
    })
  })

  it("reads a side output declared with port as input '<node>.<port>'", () => {
    const w = Workflow.make("late")
      .source("web", web)
      .via("agg", ["web"], Spec.processor<WebOrder, { readonly count: number }>("aggregate", { group_by: "sku" }))
      .port("agg", "late", Workflow.records<WebOrder>())
      .sink("totals", ["agg"], sink("totals"))
      .sink("late_orders", ["agg.late"], sink("late"))
      .build()
    assert.deepStrictEqual(w.nodes.map((n) => [n.id, n.inputs]), [
      ["web", []],
      ["agg", ["web"]],
      ["totals", ["agg"]],
      ["late_orders", ["agg.late"]]
    ])
  })

  it("lists sources, then processors, then sinks, each in declaration order (as the YAML loader does)", () => {
    const w = Workflow.make("order")
      .source("a", web)
      .sink("s1", ["a"], sink("s1"))
      .filter("f", ["a"], "id > 0")
      .source("b", store)
      .sink("s2", ["f", "b"], sink("s2"))
      .rename("r", ["b"], { item: "sku" })
      .sink("s3", ["r"], sink("s3"))
      .named("renamed")
      .execution({ queue_capacity: 1 })
      .execution({ parallelism: 2 })
      .build()
    assert.strictEqual(w.name, "renamed")
    assert.deepStrictEqual(w.execution, { queue_capacity: 1, parallelism: 2 })
    assert.deepStrictEqual(w.nodes.map((n) => `${n.kind}:${n.id}`), [
      "source:a",
      "source:b",
      "processor:f",
      "processor:r",
      "sink:s1",
      "sink:s2",
      "sink:s3"
    ])
    assert.deepStrictEqual(WorkflowGraph.node(w, "r")?.config, { fields: { item: "sku" } })
  })

  it("retry, catchTag and deadLetter before any node fail with a DefinitionError naming the step", () => {
    const none = empty("none", undefined, {})
    const steps = {
      retry: () => none.retry(Schedule.recurs(1)),
      catchTag: () => none.catchTag("Timeout", () => []),
      deadLetter: () => none.deadLetter("bad")
    }
    for (const [what, step] of Object.entries(steps)) {
      let thrown: unknown
      try {
        step()
      } catch (error) {
        thrown = error
      }
      assert.instanceOf(thrown, DefinitionError, what)
      assert.deepStrictEqual((thrown as DefinitionError).issues.map(formatIssue), [
        `transformations: ${what} before any node: it acts on the node declared last`
      ])
    }
  })
})
