/**
 * Dead letters of processors (`on_error: dead_letter`, `dead_letter: { path }` on a
 * transformation): a record a filter or map expression fails on is set aside in the node's NDJSON
 * file — the record, the node, the error's tag and message, the time, the source position — and
 * the run goes on; the count shows in the run summary, the plan names the file. The default
 * (`fail`) still fails the run naming the record; what this cut does not cover is refused.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Ndjson from "../../src/connectors/ndjson/index.ts"
import * as Builtins from "../../src/Builtins.ts"
import { tempDir } from "../connectors/csv/support.ts"
import { ndjsonRows, runYaml } from "./ndjsonRuns.ts"

const workflow = (dir: string, transformations: string, parallelism = 1) =>
  [
    "name: dead-letters",
    `execution: { batch_size: 4, parallelism: ${parallelism} }`,
    "sources:",
    `  input: { type: ndjson, config: { path: ${join(dir, "in.ndjson")} } }`,
    "transformations:",
    transformations,
    "destinations:",
    `  out: { type: ndjson, inputs: [${transformations.includes("  double:") ? "double" : "big"}], config: { path: ${join(dir, "out.ndjson")} } }`
  ].join("\n")

const input = (dir: string) =>
  writeFileSync(
    join(dir, "in.ndjson"),
    [{ id: 1, amount: 5 }, { id: 2, amount: "lots" }, { id: 3, amount: 50 }, { id: 4, amount: 12 }, { id: 5, amount: null }, { id: 6, amount: 99 }]
      .map((r) => JSON.stringify(r)).join("\n") + "\n"
  )

describe("dead letters of processors (on_error: dead_letter)", () => {
  it.live("a filter's bad records go to its dead letters with node, tag, message and position; the others go on", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const letters = join(dir, "big.dead.ndjson")
      const { plan, summary } = yield* runYaml(workflow(dir, `  big: { type: filter, inputs: [input], config: { condition: "amount > 10" }, on_error: dead_letter, dead_letter: { path: ${letters} } }`))
      assert.include(plan, `dead letters → ${letters}`)
      assert.deepStrictEqual(ndjsonRows(join(dir, "out.ndjson")).map((r) => r.id), [3, 4, 6])
      const entries = ndjsonRows(letters)
      // "lots" > 10 is a type error; null > 10 is false (dropped, as without dead letters)
      assert.deepStrictEqual(entries.map((e) => (e.record as { id: number }).id), [2])
      const [first] = entries
      assert.strictEqual(first.node, "big")
      assert.strictEqual(first.tag, "RecordError")
      assert.include(String(first.error), "amount > 10")
      assert.strictEqual(first.source, "input")
      assert.isDefined(first.position)
      assert.isString(first.at)
      assert.strictEqual(summary.nodes.find((n) => n.id === "big")?.deadLetters, 1)
      assert.isUndefined(summary.nodes.find((n) => n.id === "out")?.deadLetters)
    })))

  it.live("a map in a fused chain, with three instances: only its own failures are set aside, counted once each", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const letters = join(dir, "double.dead.ndjson")
      const { summary } = yield* runYaml(workflow(
        dir,
        [
          "  keep: { type: filter, inputs: [input], config: { condition: \"id > 1\" } }",
          `  double: { type: map, inputs: [keep], config: { fields: { twice: "amount * 2" } }, on_error: dead_letter, dead_letter: { path: ${letters} } }`
        ].join("\n"),
        3
      ))
      // null * 2 is null (no error); "lots" * 2 is the one failure
      const out = ndjsonRows(join(dir, "out.ndjson")).map((r) => [r.id, r.twice]).sort((a, b) => Number(a[0]) - Number(b[0]))
      assert.deepStrictEqual(out, [[3, 100], [4, 24], [5, null], [6, 198]])
      assert.deepStrictEqual(ndjsonRows(letters).map((e) => (e.record as { id: number }).id), [2])
      assert.strictEqual(summary.nodes.find((n) => n.id === "double")?.deadLetters, 1)
    })))

  it.live("without on_error, the bad record fails the run naming it (nothing set aside)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const exit = yield* Effect.exit(runYaml(workflow(dir, "  big: { type: filter, inputs: [input], config: { condition: \"amount > 10\" } }")))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "amount > 10")
    })))

  it.effect("refused before anything runs: no dead_letter path, a connector node, a batch function not declared pure", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Yaml.parse(workflow("/tmp", "  big: { type: filter, inputs: [input], config: { condition: \"amount > 10\" }, on_error: dead_letter }"), { file: "wf.yaml", env: {} }))
      assert.include(missing.message, "on_error: dead_letter needs dead_letter: { path }")
      const onSink = yield* Effect.flip(Yaml.parse(
        [
          "name: x",
          "sources: { input: { type: ndjson, config: { path: a.ndjson } } }",
          "destinations: { out: { type: ndjson, inputs: [input], on_error: dead_letter, config: { path: b.ndjson } } }"
        ].join("\n"),
        { file: "wf.yaml", env: {} }
      ))
      assert.include(onSink.message, "goes in its config (config.on_error)")
      const batch = Pipeline.from("input", Ndjson.source({ path: "/tmp/x.ndjson" }))
        .process("big", (records) => Effect.succeed(records), { on_error: "dead_letter", dead_letter: { path: "/tmp/x.dead.ndjson" } })
        .to("out", Ndjson.sink({ path: "/tmp/y.ndjson" }))
      const refused = yield* Effect.flip(Pipeline.run(batch).pipe(Effect.provide(Builtins.layer)))
      assert.include(refused.message, "on_error: dead_letter applies to record-by-record processors")
    }))

  it.live("in the DSL: a step's options take on_error and dead_letter; a user function's throw is set aside with its tag", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const letters = join(dir, "priced.dead.ndjson")
      class PriceError extends Error {
        override readonly name = "PriceError"
      }
      const pipeline = Pipeline.from("input", Ndjson.source({ path: join(dir, "in.ndjson") }))
        .map("priced", (r) => {
          if (typeof r.amount !== "number") throw new PriceError(`no price for ${String(r.amount)}`)
          return { id: r.id, price: r.amount * 1.19 }
        }, { on_error: "dead_letter", dead_letter: { path: letters } })
        .to("out", Ndjson.sink({ path: join(dir, "out.ndjson") }))
      const summary = yield* Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(ndjsonRows(join(dir, "out.ndjson")).map((r) => r.id), [1, 3, 4, 6])
      assert.deepStrictEqual(ndjsonRows(letters).map((e) => [(e.record as { id: number }).id, e.tag, e.error]), [[2, "PriceError", "no price for lots"], [5, "PriceError", "no price for null"]])
      assert.strictEqual(summary.nodes.find((n) => n.id === "priced")?.deadLetters, 2)
    })))
})
