/**
 * The stateless processors in a YAML workflow run by the runtime: expressions from the file are
 * compiled once and applied to real records; a bad expression is a definition error at its file,
 * line and column; a run-time type error fails the run naming the node.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import { formatIssue } from "../../src/Errors.ts"
import { processorDefinitions } from "../../src/processors/index.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import { generated, listSink } from "../runtime/support.ts"

const countries = ["DE", "FR", "US"]
/** A source of `count` order records. */
const Orders = generated({
  type: "orders",
  description: "generated orders",
  config: Schema.Struct({ count: Schema.Int }),
  count: (config) => config.count,
  record: (i) => ({
    id: i,
    status: i % 2 === 0 ? "active" : "closed",
    amount: i % 7 === 0 ? "n/a" : i,
    country: countries[i % 3],
    "first name": `Ann${i}`
  })
})

const kept = new Map<string, Array<unknown>>()
const Keep = listSink("keep", "keeps records in memory", kept)

const registry = Registry.layer([Orders, Keep, ...processorDefinitions])

const workflow = (condition: string, name: string) => `name: stateless
execution: { batch_size: 16 }
sources:
  orders: { type: orders, config: { count: 100 } }
transformations:
  active:
    type: filter
    inputs: [orders]
    config:
      condition: "${condition}"
  shaped:
    type: map
    inputs: [active]
    config:
      fields:
        label: "concat(lower(country), '-', id)"
        double: "amount * 2"
  renamed: { type: rename, inputs: [shaped], config: { fields: { "first name": first_name } } }
  slim: { type: select, inputs: [renamed], config: { fields: [id, first_name, label, double] } }
destinations:
  out: { type: keep, inputs: [slim], config: { name: ${name} } }
`

describe("stateless processors in a YAML workflow", () => {
  it.effect("run end to end", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(workflow("status == 'active' && country in ['DE', 'US'] && amount != 'n/a'", "e2e"), {
        file: "wf.yaml",
        env: {}
      })
      const summary = yield* Runtime.run(graph)
      const expected = Array.from({ length: 100 }, (_, i) => i)
        .filter((i) => i % 2 === 0 && i % 3 !== 1 && i % 7 !== 0)
        .map((i) => ({ id: i, first_name: `Ann${i}`, label: `${countries[i % 3].toLowerCase()}-${i}`, double: i * 2 }))
      assert.deepStrictEqual(kept.get("e2e"), expected)
      assert.deepStrictEqual(summary.nodes.find((n) => n.id === "out")?.recordsIn, expected.length)
    }).pipe(Effect.provide(registry)))

  it.effect("a bad expression is a definition error at the file, line and column", () =>
    Effect.gen(function*() {
      const graph = yield* Yaml.parse(workflow("status == 'active' && lowr(country) == 'de'", "bad"), { file: "wf.yaml", env: {} })
      const error = yield* Effect.flip(Runtime.prepare(graph))
      assert.deepStrictEqual(error.issues.map(formatIssue), [
        "wf.yaml:10:7 transformations.active.config.condition: unknown function 'lowr' (did you mean 'lower'?) (column 23 of the value)"
      ])
      // the column inside the expression maps to the exact place in the file
      const map = graph.sourceMap as Yaml.YamlSourceMap
      assert.deepStrictEqual(map.locateValue("active", ["config", "condition"], 23), { file: "wf.yaml", line: 10, column: 41 })
    }).pipe(Effect.provide(registry)))

  it.effect("a run-time type error fails the run, naming the node and the expression", () =>
    Effect.gen(function*() {
      // amount is the string 'n/a' on every 7th record: 'amount * 2' cannot be computed
      const graph = yield* Yaml.parse(workflow("status == 'active'", "fails"), { file: "wf.yaml", env: {} })
      const error = yield* Effect.flip(Runtime.run(graph))
      assert.strictEqual(error._tag, "NodeError")
      assert.include(error.message, "field 'double': expression `amount * 2`: cannot multiply string 'n/a' by number 2 (column 8)")
      assert.match(error.message, /node '(active|shaped)[^']*' failed/)
    }).pipe(Effect.provide(registry)))
})
