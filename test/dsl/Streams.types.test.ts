/**
 * Type-level tests of the Effect Stream interop and of the types that keep their promises,
 * checked by `tsc` (every `@ts-expect-error` line must really be an error, or the type check
 * fails): a source stream's `E` and `R` reach `Pipeline.run`; a pipeline without a sink runs
 * only as a stream; a missing service does not compile with `Pipeline.run`, `Runtime.run` or
 * `checkRestoreEquivalence`; an unknown override key does not compile.
 */
import { Context, Effect, Layer, Schema, Sink, Stream } from "effect"
import fc from "fast-check"
import { describe, expectTypeOf, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Streams from "../../dsl/Streams.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Overrides from "../../src/Overrides.ts"
import type { RestoreError } from "../../src/Checkpoint.ts"
import type { ConnectorError, DefinitionError, NodeError } from "../../src/Errors.ts"
import type { Registry, RegistryError } from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import type { SinkSpec } from "../../src/Spec.ts"
import type { StateBackendError } from "../../src/StateBackend.ts"
import { checkRestoreEquivalence } from "../../src/testing/RestoreEquivalence.ts"
import * as Testing from "../../src/testing/Testing.ts"
import type { WorkflowGraph } from "../../src/WorkflowGraph.ts"

interface Order {
  readonly id: number
  readonly amount: number
}

class Broken extends Schema.TaggedError<Broken>()("Broken", { reason: Schema.String }) {}
class Refused extends Schema.TaggedError<Refused>()("Refused", { id: Schema.Number }) {}
class Feed extends Context.Service<Feed, { readonly orders: Stream.Stream<Order> }>()("test/Feed") {}
class Db extends Context.Service<Db, { readonly insert: (orders: ReadonlyArray<Order>) => Effect.Effect<void, Refused> }>()(
  "test/Db"
) {}

const feed: Stream.Stream<Order, Broken, Feed> = Stream.unwrap(Effect.map(Feed, (f) => f.orders))
const toDb = (orders: ReadonlyArray<Order>) => Effect.flatMap(Db, (db) => db.insert(orders))

describe("Streams types", () => {
  it("a source stream's E and R, and a sink's, appear in Pipeline.run's type", () => {
    const p = Pipeline.from("orders", Streams.source(feed))
    expectTypeOf(p).toEqualTypeOf<Pipeline.Builder<"orders", Order, Broken, Feed>>()
    const done = p.filter("large", (o) => o.amount > 10).to("db", Streams.sink(toDb))
    expectTypeOf(done).toEqualTypeOf<Pipeline.Pipeline<"orders" | "large" | "db", Broken | Refused | ConnectorError, Feed | Db>>()
    expectTypeOf(Pipeline.run(done)).toEqualTypeOf<
      Effect.Effect<Runtime.RunSummary, Pipeline.RunError<Broken | Refused | ConnectorError>, Registry | Feed | Db>
    >()
    // Runtime.run keeps the services too
    expectTypeOf(Runtime.run(done)).toEqualTypeOf<
      Effect.Effect<Runtime.RunSummary, DefinitionError | NodeError | StateBackendError | RestoreError, Registry | Feed | Db>
    >()
  })

  it("an Effect Sink's input type is what the sink accepts", () => {
    const log = (o: Order) => Effect.log(o.id)
    const logged = Streams.sink(Sink.forEach(log))
    expectTypeOf(logged).toEqualTypeOf<SinkSpec<Order, never, never>>()
    Pipeline.from("orders", Streams.source(Stream.make({ id: 1, amount: 2 }))).to("log", logged)
    // @ts-expect-error: CompileError<"sink 'log' does not accept the records it reads: the records have no field 'amount'">
    Pipeline.from("ids", Streams.source(Stream.make({ id: 1 }))).to("log", logged)
  })

  it("the resumable form takes a factory from a position of its Schema's type", () => {
    const numbers = Streams.source(
      (from: number | undefined) => Stream.range(from ?? 0, 9).pipe(Stream.map((i) => [{ id: i }, i + 1] as const)),
      { position: Schema.Number }
    )
    expectTypeOf(Pipeline.from("n", numbers)).toEqualTypeOf<Pipeline.Builder<"n", { readonly id: number }, never, never>>()
    Streams.source(
      (from: number | undefined) => Stream.range(from ?? 0, 9).pipe(Stream.map((i) => [{ id: i }, i + 1] as const)),
      // @ts-expect-error: the Schema's positions are strings, the factory's numbers
      { position: Schema.String }
    )
  })

  it("a pipeline without a sink only runs as a stream", () => {
    const open = Pipeline.from("orders", Streams.source(feed)).filter("large", (o) => o.amount > 10)
    expectTypeOf(Pipeline.toStream(open)).toEqualTypeOf<Stream.Stream<Order, Pipeline.RunError<Broken>, Feed | Registry>>()
    // @ts-expect-error: a builder is not a pipeline: it has no sink
    Pipeline.run(open)
    // @ts-expect-error: nor is it a graph the runtime can run
    Runtime.run(open)
    const finished = open.to("out", Streams.sink(toDb))
    // @ts-expect-error: a finished pipeline has a sink: it runs, it is not streamed
    Pipeline.toStream(finished)
  })

  it("a Workflow node streams with its record type; the other nodes must be read", () => {
    const w = Workflow.make("shop")
      .source("web", Streams.source(feed))
      .source("store", Streams.source(Stream.make({ id: 1, amount: 3, store: "Berlin" })))
      .map("orders", ["web", "store"], (o) => ({ id: o.id, amount: o.amount }))
    expectTypeOf(Workflow.toStream(w, "orders")).toEqualTypeOf<
      Stream.Stream<{ id: number; amount: number }, Pipeline.RunError<Broken>, Feed | Registry>
    >()
    // @ts-expect-error: CompileError<"node 'orders' is not read by any node or sink">
    Workflow.toStream(w, "web")
  })

  it(".via applies a Stream transformation and adds its E and R", () => {
    const p = Pipeline.from("orders", Streams.source(Stream.fromIterable<Order>([])))
      .via("checked", (orders) => orders.pipe(Stream.mapEffect((o) => (o.amount < 0 ? Effect.fail(new Refused({ id: o.id })) : Effect.succeed(o)))))
      .via("tagged", (orders) => Stream.mapEffect(orders, (o) => Effect.map(Feed, () => ({ ...o, fed: true }))))
    expectTypeOf(p).toEqualTypeOf<
      Pipeline.Builder<"orders" | "checked" | "tagged", { fed: boolean; id: number; amount: number }, Refused, Feed>
    >()
  })

  it("a missing service does not compile", () => {
    const done = Pipeline.from("orders", Streams.source(feed)).to("db", Streams.sink(toDb))
    const program = Pipeline.run(done).pipe(Effect.provide(Builtins.layer), Effect.provideService(Feed, { orders: Stream.empty }))
    expectTypeOf(program).toEqualTypeOf<Effect.Effect<Runtime.RunSummary, Pipeline.RunError<Broken | Refused | ConnectorError> | RegistryError, Db>>()
    // never called: these lines are for the compiler only
    const compileOnly = () => {
      // @ts-expect-error: Db is not provided
      Effect.runPromise(program)
      // @ts-expect-error: Runtime.run needs it as much
      Effect.runPromise(Runtime.run(done).pipe(Effect.provide(Builtins.layer), Effect.provideService(Feed, { orders: Stream.empty })))
      // checkRestoreEquivalence wants a Layer of the services
      const registry = Builtins.layer
      // @ts-expect-error: services missing
      void checkRestoreEquivalence({ graph: done, registry, inputs: { orders: fc.array(fc.constant({})) } })
      void checkRestoreEquivalence({
        // @ts-expect-error: the services given are a Layer of Feed only, the graph needs Db too
        graph: done,
        registry,
        inputs: { orders: fc.array(fc.constant({})) },
        services: Layer.succeed(Feed, { orders: Stream.empty })
      })
      void checkRestoreEquivalence({
        graph: done,
        registry,
        inputs: { orders: fc.array(fc.constant({})) },
        services: Layer.mergeAll(Layer.succeed(Feed, { orders: Stream.empty }), Layer.succeed(Db, { insert: () => Effect.void }))
      })
      // a graph without user services needs none
      const plain: WorkflowGraph = done
      expectTypeOf(Runtime.run(plain)).toEqualTypeOf<Effect.Effect<Runtime.RunSummary, DefinitionError | NodeError | StateBackendError | RestoreError, Registry>>()
      void checkRestoreEquivalence({ graph: plain, registry, inputs: {} })
    }
    expectTypeOf(compileOnly).toBeFunction()
  })

  it("an unknown override key does not compile", async () => {
    const done = Pipeline.from("orders", Streams.source(feed)).to("db", Streams.sink(toDb))
    const out = await Effect.runPromise(Testing.collector())
    Overrides.layer(done, { orders: Testing.memorySource([]), db: out.sink })
    // @ts-expect-error: 'ordrs' is not a node of the pipeline
    Overrides.layer(done, { ordrs: Testing.memorySource([]) })
  })
})

describe("Pipeline.overrides", () => {
  it("checks the keys against a pipeline being built or finished", async () => {
    const open = Pipeline.from("orders", Streams.source(feed)).filter("large", (o) => o.amount > 10)
    const out = await Effect.runPromise(Testing.collector())
    Pipeline.overrides(open, { orders: Testing.memorySource([]) })
    // @ts-expect-error: 'ordres' is not a node of the pipeline
    Pipeline.overrides(open, { ordres: Testing.memorySource([]) })
    Pipeline.overrides(open.to("out", Streams.sink(toDb)), { out: out.sink })
  })
})

describe("Workflow.overrides", () => {
  it("checks the keys against a workflow being built", async () => {
    const w = Workflow.make("shop").source("web", Streams.source(feed)).map("ids", ["web"], (o) => o.id)
    Workflow.overrides(w, { web: Testing.memorySource([]) })
    // @ts-expect-error: 'wbe' is not a node of the workflow
    Workflow.overrides(w, { wbe: Testing.memorySource([]) })
    const built = w.sink("out", ["ids"], Streams.sink((_: ReadonlyArray<number>) => Effect.void)).build()
    Workflow.overrides(built, { out: Testing.memorySource([]) })
    // @ts-expect-error: 'ot' is not a node of the built workflow
    Workflow.overrides(built, { ot: Testing.memorySource([]) })
  })
})
