/**
 * DSL workflows run end to end through `Pipeline.run` / `Workflow.run` with the built-in
 * registry: CSV files generated in a temp dir, typed steps, user processors with services, and
 * the outputs checked against results computed independently in the test.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Schema } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Csv from "../../src/connectors/csv/index.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import * as Ndjson from "../../src/connectors/ndjson/index.ts"
import { DefinitionError, formatIssue, NodeError } from "../../src/Errors.ts"
import * as Overrides from "../../src/Overrides.ts"
import * as Testing from "../../src/testing/Testing.ts"
import type * as WorkflowGraph from "../../src/WorkflowGraph.ts"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-dsl-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))
const read = (path: string) => Effect.promise(() => readFile(path, "utf8"))

interface Row {
  readonly id: number
  readonly customer: string
  readonly status: string
  readonly amount: number
  readonly currency: string
}

const rows: ReadonlyArray<Row> = Array.from({ length: 500 }, (_, i) => ({
  id: i + 1,
  customer: `Customer ${i % 37}`,
  status: i % 3 === 0 ? "closed" : "active",
  amount: (i * 13) % 400,
  currency: i % 2 === 0 ? "USD" : "GBP"
}))

const csvText = (records: ReadonlyArray<Row>) =>
  "id,customer,status,amount,currency\n" +
  records.map((r) => `${r.id},${r.customer},${r.status},${r.amount},${r.currency}`).join("\n") + "\n"

const columns = { id: "integer", customer: "string", status: "string", amount: "number", currency: "string" } as const

class Rates extends Context.Service<Rates, { readonly toEur: (currency: string) => number }>()("test/Rates") {}
class UnknownCurrency extends Schema.TaggedError<UnknownCurrency>()("UnknownCurrency", { currency: Schema.String }) {}

const rates = { USD: 0.5, GBP: 2 } as const
const RatesLive = Rates.of({ toEur: (c) => (c === "USD" || c === "GBP" ? rates[c] : Number.NaN) })

describe("DSL run", () => {
  it.effect("a Pipeline with function, expression and Effect steps runs from CSV to CSV", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), csvText(rows))
      const pipeline = Pipeline.from("orders", Csv.source({ path: join(dir, "orders.csv"), columns, required: ["id", "amount"] }))
        .named("eur-orders")
        .execution({ batch_size: 64, queue_capacity: 2 })
        .filter("active", (r) => r.status === "active")
        .filter("large", "amount >= 100")
        .process("eur", (records) =>
          Effect.gen(function*() {
            const service = yield* Rates
            const out: Array<{ id: number; customer: string; eur: number }> = []
            for (const r of records) {
              const rate = service.toEur(r.currency)
              if (Number.isNaN(rate)) return yield* new UnknownCurrency({ currency: r.currency })
              out.push({ id: r.id, customer: r.customer, eur: r.amount * rate })
            }
            return out
          }))
        .mapFields("named", { customer: "upper(customer)" })
        .select("slim", ["id", "customer", "eur"])
        .rename("renamed", { eur: "amount_eur" })
        .to("out", Csv.sink({ path: join(dir, "out.csv") }))

      const summary = yield* Pipeline.run(pipeline).pipe(
        Effect.provideService(Rates, RatesLive),
        Effect.provide(Builtins.layer)
      )

      const expected = rows
        .filter((r) => r.status === "active" && r.amount >= 100)
        .map((r) => `${r.id},${r.customer.toUpperCase()},${r.amount * rates[r.currency as "USD" | "GBP"]}`)
      assert.isAbove(expected.length, 100)
      assert.strictEqual(yield* read(join(dir, "out.csv")), ["id,customer,amount_eur", ...expected].join("\n") + "\n")
      assert.strictEqual(summary.workflow, "eur-orders")
      const out = summary.nodes.find((n) => n.id === "out")
      assert.strictEqual(out?.recordsIn, expected.length)
    }).pipe(Effect.scoped))

  it.effect("a user processor's error fails the run with a NodeError naming the node, the error as cause", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), csvText([...rows.slice(0, 10), { ...rows[10], currency: "XYZ" }]))
      const pipeline = Pipeline.from("orders", Csv.source({ path: join(dir, "orders.csv"), columns }))
        .process("eur", (records) =>
          Effect.gen(function*() {
            const service = yield* Rates
            const bad = records.find((r) => Number.isNaN(service.toEur(r.currency)))
            if (bad !== undefined) return yield* new UnknownCurrency({ currency: bad.currency })
            return records
          }))
        .to("out", Csv.sink({ path: join(dir, "out.csv") }))
      const exit = yield* Pipeline.run(pipeline).pipe(
        Effect.provideService(Rates, RatesLive),
        Effect.provide(Builtins.layer),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")?.error
        assert.instanceOf(error, NodeError)
        if (error instanceof NodeError) {
          assert.strictEqual(error.node, "eur")
          assert.instanceOf(error.cause, UnknownCurrency)
          assert.strictEqual((error.cause as UnknownCurrency).currency, "XYZ")
        }
      }
    }).pipe(Effect.scoped))

  it.effect("a Workflow with two sources, a fan-in, a fan-out and two sinks runs", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const first = rows.slice(0, 250)
      const second = rows.slice(250)
      yield* write(join(dir, "a.csv"), csvText(first))
      // The second file has other column names: the fan-in reconciles them with a map.
      yield* write(
        join(dir, "b.csv"),
        "order_id;total;state\n" + second.map((r) => `${r.id};${r.amount};${r.status}`).join("\n") + "\n"
      )
      const w = Workflow.make("two-files")
        .source("a", Csv.source({ path: join(dir, "a.csv"), columns, required: ["id", "amount"] }))
        .source(
          "b",
          Csv.source({
            path: join(dir, "b.csv"),
            delimiter: ";",
            columns: { order_id: "integer", total: "number", state: "string" },
            required: ["order_id", "total"]
          })
        )
        .map("orders", ["a", "b"], (r) =>
          "order_id" in r
            ? { id: r.order_id, amount: r.total, active: r.state === "active" }
            : { id: r.id, amount: r.amount, active: r.status === "active" })
        .filter("active", ["orders"], (r) => r.active)
        .select("ids", ["orders"], ["id"])
        .sink("active_out", ["active"], Csv.sink({ path: join(dir, "active.csv"), columns: { id: "integer", amount: "number" } }))
        .sink("ids_out", ["ids"], Csv.sink({ path: join(dir, "ids.csv") }))
        .build()

      yield* Workflow.run(w).pipe(Effect.provide(Builtins.layer))

      const sortLines = (text: string) => text.trim().split("\n").slice(1).sort()
      assert.deepStrictEqual(
        sortLines(yield* read(join(dir, "active.csv"))),
        rows.filter((r) => r.status === "active").map((r) => `${r.id},${r.amount}`).sort()
      )
      assert.deepStrictEqual(sortLines(yield* read(join(dir, "ids.csv"))), rows.map((r) => String(r.id)).sort())
    }).pipe(Effect.scoped))

  it.effect("a production pipeline runs unchanged with its connectors swapped for in-memory ones", () =>
    Effect.gen(function*() {
      // The workflow as it runs in production: files that do not exist in this test.
      const production = Pipeline.from("orders", Csv.source({ path: "/nonexistent/orders.csv", columns, required: ["id", "amount"] }))
        .filter("active", "status == 'active'")
        .map("cents", (r) => ({ id: r.id, cents: r.amount * 100 }))
        .to("out", Ndjson.sink({ path: "/nonexistent/out.ndjson" }))
      const out = yield* Testing.collector<{ id: number; cents: number }>()
      const summary = yield* Pipeline.run(production).pipe(
        Effect.provide(Overrides.layer({ orders: Testing.memorySource(rows, { batchSize: 50 }), out: out.sink })),
        Effect.provide(Builtins.layer)
      )
      assert.deepStrictEqual(
        yield* out.records,
        rows.filter((r) => r.status === "active").map((r) => ({ id: r.id, cents: r.amount * 100 }))
      )
      // Overridden nodes keep their ids in the summary.
      assert.deepStrictEqual(summary.nodes.map((n) => n.id).sort(), ["active", "cents", "orders", "out"])
    }))

  it.effect("an override naming no node of the workflow is refused before anything opens", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), csvText(rows))
      const production = Pipeline.from("orders", Csv.source({ path: join(dir, "orders.csv"), columns, required: ["id", "amount"] }))
        .filter("active", "status == 'active'")
        .to("out", Ndjson.sink({ path: join(dir, "out.ndjson") }))
      const out = yield* Testing.collector()
      // a typo in the untyped form (the typed form, Overrides.layer(production, ...), does not compile)
      const exit = yield* Effect.exit(Pipeline.run(production).pipe(
        Effect.provide(Overrides.layer({ orders: Testing.memorySource(rows), ot: out.sink })),
        Effect.provide(Builtins.layer)
      ))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(error, DefinitionError)
      assert.include((error as DefinitionError).message, "an override names node 'ot', which the workflow 'orders' does not have (did you mean 'out'?)")
      // the production sink never opened: no output file
      const written = yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8").then(() => true, () => false))
      assert.isFalse(written)
      assert.deepStrictEqual(yield* out.records, [])
    }).pipe(Effect.scoped))

  it.effect("a pipeline of the memory source and the collect sink runs", () =>
    Effect.gen(function*() {
      Memory.clearCollected("dsl-memory")
      const p = Pipeline.from("in", Memory.source({ records: rows, batch_size: 7 }))
        .flatMap("split", (r) => (r.amount % 2 === 0 ? [{ id: r.id, half: 1 }, { id: r.id, half: 2 }] : []))
        .rename("renamed", { half: "part" })
        .to("out", Memory.sink({ name: "dsl-memory" }))
      yield* Pipeline.run(p).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(
        Memory.collected("dsl-memory"),
        rows.filter((r) => r.amount % 2 === 0).flatMap((r) => [{ id: r.id, part: 1 }, { id: r.id, part: 2 }])
      )
    }))

  it.effect("a DSL pipeline's execution settings are checked before anything runs: durations in words, a bad restart delay, batch_size 0", () =>
    Effect.gen(function*() {
      Memory.clearCollected("dsl-settings")
      // settings that bypass the DSL's types (their durations are typed: "10 seconds" does not
      // compile in .execution), e.g. read from a file at run time: the run checks them
      const make = (execution: WorkflowGraph.ExecutionSettings) => ({
        ...Pipeline.from("in", Memory.source({ records: rows }))
          .filter("active", (r) => r.status === "active")
          .to("out", Memory.sink({ name: "dsl-settings" })),
        execution
      })
      const p = make({
        batch_size: 0,
        checkpoint_interval: "10 seconds",
        restart_strategy: { type: "fixed-delay", attempts: 3, delay: "1 second" },
        batching: { adaptive: true, linger: -5 }
      })
      const error = yield* Effect.flip(Pipeline.run(p).pipe(Effect.provide(Builtins.layer)))
      assert.instanceOf(error, DefinitionError)
      assert.deepStrictEqual(error.issues.map(formatIssue), [
        "execution.batch_size: expected a value greater than 0, got 0",
        "execution.checkpoint_interval: expected a duration such as 500ms, 30s, 5m or 1h, got \"10 seconds\"",
        "execution.restart_strategy.delay: expected a duration such as 500ms, 30s, 5m or 1h, got \"1 second\"",
        "execution.batching.linger: expected a value greater than or equal to 0, got -5"
      ])
      // refused before any connector opened: the sink never saw the run
      assert.deepStrictEqual(Memory.collected("dsl-settings"), [])
      // the same settings, written right, run
      const fixed = make({
        batch_size: 100,
        checkpoint_interval: "10s",
        restart_strategy: { type: "fixed-delay", attempts: 3, delay: "1s" },
        batching: { adaptive: true, linger: 5 }
      })
      yield* Pipeline.run(fixed).pipe(Effect.provide(Builtins.layer))
      assert.strictEqual(Memory.collected("dsl-settings").length, rows.filter((r) => r.status === "active").length)
    }))
})
