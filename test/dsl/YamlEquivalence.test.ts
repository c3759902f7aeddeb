/**
 * The DSL and the YAML loader produce the same graph value for the same workflow (compared
 * without the YAML source map), so the runtime cannot tell them apart.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Spec from "../../src/Spec.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

interface Order {
  readonly id: number
  readonly status: string
  readonly amount: number
  readonly country: string
}

describe("DSL and YAML", () => {
  it.effect("a linear pipeline equals the YAML graph of the same workflow", () =>
    Effect.gen(function*() {
      const yaml = `
name: orders-pipeline
version: "1.0"
execution:
  batch_size: 500
  checkpoint_interval: 30s
  restart_strategy: { type: fixed-delay, attempts: 3, delay: 5s }
sources:
  orders:
    type: csv
    parallelism: 2
    config:
      path: data/orders.csv
      columns: { id: integer, amount: number }
transformations:
  active:
    type: filter
    inputs: [orders]
    config:
      condition: "status == 'active' && amount >= 10"
  enriched:
    type: map
    inputs: [active]
    parallelism: 4
    key_by: country
    ordered: true
    config:
      fields:
        total: "amount * 2"
        country_code: "lower(country)"
  slim:
    type: select
    inputs: [enriched]
    config:
      fields: [id, total, country_code]
  renamed:
    type: rename
    inputs: [slim]
    config:
      fields: { country_code: cc }
destinations:
  out:
    type: ndjson
    inputs: [renamed]
    config: { path: out/orders.ndjson }
`
      const fromYaml = yield* Yaml.parse(yaml, { file: "orders.yaml", env: {} })
      const fromDsl = Pipeline.from(
        "orders",
        Spec.source<Order>("csv", { path: "data/orders.csv", columns: { id: "integer", amount: "number" } }),
        { parallelism: 2 }
      )
        .named("orders-pipeline")
        .version("1.0")
        .execution({
          batch_size: 500,
          checkpoint_interval: "30s",
          restart_strategy: { type: "fixed-delay", attempts: 3, delay: "5s" }
        })
        .filter("active", "status == 'active' && amount >= 10")
        .mapFields("enriched", { total: "amount * 2", country_code: "lower(country)" }, {
          parallelism: 4,
          key_by: "country",
          ordered: true
        })
        .select("slim", ["id", "total", "country_code"])
        .rename("renamed", { country_code: "cc" })
        .to("out", Spec.sink<unknown>("ndjson", { path: "out/orders.ndjson" }))
      assert.deepStrictEqual(WorkflowGraph.structure(fromDsl), WorkflowGraph.structure(fromYaml))
    }))

  it.effect("a DAG with two sources, fan-out and fan-in equals the YAML graph", () =>
    Effect.gen(function*() {
      const yaml = `
name: shop
sources:
  web:
    type: ndjson
    config: { path: web.ndjson }
  store:
    type: csv
    config: { path: store.csv, delimiter: ";" }
transformations:
  ids:
    type: select
    inputs: [web]
    config: { fields: [id] }
  large:
    type: filter
    inputs: [web, store]
    config: { condition: "amount > 100" }
destinations:
  big:
    type: ndjson
    inputs: [large]
    config: { path: big.ndjson }
  all_ids:
    type: stdout
    inputs: [ids, store]
    config: {}
`
      const fromYaml = yield* Yaml.parse(yaml, { file: "shop.yaml", env: {} })
      // Sources and processors interleaved: the graph lists nodes by kind (each kind in declaration
      // order), as the YAML loader lists its sections.
      const fromDsl = Workflow.make("shop")
        .source("web", Spec.source<{ readonly id: number; readonly amount: number }>("ndjson", { path: "web.ndjson" }))
        .select("ids", ["web"], ["id"])
        .source("store", Spec.source<{ readonly id: number; readonly amount: number }>("csv", { path: "store.csv", delimiter: ";" }))
        .filter("large", ["web", "store"], "amount > 100")
        .sink("big", ["large"], Spec.sink<unknown>("ndjson", { path: "big.ndjson" }))
        .sink("all_ids", ["ids", "store"], Spec.sink<unknown>("stdout", {}))
        .build()
      assert.deepStrictEqual(WorkflowGraph.structure(fromDsl), WorkflowGraph.structure(fromYaml))
    }))
})
