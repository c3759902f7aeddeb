import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { statefulDefinitions } from "../src/processors/stateful.ts"
import * as Registry from "../src/Registry.ts"
import { checkRestoreEquivalence } from "../src/testing/RestoreEquivalence.ts"
import * as WorkflowGraph from "../src/WorkflowGraph.ts"
import { AddTo, Collect, KeepEven, Numbers, RunningCount } from "../test/runtime/support.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

const registry = Registry.layer([Numbers, Collect, KeepEven, AddTo, RunningCount, ...statefulDefinitions])

/** A stateless step: keep even ids, or add a constant to ids. */
const stepArbitrary = fc.oneof(
  fc.constant({ type: "keep_even", config: { field: "id" } }),
  fc.integer({ min: 1, max: 9 }).map((by) => ({ type: "add", config: { by } }))
)

interface Shape {
  readonly head: ReadonlyArray<{ type: string; config: unknown }>
  readonly keyed: { readonly parallelism: number; readonly type: keyof typeof keyedConfigs } | undefined
  readonly branches: ReadonlyArray<ReadonlyArray<{ type: string; config: unknown }>>
  readonly fanIn: boolean
}

/**
 * The keyed stateful operators drawn: a custom one (its state restores only at the same
 * parallelism), and the built-in aggregate and dedupe, whose state is split by key group — their
 * parallelism is also drawn anew after each crash or graceful stop.
 */
const keyedConfigs = {
  running_count: {},
  aggregate: { group_by: ["group"], aggregates: { n: { op: "count" }, total: { op: "sum", field: "id" } } },
  dedupe: { key: ["group"] }
} as const

/** Arbitrary pipelines: a stateless chain, an optional keyed stateful operator, then 1–3 branches that end in one sink (fan-in) or one sink each. */
const shapeArbitrary: fc.Arbitrary<Shape> = fc.record({
  head: fc.array(stepArbitrary, { maxLength: 3 }),
  keyed: fc.option(
    fc.record({
      parallelism: fc.integer({ min: 1, max: 3 }),
      type: fc.constantFrom<keyof typeof keyedConfigs>("running_count", "aggregate", "dedupe")
    }),
    { nil: undefined }
  ),
  branches: fc.array(fc.array(stepArbitrary, { maxLength: 2 }), { minLength: 1, maxLength: 3 }),
  fanIn: fc.boolean()
})

const toGraph = (shape: Shape): WorkflowGraph.WorkflowGraph => {
  const nodes: Array<WorkflowGraph.Node> = [{ kind: "source", id: "src", type: "numbers", config: { count: 0 }, inputs: [] }]
  let last = "src"
  shape.head.forEach((s, i) => {
    nodes.push({ kind: "processor", id: `h${i}`, type: s.type, config: s.config, inputs: [last] })
    last = `h${i}`
  })
  if (shape.keyed !== undefined) {
    nodes.push({
      kind: "processor",
      id: "keyed",
      type: shape.keyed.type,
      config: keyedConfigs[shape.keyed.type],
      inputs: [last],
      parallelism: shape.keyed.parallelism
    })
    last = "keyed"
  }
  const ends = shape.branches.map((branch, b) => {
    let tail = last
    branch.forEach((s, i) => {
      nodes.push({ kind: "processor", id: `b${b}_${i}`, type: s.type, config: s.config, inputs: [tail] })
      tail = `b${b}_${i}`
    })
    return tail
  })
  if (shape.fanIn) {
    nodes.push({ kind: "sink", id: "out", type: "collect_test", config: { name: "prop" }, inputs: [...new Set(ends)] })
  } else {
    ends.forEach((tail, b) => {
      nodes.push({ kind: "sink", id: `out${b}`, type: "collect_test", config: { name: `prop${b}` }, inputs: [tail] })
    })
  }
  return WorkflowGraph.make({ name: "prop", execution: { batch_size: 3, queue_capacity: 2 }, nodes })
}

/** Records with unique ids and a few groups (keys). */
const recordsArbitrary = fc.uniqueArray(fc.nat({ max: 10_000 }), { minLength: 10, maxLength: 90 }).chain((ids) =>
  fc.tuple(...ids.map(() => fc.integer({ min: 0, max: 3 }))).map((groups) => ids.map((id, i) => ({ id, group: groups[i] })))
)

const runs = numRuns(75)

describe("checkpoint-restore equivalence", () => {
  it("for arbitrary pipelines, inputs, checkpoint intervals and failures, exactly-once sinks end equal to a run without failures", async () => {
    // each case draws a pipeline, then runs the library check on it with a few inputs and scenarios
    const totals = { cases: 0, restarts: 0, restoredFromCheckpoint: 0, stops: 0, rescaled: 0 }
    await fc.assert(
      fc.asyncProperty(shapeArbitrary, fc.integer(), async (shape, seed) => {
        const stats = await checkRestoreEquivalence({
          graph: toGraph(shape),
          registry,
          inputs: { src: recordsArbitrary },
          numRuns: 4,
          seed,
          // graceful stops are drawn with crashes; the parallelism of key-grouped state changes between them
          rescalable: shape.keyed !== undefined && shape.keyed.type !== "running_count" ? ["keyed"] : []
        })
        totals.cases += stats.cases
        totals.restarts += stats.restarts
        totals.restoredFromCheckpoint += stats.restoredFromCheckpoint
        totals.stops += stats.stops
        totals.rescaled += stats.rescaled
      }),
      { numRuns: runs }
    )
    console.log(`restore equivalence: ${JSON.stringify(totals)}`)
    // the property is only meaningful if failures really happened and restores used checkpoints
    assert.isAbove(totals.restarts, totals.cases / 4)
    assert.isAbove(totals.restoredFromCheckpoint, totals.cases / 10)
    assert.isAbove(totals.stops, 0, "graceful stops were drawn and resumed from")
    assert.isAbove(totals.rescaled, 0, "key-grouped state was restored at another parallelism")
  }, timeoutFor(runs, 4_000, 600_000))
})
