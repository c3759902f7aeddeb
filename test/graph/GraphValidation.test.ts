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
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import { DefinitionError, formatIssue } from "../../src/Errors.ts"
import * as Runtime from "../../src/Runtime.ts"
import { cli, tempDir } from "../cli/support.ts"

/** The issues `Runtime.prepare` (after the loader) reports for a workflow text, formatted. */
const problems = (text: string) =>
  Yaml.parse(text, { file: "graph.yaml", env: {} }).pipe(
    Effect.flatMap(Runtime.prepare),
    Effect.flip,
    Effect.map((error) => {
      assert.instanceOf(error, DefinitionError)
      return error.issues.map(formatIssue)
    }),
    Effect.provide(Builtins.layer)
  )

const cycle = `name: cyclic
sources:
  orders: { type: memory, config: { records: [] } }
transformations:
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
`

describe("graph validation (YAML + Runtime.prepare)", () => {
  it.effect("a cycle names every node on it, at the inputs of its first node", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* problems(cycle), [
        "graph.yaml:7:5 transformations.enrich.inputs: the workflow has a cycle: enrich -> large -> recheck -> enrich"
      ])
    }))

  it.effect("a node reading itself is a cycle", () =>
    Effect.gen(function*() {
      const text = `name: self
sources:
  orders: { type: memory, config: { records: [] } }
transformations:
  again:
    type: filter
    inputs: [orders, again]
    config: { condition: "amount > 1" }
destinations:
  out: { type: collect, inputs: [again], config: {} }
`
      assert.deepStrictEqual(yield* problems(text), [
        "graph.yaml:7:5 transformations.again.inputs: the workflow has a cycle: again -> again"
      ])
    }))

  it.effect("a cycle through a side output", () =>
    Effect.gen(function*() {
      const text = `name: side-cycle
sources:
  orders: { type: memory, config: { records: [] } }
transformations:
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
`
      assert.deepStrictEqual(yield* problems(text), [
        "graph.yaml:7:5 transformations.hourly.inputs: the workflow has a cycle: hourly -> retry -> hourly"
      ])
    }))

  it.effect("a misspelled input suggests the nearest node id, at the list item", () =>
    Effect.gen(function*() {
      const text = `name: typo
sources:
  orders: { type: memory, config: { records: [] } }
  refunds: { type: memory, config: { records: [] } }
transformations:
  merged:
    type: map
    inputs: [orders, refnds]
    config: { fields: { kind: "'x'" } }
destinations:
  out: { type: collect, inputs: [merged], config: {} }
`
      // refunds is then unread too: both are reported, each where it is
      assert.deepStrictEqual(yield* problems(text), [
        "graph.yaml:8:22 transformations.merged.inputs[1]: unknown input 'refnds' (did you mean 'refunds'?)",
        "graph.yaml:4:3 sources.refunds: nothing reads the output of source 'refunds'"
      ])
    }))

  it.effect("an input far from every id gets no suggestion", () =>
    Effect.gen(function*() {
      const text = `name: unknown
sources:
  orders: { type: memory, config: { records: [] } }
destinations:
  out:
    type: collect
    inputs:
      - orders
      - shipments_2024
    config: {}
`
      assert.deepStrictEqual(yield* problems(text), [
        "graph.yaml:9:9 destinations.out.inputs[1]: unknown input 'shipments_2024'"
      ])
    }))

  it.effect("a node nobody reads (one branch of a fan-out left dangling)", () =>
    Effect.gen(function*() {
      const text = `name: dangling
sources:
  orders: { type: memory, config: { records: [] } }
transformations:
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
`
      assert.deepStrictEqual(yield* problems(text), [
        "graph.yaml:9:3 transformations.us: nothing reads the output of transformation 'us'"
      ])
    }))

  it.effect("a destination with no input: an empty list (prepare), no inputs key (loader)", () =>
    Effect.gen(function*() {
      const empty = `name: no-input
sources:
  orders: { type: memory, config: { records: [] } }
destinations:
  out: { type: collect, inputs: [orders], config: {} }
  audit:
    type: collect
    inputs: []
    config: {}
`
      assert.deepStrictEqual(yield* problems(empty), [
        "graph.yaml:8:5 destinations.audit.inputs: a destination needs at least one input"
      ])
      const missing = `name: no-input
sources:
  orders: { type: memory, config: { records: [] } }
destinations:
  out: { type: collect, inputs: [orders], config: {} }
  audit:
    type: collect
    config: {}
`
      assert.deepStrictEqual(yield* problems(missing), [
        "graph.yaml:6:3 destinations.audit: destination 'audit' has no 'inputs' (the ids of the nodes it reads from)"
      ])
    }))

  it.effect("reading a destination is refused", () =>
    Effect.gen(function*() {
      const text = `name: sink-input
sources:
  orders: { type: memory, config: { records: [] } }
destinations:
  out: { type: collect, inputs: [orders], config: {} }
  copy: { type: collect, inputs: [out], config: {} }
`
      assert.deepStrictEqual(yield* problems(text), [
        "graph.yaml:6:35 destinations.copy.inputs[0]: 'out' is a destination; destinations have no output"
      ])
    }))

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
