/**
 * Connectors that need a service of the application in `open`: the service comes from where the
 * workflow runs, `Pipeline.run` requires it in its type, and a run without it (a graph without
 * the DSL's types) is refused before any connector opens.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Schema } from "effect"
import { expectTypeOf } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Connector from "../../src/Connector.ts"
import { type ConnectorError, DefinitionError } from "../../src/Errors.ts"
import * as Registry from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as Spec from "../../src/Spec.ts"
import * as Testing from "../../src/testing/Testing.ts"
import * as Overrides from "../../src/Overrides.ts"
import type { WorkflowGraph } from "../../src/WorkflowGraph.ts"

interface Item {
  readonly sku: string
  readonly stock: number
}

/** The application's client, which the connector uses instead of making its own. */
class Inventory extends Context.Service<Inventory, { readonly items: () => ReadonlyArray<Item> }>()("test/Inventory") {}

let opened = 0

/** A source reading the items of the application's Inventory. */
const InventorySource = Connector.source({
  type: "inventory",
  description: "the items of the app's Inventory service",
  config: Schema.Struct({ min_stock: Schema.Number }),
  services: [Inventory],
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: () => Effect.asVoid(Inventory),
  open: (config, context) =>
    Effect.gen(function*() {
      const inventory = yield* Inventory
      opened += 1
      const items = inventory.items().filter((i) => i.stock >= config.min_stock)
      let next = 0
      return {
        readBatch: (max: number) =>
          Effect.sync(() => {
            if (next >= items.length) return undefined
            const batch = items.slice(next, next + max)
            next += batch.length
            return Batch.make(batch, { origin: { source: context.node, position: next } })
          }),
        position: Effect.sync(() => next),
        seek: (p: Batch.Position) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
    })
})

/** Its typed spec: records of type Item, needing Inventory. */
const inventory = (config: { readonly min_stock: number }) => Spec.source<Item, never, Inventory>("inventory", config)

const registry = Registry.layer([...Builtins.definitions, InventorySource])
const items: ReadonlyArray<Item> = Array.from({ length: 30 }, (_, i) => ({ sku: `s${i}`, stock: i % 7 }))
const InventoryLive = Layer.succeed(Inventory, { items: () => items })

describe("connectors that need services", () => {
  it.effect("the service comes from where the pipeline runs; Pipeline.run requires it", () =>
    Effect.gen(function*() {
      const out = yield* Testing.collector<Item>()
      const p = Pipeline.from("stock", inventory({ min_stock: 3 })).filter("named", (i) => i.sku.length > 0).to("out", Spec.sink<Item>("collect", {}))
      const run = Pipeline.run(p)
      expectTypeOf(run).toEqualTypeOf<Effect.Effect<Runtime.RunSummary, Pipeline.RunError<ConnectorError>, Registry.Registry | Inventory>>()
      yield* run.pipe(
        Effect.provide(Overrides.layer(p, { out: out.sink })),
        Effect.provide(InventoryLive),
        Effect.provide(registry)
      )
      assert.deepStrictEqual(yield* out.records, items.filter((i) => i.stock >= 3))
      // never called: for the compiler only
      const compileOnly = () =>
        // @ts-expect-error: Inventory is not provided
        Effect.runPromise(Pipeline.run(p).pipe(Effect.provide(registry)))
      expectTypeOf(compileOnly).toBeFunction()
    }))

  it.effect("a run without the service is refused before any connector opens", () =>
    Effect.gen(function*() {
      opened = 0
      const out = yield* Testing.collector<Item>()
      const p = Pipeline.from("stock", inventory({ min_stock: 3 })).to("out", Spec.sink<Item>("collect", {}))
      // as a YAML graph would be: no types, so nothing makes the caller provide Inventory
      const untyped: WorkflowGraph = p
      const exit = yield* Effect.exit(Runtime.run(untyped).pipe(Effect.provide(Overrides.layer(p, { out: out.sink })), Effect.provide(registry)))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(error, DefinitionError)
      assert.include((error as DefinitionError).message, "the source type 'inventory' needs the service 'test/Inventory'")
      assert.strictEqual(opened, 0)
      assert.deepStrictEqual(yield* out.records, [])
    }))
})
