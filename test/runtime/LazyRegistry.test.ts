/**
 * Lazily registered definitions (`Registry.lazy`): the registry knows their role, type and
 * description; their module loads when a workflow being prepared names the type (once), or with
 * `loadAll`; a load that fails or brings another type is a definition issue naming the node. The
 * CLI's built-in lists (`lazyConnectorDefinitions`, `lazyProcessorDefinitions`) register the same
 * types, in the same order, with the same descriptions as `connectorDefinitions` and `definitions`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { connectorDefinitions } from "../../src/connectors/index.ts"
import { lazyConnectorDefinitions } from "../../src/connectors/lazy.ts"
import { MemorySource } from "../../src/connectors/memory/MemorySource.ts"
import { DefinitionError } from "../../src/Errors.ts"
import { definitions as processorDefinitions } from "../../src/processors/index.ts"
import { lazyProcessorDefinitions } from "../../src/processors/lazy.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

const lazyPostgres = () => {
  let loads = 0
  const definition = Registry.lazy("source", "postgres", "Reads a PostgreSQL table", () => {
    loads++
    return import("../../src/connectors/postgres/PostgresSource.ts").then((m) => m.PostgresSource)
  })
  return { definition, loads: () => loads }
}

const graph = (sourceType: string, config: unknown) =>
  WorkflowGraph.make({
    name: "lazy",
    nodes: [
      { kind: "source", id: "in", type: sourceType, config, inputs: [] },
      { kind: "sink", id: "out", type: "collect", config: {}, inputs: ["in"] }
    ]
  })

const registryWith = (...extra: ReadonlyArray<Registry.Definition | Registry.LazyDefinition>) =>
  Layer.merge(Registry.layer([...connectorDefinitions.filter((d) => d.type !== "postgres"), ...processorDefinitions, ...extra]), StateBackend.layerMemory)

describe("lazy registry", () => {
  it.effect("a lazy type is known before it loads, loads once when a workflow uses it, and not for one that does not", () =>
    Effect.gen(function*() {
      const pg = lazyPostgres()
      const layer = registryWith(pg.definition)
      const registry = yield* Effect.provide(Effect.gen(function*() {
        return yield* Registry.Registry
      }), layer)
      assert.include(Registry.typesOf(registry, "source"), "postgres")
      assert.isUndefined(registry.find("source", "postgres"))
      // a workflow of other types does not load it
      yield* Effect.provide(Runtime.prepare(graph("memory", { records: [{ a: 1 }] })), layer)
      assert.strictEqual(pg.loads(), 0)
      // one that names it does, once
      const config = { connection_string: "postgres://postgres@127.0.0.1:5432/test", table: "t" }
      yield* Effect.provide(Effect.gen(function*() {
        yield* Runtime.prepare(graph("postgres", config))
        yield* Runtime.prepare(graph("postgres", config))
        const loaded = yield* Registry.Registry
        assert.strictEqual(loaded.find("source", "postgres")?.type, "postgres")
      }), layer)
      assert.strictEqual(pg.loads(), 1)
    }))

  it.effect("a lazy definition that fails to load, or loads another type, is an issue naming the node", () =>
    Effect.gen(function*() {
      const broken = Registry.lazy("source", "broken", "never loads", () => Promise.reject(new Error("module not found")))
      const wrong = Registry.lazy("source", "wrong", "loads memory", () => Promise.resolve(MemorySource))
      const layer = registryWith(broken, wrong)
      for (const [type, text] of [["broken", "could not be loaded: module not found"], ["wrong", "loaded a source of type 'memory'"]] as const) {
        const exit = yield* Effect.exit(Effect.provide(Runtime.prepare(graph(type, {})), layer))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        assert.instanceOf(error, DefinitionError)
        const issue = (error as DefinitionError).issues.find((i) => i.message.includes(text))
        assert.isDefined(issue, `${type}: ${(error as DefinitionError).message}`)
        assert.include(issue!.path, "in")
      }
    }))

  it.effect("loadAll loads every lazy type; entries keep the order of registration", () =>
    Effect.gen(function*() {
      const registry = yield* Registry.make([...lazyConnectorDefinitions, ...processorDefinitions])
      assert.isUndefined(registry.find("sink", "postgres"))
      yield* registry.loadAll!
      const eager = yield* Registry.make([...connectorDefinitions, ...processorDefinitions])
      assert.deepStrictEqual(registry.entries.map((e) => `${e.kind}:${e.type}`), eager.entries.map((e) => `${e.kind}:${e.type}`))
    }))

  it("the CLI's lazy built-ins are the built-ins: same types, order and descriptions", () => {
    const describe = (d: Registry.Definition | Registry.LazyDefinition) =>
      `${d._tag === "LazyDefinition" ? d.kind : d._tag === "SourceDefinition" ? "source" : "sink"}:${d.type}: ${d.description}`
    assert.deepStrictEqual(lazyConnectorDefinitions.map(describe), connectorDefinitions.map(describe))
  })

  it.effect("the CLI's lazy processors are the built-in processors: same types, order and descriptions; each loads its own", () =>
    Effect.gen(function*() {
      const describe = (d: Registry.Definition | Registry.LazyDefinition) =>
        `${d._tag === "LazyDefinition" ? d.kind : d._tag === "ProcessorDefinition" ? "processor" : d._tag}:${d.type}: ${d.description}`
      assert.deepStrictEqual(lazyProcessorDefinitions.map(describe), processorDefinitions.map(describe))
      const registry = yield* Registry.make(lazyProcessorDefinitions)
      assert.isUndefined(registry.find("processor", "aggregate"))
      yield* registry.loadAll!
      const eager = yield* Registry.make(processorDefinitions)
      assert.deepStrictEqual(registry.entries.map((e) => `${e.kind}:${e.type}`), eager.entries.map((e) => `${e.kind}:${e.type}`))
    }))
})
