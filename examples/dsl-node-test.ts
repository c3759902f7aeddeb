/**
 * Testing a workflow and a connector with `node:test` — no vitest: `dataflare/testing` loads no
 * test framework. The pipeline's sink is swapped for an in-memory collector by node id
 * (`Overrides.layer`), and the custom source of examples/connector/Counter.ts runs the source
 * conformance suite, one `node:test` test per case.
 *
 *   node --conditions=dataflare-source examples/dsl-node-test.ts
 *
 * Prints node:test's report (TAP); the exit code is 1 when a test fails.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { Builtins, Overrides, Registry } from "dataflare"
import { Ndjson, Pipeline } from "dataflare/dsl"
import { SourceSuite, SuiteCase, Testing } from "dataflare/testing"
import { Effect, Layer } from "effect"
import { Counter, counter } from "./connector/Counter.ts"

// The workflow as it runs in production: it writes NDJSON.
const squares = Pipeline.from("numbers", counter({ from: 1, to: 10 }))
  .named("squares")
  .filter("odd", (r) => r.n % 2 === 1)
  .map("squared", (r) => ({ n: r.n, square: r.n * r.n }))
  .to("out", Ndjson.sink({ path: "squares.ndjson" }))

const registry = Registry.layer([...Builtins.definitions, Counter])

test("the squares of the odd numbers reach the sink", () =>
  Effect.runPromise(
    Effect.gen(function*() {
      const out = yield* Testing.collector<{ readonly n: number; readonly square: number }>()
      yield* Pipeline.run(squares).pipe(Effect.provide(Layer.merge(registry, Overrides.layer({ out: out.sink }))))
      assert.deepStrictEqual(
        (yield* out.records).map((r) => r.square),
        [1, 9, 25, 49, 81]
      )
    })
  ))

const open = Counter.open({ from: 1, to: 100 }, { node: "numbers", batchSize: 10, instance: 0, parallelism: 1 })
for (const c of SourceSuite.cases(Effect.succeed({ open, expected: Array.from({ length: 100 }, (_, i) => ({ n: i + 1 })) }))) {
  test(`Counter: ${c.name}`, () => SuiteCase.runPromise(c))
}
