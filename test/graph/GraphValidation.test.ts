/**
 * Graph validation through the YAML loader and `Runtime.prepare`: a cycle (named node by node), a
 * misspelled input (with the nearest name), a node nobody reads, a destination with no input, an
 * input that is a destination. Each is reported before anything runs, with its exact message at
 * the `file:line:column` of the key at fault — and through `dataflare validate`, with a non-zero
 * exit status.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "../cli/support.ts"
import { ordersWorkflow, problems } from "./validation.ts"

const cycle = ordersWorkflow("cyclic", `transformations:
  enrich:
    type: map
    inputs: [orders, recheck]
    config: { fields: { checked: "true" } }
  large:
    type: filter
    inputs: [enrich]
    config: { condition: "amount > 100" }
  recheck:
    type: select
    inputs: [large]
    config: { fields: [id, amount] }
destinations:
  out: { type: collect, inputs: [large], config: {} }
`)

/** A workflow text, and exactly the issues `Runtime.prepare` reports for it, in order (see `ordersWorkflow` for the first lines). */
interface Case {
  readonly title: string
  readonly text: string
  readonly issues: ReadonlyArray<string>
}

const cases: ReadonlyArray<Case> = [
  {
    title: "a cycle names every node on it, at the inputs of its first node",
    text: cycle,
    issues: ["graph.yaml:7:5 transformations.enrich.inputs: the workflow has a cycle: enrich -> large -> recheck -> enrich"]
  },
  {
    title: "a node reading itself is a cycle",
    text: ordersWorkflow("self", `transformations:
  again:
    type: filter
    inputs: [orders, again]
    config: { condition: "amount > 1" }
destinations:
  out: { type: collect, inputs: [again], config: {} }
`),
    issues: ["graph.yaml:7:5 transformations.again.inputs: the workflow has a cycle: again -> again"]
  },
  {
    title: "a cycle through a side output",
    text: ordersWorkflow("side-cycle", `transformations:
  hourly:
    type: aggregate
    inputs: [orders, retry]
    config:
      group_by: [region]
      time_field: at
      window: { type: tumbling, size: 1h }
      late: side_output
      aggregates: { n: { op: count } }
  retry:
    type: map
    inputs: [hourly.late]
    config: { fields: { retried: "true" } }
destinations:
  out: { type: collect, inputs: [hourly], config: {} }
`),
    issues: ["graph.yaml:7:5 transformations.hourly.inputs: the workflow has a cycle: hourly -> retry -> hourly"]
  },
  {
    // refunds is then unread too: both are reported, each where it is
    title: "a misspelled input suggests the nearest node id, at the list item",
    text: ordersWorkflow("typo", `  refunds: { type: memory, config: { records: [] } }
transformations:
  merged:
    type: map
    inputs: [orders, refnds]
    config: { fields: { kind: "'x'" } }
destinations:
  out: { type: collect, inputs: [merged], config: {} }
`),
    issues: [
      "graph.yaml:8:22 transformations.merged.inputs[1]: unknown input 'refnds' (did you mean 'refunds'?)",
      "graph.yaml:4:3 sources.refunds: nothing reads the output of source 'refunds'"
    ]
  },
  {
    title: "an input far from every id gets no suggestion",
    text: ordersWorkflow("unknown", `destinations:
  out:
    type: collect
    inputs:
      - orders
      - shipments_2024
    config: {}
`),
    issues: ["graph.yaml:9:9 destinations.out.inputs[1]: unknown input 'shipments_2024'"]
  },
  {
    title: "a node nobody reads (one branch of a fan-out left dangling)",
    text: ordersWorkflow("dangling", `transformations:
  eu:
    type: filter
    inputs: [orders]
    config: { condition: "region in ['DE', 'FR']" }
  us:
    type: filter
    inputs: [orders]
    config: { condition: "region == 'US'" }
destinations:
  out: { type: collect, inputs: [eu], config: {} }
`),
    issues: ["graph.yaml:9:3 transformations.us: nothing reads the output of transformation 'us'"]
  },
  {
    title: "a destination with an empty input list (found by prepare)",
    text: ordersWorkflow("no-input", `destinations:
  out: { type: collect, inputs: [orders], config: {} }
  audit:
    type: collect
    inputs: []
    config: {}
`),
    issues: ["graph.yaml:8:5 destinations.audit.inputs: a destination needs at least one input"]
  },
  {
    title: "a destination with no inputs key (found by the loader)",
    text: ordersWorkflow("no-input", `destinations:
  out: { type: collect, inputs: [orders], config: {} }
  audit:
    type: collect
    config: {}
`),
    issues: ["graph.yaml:6:3 destinations.audit: destination 'audit' has no 'inputs' (the ids of the nodes it reads from)"]
  },
  {
    title: "reading a destination is refused",
    text: ordersWorkflow("sink-input", `destinations:
  out: { type: collect, inputs: [orders], config: {} }
  copy: { type: collect, inputs: [out], config: {} }
`),
    issues: ["graph.yaml:6:35 destinations.copy.inputs[0]: 'out' is a destination; destinations have no output"]
  }
]

describe("graph validation (YAML + Runtime.prepare)", () => {
  for (const { issues, text, title } of cases) {
    it.effect(title, () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* problems(text), issues)
      }))
  }

  it.live("dataflare validate reports a cycle with the file's path and exits with status 1", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "cyclic.yaml")
      yield* Effect.promise(() => writeFile(file, cycle))
      const result = yield* cli(["validate", file], { cwd: dir })
      assert.strictEqual(result.status, 1)
      assert.include(
        result.stderr,
        `${file}:7:5 transformations.enrich.inputs: the workflow has a cycle: enrich -> large -> recheck -> enrich`
      )
    }))
})
