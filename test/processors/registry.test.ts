/** The processors through the registry: configs decode through the one Schema (unknown keys refused), and `make`'s issues carry paths and columns. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Processor from "../../src/Processor.ts"
import { processorDefinitions } from "../../src/processors/index.ts"
import * as Registry from "../../src/Registry.ts"

const prepare = (type: string, config: unknown) =>
  Effect.gen(function*() {
    const registry = yield* Registry.make(processorDefinitions)
    const entry = registry.find("processor", type)
    if (entry === undefined || entry.kind !== "processor") return assert.fail(`no processor '${type}'`)
    return entry.prepare(config, { node: "n" })
  })

describe("processors in the registry", () => {
  it.effect("registers every stateless processor", () =>
    Effect.gen(function*() {
      const registry = yield* Registry.make(processorDefinitions)
      assert.deepStrictEqual(Registry.typesOf(registry, "processor"), ["filter", "flat_map", "map", "process", "rename", "select", "via"])
    }))
  it.effect("a valid YAML-shaped config prepares to a stateless processor that works", () =>
    Effect.gen(function*() {
      const prepared = yield* prepare("filter", { condition: "n % 2 == 0" })
      if (!prepared.ok || prepared.value._tag !== "Stateless") return assert.fail("expected a stateless processor")
      const out = Processor.runSteps(prepared.value.steps)(Batch.make([{ n: 1 }, { n: 2 }, { n: 4 }]))
      assert.deepStrictEqual(out, [{ n: 2 }, { n: 4 }])
    }))
  it.effect("unknown keys and wrong types are refused by the config Schema", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* prepare("filter", { condtion: "a == 1" }), {
        ok: false,
        issues: [{ path: ["condtion"], message: "Expected no excess property" }]
      })
      assert.deepStrictEqual(yield* prepare("select", { fields: ["a", 2] }), {
        ok: false,
        issues: [{ path: ["fields", 1], message: "Expected string" }]
      })
      assert.deepStrictEqual(yield* prepare("map", { fields: { a: 1 } }), {
        ok: false,
        issues: [{ path: ["fields", "a"], message: "Expected string" }]
      })
      assert.deepStrictEqual(yield* prepare("flat_map", { fn: "r => [r]" }), {
        ok: false,
        issues: [{ path: ["fn"], message: "Expected a function (record) => Iterable<record>" }]
      })
      assert.deepStrictEqual(yield* prepare("rename", {}), {
        ok: false,
        issues: [{ path: ["fields"], message: "Missing key" }]
      })
    }))
  it.effect("a bad expression is an issue at its key with the column inside the expression", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* prepare("filter", { condition: "lowr(name) == 'bob'" }), {
        ok: false,
        issues: [{ path: ["condition"], message: "unknown function 'lowr' (did you mean 'lower'?)", column: 1 }]
      })
      assert.deepStrictEqual(yield* prepare("map", { fields: { full: "first + ' ' + last)" } }), {
        ok: false,
        issues: [{ path: ["fields", "full"], message: "unexpected token ')'", column: 19 }]
      })
    }))
})
