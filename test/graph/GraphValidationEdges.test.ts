/**
 * Validation edge cases: a cycle is reported at a node on it (not at a node downstream of it that
 * comes first in the file), and a misspelled side output gets a suggestion.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ordersWorkflow, problems } from "./validation.ts"

describe("graph validation: edge cases", () => {
  it.effect("a cycle is reported at a node ON the cycle, not at a node downstream of it", () =>
    Effect.gen(function*() {
      const text = ordersWorkflow("downstream-first", `transformations:
  report:
    type: filter
    inputs: [c]
    config: { condition: "x == 1" }
  a:
    type: filter
    inputs: [orders, c]
    config: { condition: "x == 1" }
  b:
    type: filter
    inputs: [a]
    config: { condition: "x == 1" }
  c:
    type: filter
    inputs: [b]
    config: { condition: "x == 1" }
destinations:
  out: { type: collect, inputs: [report], config: {} }
`)
      // (it used to be reported at transformations.report.inputs, a node downstream of the cycle)
      const [issue] = yield* problems(text)
      assert.notInclude(issue, "transformations.report.inputs")
      assert.include(issue, "transformations.a.inputs: the workflow has a cycle: a -> b -> c -> a")
    }))

  it.effect("a misspelled side output suggests the declared port", () =>
    Effect.gen(function*() {
      const text = ordersWorkflow("side-typo", `transformations:
  hourly:
    type: aggregate
    inputs: [orders]
    config:
      group_by: [region]
      time_field: at
      window: { type: tumbling, size: 1h }
      late: side_output
      aggregates: { n: { op: count } }
destinations:
  out: { type: collect, inputs: [hourly], config: {} }
  late: { type: collect, inputs: [hourly.lat], config: {} }
`)
      // today: "graph.yaml:16:35 destinations.late.inputs[0]: unknown input 'hourly.lat'" (no hint)
      assert.deepStrictEqual(yield* problems(text), [
        "graph.yaml:16:35 destinations.late.inputs[0]: unknown input 'hourly.lat' (did you mean 'hourly.late'?)"
      ])
    }))
})
