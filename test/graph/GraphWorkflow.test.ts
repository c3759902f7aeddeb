/**
 * The "done means" workflow of the graphs issue: `examples/graph-orders.yaml` — two sources
 * (orders CSV, refunds NDJSON), a fan-out of `orders` to three branches (filter ×2 / filter /
 * select), a fan-in that reconciles both record shapes, a keyed tumbling-window aggregate ×2 with
 * late records on `hourly.late`, and two destinations (NDJSON, CSV). Inputs are generated into a
 * temp dir; the outputs, read back, must equal results computed by hand from the generated rows,
 * through `Runtime.run` and through `./bin/dataflare run` alike.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import * as Runtime from "../../src/Runtime.ts"
import { cli } from "../cli/support.ts"
import { envFor, expected, generate, type Inputs, sortByJson, type Total, writeInputs } from "./orders.ts"

const example = resolve(import.meta.dirname, "../../examples/graph-orders.yaml")

const tempDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-graph-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

const inputs: Inputs = generate(3_000, 1_200)
const want = expected(inputs)

const readTotals = (dir: string) =>
  Effect.promise(() => readFile(join(dir, "totals.ndjson"), "utf8")).pipe(
    Effect.map((text) => sortByJson(text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Total)))
  )

/** The header line, then the data lines sorted (the order of parallel branches is not defined). */
const readReview = (dir: string) =>
  Effect.promise(() => readFile(join(dir, "review.csv"), "utf8")).pipe(
    Effect.map((text) => {
      const [header, ...rows] = text.split("\n").filter((l) => l.length > 0)
      return { header, rows: rows.sort() }
    })
  )

const checkOutputs = (dir: string) =>
  Effect.gen(function*() {
    const totals = yield* readTotals(dir)
    assert.strictEqual(totals.length, want.totals.length)
    assert.deepStrictEqual(totals, want.totals)
    const review = yield* readReview(dir)
    assert.strictEqual(review.header, "reason,id,region,value,at")
    assert.deepStrictEqual(review.rows, want.review)
  })

const expectedCounts = (): ReadonlyArray<readonly [string, number, number]> => {
  const orders = inputs.orders.length
  const events = orders + inputs.refunds.length
  const { big, eu, late } = want.counts
  return [
    ["orders", 0, orders],
    ["refunds", 0, inputs.refunds.length],
    ["eu", orders, eu],
    ["eu_rows", eu, eu],
    ["big", orders, big],
    ["big_rows", big, big],
    ["order_events", orders, orders],
    ["events", events, events],
    ["normalised", events, events],
    ["hourly", events, want.totals.length],
    ["late_rows", late, late],
    ["totals", want.totals.length, want.totals.length],
    ["review", eu + big + late, eu + big + late]
  ]
}

describe("graph workflow (examples/graph-orders.yaml)", () => {
  it("the generated inputs exercise every branch", () => {
    // guards against a generator change that would make the comparison trivial
    assert.strictEqual(inputs.lateOrders.size, 12)
    assert.strictEqual(inputs.lateRefunds.size, 6)
    assert.isAbove(want.counts.eu, 1_000)
    assert.isAbove(want.counts.big, 200)
    assert.isAbove(want.totals.length, 50)
    const kinds = new Set(want.totals.map((t) => t.kind))
    assert.deepStrictEqual([...kinds].sort(), ["order", "refund"])
    // the independent grouping accounts for every normal event
    const counted = want.totals.reduce((n, t) => n + t.events, 0)
    assert.strictEqual(counted, inputs.orders.length + inputs.refunds.length - want.counts.late)
  })

  it.live("Runtime.run: outputs equal the results computed by hand; per-node counts", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* writeInputs(dir, inputs)
      const text = yield* Effect.promise(() => readFile(example, "utf8"))
      const graph = yield* Yaml.parse(text, { file: example, env: envFor(dir) })
      const summary = yield* Runtime.run(graph).pipe(Effect.provide(Builtins.layer))
      yield* checkOutputs(dir)
      assert.strictEqual(summary.workflow, "graph-orders")
      const byId = new Map(summary.nodes.map((n) => [n.id, n]))
      for (const [id, recordsIn, recordsOut] of expectedCounts()) {
        const node = byId.get(id)
        assert.isDefined(node, id)
        assert.deepStrictEqual([id, node!.recordsIn, node!.recordsOut], [id, recordsIn, recordsOut])
      }
      assert.strictEqual(summary.nodes.length, 13)
    }))

  it.live("the outputs do not depend on batch size or queue capacity", () =>
    Effect.gen(function*() {
      const text = yield* Effect.promise(() => readFile(example, "utf8"))
      assert.include(text, "batch_size: 500\n  queue_capacity: 4\n")
      for (const [batch, capacity] of [[7, 1], [4096, 16]] as const) {
        const dir = yield* tempDir
        yield* writeInputs(dir, inputs)
        const variant = text.replace("batch_size: 500\n  queue_capacity: 4\n", `batch_size: ${batch}\n  queue_capacity: ${capacity}\n`)
        const graph = yield* Yaml.parse(variant, { file: example, env: envFor(dir) })
        assert.strictEqual(graph.execution.batch_size, batch)
        yield* Runtime.run(graph).pipe(Effect.provide(Builtins.layer))
        yield* checkOutputs(dir)
      }
    }))

  it.live("the same outputs through ./bin/dataflare run (child process)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* writeInputs(dir, inputs)
      const result = yield* cli(["run", example], { cwd: dir, env: envFor(dir) })
      assert.strictEqual(result.status, 0, result.stderr)
      yield* checkOutputs(dir)
      // the summary table lists each node's records in and out
      const fmt = (n: number) => n.toLocaleString("en-US")
      for (const [id, recordsIn, recordsOut] of expectedCounts()) {
        assert.match(result.stdout, new RegExp(`\\n${id}\\s+\\w+\\s+\\w+\\s+${fmt(recordsIn)}\\s+${fmt(recordsOut)}\\n`), id)
      }
    }))

  it.live("validate and plan through the CLI", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const env = envFor(dir)
      const [validate, plan, mermaid, dot] = yield* Effect.all([
        cli(["validate", example], { cwd: dir, env }),
        cli(["plan", example], { cwd: dir, env }),
        cli(["plan", example, "--format", "mermaid"], { cwd: dir, env }),
        cli(["plan", example, "--format", "dot"], { cwd: dir, env })
      ], { concurrency: "unbounded" })
      assert.strictEqual(validate.status, 0, validate.stderr)
      assert.include(validate.stdout, "(13 nodes)")
      assert.strictEqual(plan.status, 0, plan.stderr)
      assert.include(plan.stdout, "fused: eu (filter) → eu_rows (map), parallelism 2, reads orders, queue 4 batches per instance")
      assert.strictEqual(mermaid.status, 0, mermaid.stderr)
      assert.include(mermaid.stdout, "n_hourly -- late --> n_late__rows")
      assert.strictEqual(dot.status, 0, dot.stderr)
      assert.include(dot.stdout, `n_hourly -> n_late__rows [label="late"];`)
    }))

  it.effect("Runtime.plan: stages, fused chains, parallelism and keys", () =>
    Effect.gen(function*() {
      const text = yield* Effect.promise(() => readFile(example, "utf8"))
      const graph = yield* Yaml.parse(text, { file: example, env: {} })
      const prepared = yield* Runtime.prepare(graph).pipe(Effect.provide(Builtins.layer))
      const plan = Runtime.plan(prepared)
      assert.deepStrictEqual(plan.chains, [["eu", "eu_rows"], ["big", "big_rows"], ["events", "normalised"]])
      assert.deepStrictEqual(plan.stages.map((s) => [...s].sort()), [
        ["orders", "refunds"],
        ["big", "eu", "order_events"],
        ["events"],
        ["hourly"],
        ["late_rows", "totals"],
        ["review"]
      ])
      assert.strictEqual(plan.tasks.length, 10)
      assert.strictEqual(plan.guarantee, "exactly-once")
      const task = (id: string) => plan.taskOf(id)
      assert.strictEqual(task("eu_rows").id, "eu")
      assert.strictEqual(task("eu").parallelism, 2)
      assert.isUndefined(task("eu").key)
      assert.strictEqual(task("hourly")._tag, "Stateful")
      assert.strictEqual(task("hourly").parallelism, 2)
      // keyed by the aggregate's group_by: one key, one instance
      assert.isDefined(task("hourly").key)
      assert.deepStrictEqual(task("events").inputs, [{ task: "order_events", port: "main" }, { task: "refunds", port: "main" }])
      assert.deepStrictEqual(task("late_rows").inputs, [{ task: "hourly", port: "late" }])
      assert.deepStrictEqual(task("review").inputs.map((i) => i.task), ["eu", "big", "late_rows"])
      const rendered = PlanFormat.text(plan)
      assert.include(rendered, "stateful: hourly (aggregate), parallelism 2, keyed, reads normalised, queue 4 batches per instance")
      assert.include(rendered, "sink: review (csv), parallelism 1, reads eu_rows, big_rows, late_rows, queue 4 batches, exactly-once")
    }))
})
