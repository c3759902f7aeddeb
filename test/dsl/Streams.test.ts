/**
 * Effect Streams in and out: `Streams.source` (plain and resumable), `Streams.sink` (an Effect
 * Sink and a function per batch), `.via` with a Stream transformation, and their errors, run
 * through `Pipeline.run` / `Workflow.run` with the built-in registry.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Schema, Sink, Stream } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Streams from "../../dsl/Streams.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Batch from "../../src/Batch.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import { DefinitionError, NodeError } from "../../src/Errors.ts"
import type { PreparedSink, PreparedSource } from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import * as StateBackend from "../../src/StateBackend.ts"
import * as Testing from "../../src/testing/Testing.ts"
import * as Overrides from "../../src/Overrides.ts"

interface Order {
  readonly id: number
  readonly amount: number
}

const orders: ReadonlyArray<Order> = Array.from({ length: 250 }, (_, i) => ({ id: i, amount: (i * 37) % 100 }))

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { at: Schema.Number }) {}
class Prefix extends Context.Service<Prefix, { readonly value: string }>()("test/Prefix") {}

/** The NodeError a failed run ended with. */
const nodeError = <A, E>(exit: Exit.Exit<A, E>): NodeError => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  assert.instanceOf(error, NodeError)
  return error as NodeError
}

describe("Streams.source", () => {
  it.effect("any Stream is a source: its elements are the records", () =>
    Effect.gen(function*() {
      const out = yield* Testing.collector<Order>()
      const pipeline = Pipeline.from("orders", Streams.source(Stream.fromIterable(orders)))
        .execution({ batch_size: 16 })
        .filter("large", (o) => o.amount >= 50)
        .to("out", Streams.sink((_: ReadonlyArray<Order>) => Effect.void))
      yield* Pipeline.run(pipeline).pipe(
        Effect.provide(Overrides.layer(pipeline, { out: out.sink })),
        Effect.provide(Builtins.layer)
      )
      assert.deepStrictEqual(yield* out.records, orders.filter((o) => o.amount >= 50))
    }))

  it.effect("the stream's services come from where the pipeline runs, its failure is the node's", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const stream = Stream.fromIterable(orders).pipe(
        Stream.mapEffect((o) => Effect.map(Prefix, (p) => ({ ...o, tag: `${p.value}${o.id}` }))),
        Stream.mapEffect((o) => (o.id === 120 ? Effect.fail(new Flaky({ at: o.id })) : Effect.succeed(o)))
      )
      const pipeline = Pipeline.from("orders", Streams.source(stream))
        .execution({ batch_size: 10 })
        .to("out", Streams.sink((records: ReadonlyArray<{ readonly tag: string }>) => Effect.sync(() => seen.push(...records.map((r) => r.tag)))))
      const exit = yield* Effect.exit(Pipeline.run(pipeline).pipe(
        Effect.provideService(Prefix, { value: "o-" }),
        Effect.provide(Builtins.layer)
      ))
      const error = nodeError(exit)
      assert.strictEqual(error.node, "orders")
      assert.instanceOf(error.cause, Flaky)
      assert.strictEqual((error.cause as Flaky).at, 120)
      // everything before the failure went through, nothing after it
      assert.isAtMost(seen.length, 120)
      assert.deepStrictEqual(seen, orders.slice(0, seen.length).map((o) => `o-${o.id}`))
    }))

  it.live("a resumable stream restarts from the last checkpoint after a failure: every record once", () =>
    Effect.gen(function*() {
      const starts: Array<number | undefined> = []
      const checkpointed = yield* Deferred.make<void>()
      let failed = false
      // the stream fails once at record 180, after a checkpoint has completed
      const source = Streams.source((from: number | undefined) => {
        starts.push(from)
        return Stream.range(from ?? 0, orders.length - 1).pipe(
          Stream.mapEffect((i) =>
            i === 180 && !failed
              ? Deferred.await(checkpointed).pipe(
                Effect.andThen(Effect.sync(() => void (failed = true))),
                Effect.andThen(Effect.fail(new Flaky({ at: i })))
              )
              : Effect.succeed([orders[i], i + 1] as const)
          )
        )
      }, { position: Schema.Number })
      let handle: Runtime.RunHandle | undefined
      let written = 0
      const collected: Array<Order> = []
      const pipeline = Pipeline.from("orders", source)
        .named("resumable-stream")
        .execution({ batch_size: 10, restart_strategy: { type: "fixed-delay", attempts: 3, delay: "1ms" } })
        .to("out", Streams.sink((records: ReadonlyArray<Order>) =>
          Effect.gen(function*() {
            collected.push(...records)
            written += records.length
            // a checkpoint once 100 records are written (in the background: it waits for this write)
            if (written >= 100 && handle !== undefined && !(yield* Deferred.isDone(checkpointed)) && !failed) {
              const h = handle
              handle = undefined
              yield* Effect.forkDetach(Effect.andThen(h.checkpoint, Deferred.succeed(checkpointed, undefined)))
            }
          })
        ))
      const summary = yield* Pipeline.run(pipeline, { onStart: (h) => Effect.sync(() => void (handle = h)) }).pipe(
        Effect.provideService(StateBackend.StateBackend, StateBackend.makeMemory()),
        Effect.provide(Builtins.layer)
      )
      assert.strictEqual(summary.restarts, 1)
      // at-least-once sink: every record arrived, the ones after the checkpoint maybe twice
      assert.deepStrictEqual([...new Set(collected.map((o) => o.id))].sort((a, b) => a - b), orders.map((o) => o.id))
      // the restart resumed from the checkpointed position, not from the start
      assert.strictEqual(starts.length, 2)
      assert.strictEqual(starts[0], undefined)
      assert.isAtLeast(starts[1] ?? 0, 100)
      assert.isAtMost(starts[1] ?? 0, 180)
    }))
})

/** A prepared source of `count` records `{ id }` (`count` undefined: endless), counting reads and closes. */
const countingSource = (state: { read: number; opened: number; closed: number }, count?: number): PreparedSource => ({
  _tag: "PreparedSource",
  type: "counting",
  capabilities: { seekable: true, unbounded: count === undefined },
  check: Effect.void,
  open: () =>
    Effect.gen(function*() {
      state.opened += 1
      yield* Effect.addFinalizer(() => Effect.sync(() => void (state.closed += 1)))
      let next = 0
      return {
        readBatch: (max: number) =>
          Effect.sync(() => {
            if (count !== undefined && next >= count) return undefined
            const n = count === undefined ? max : Math.min(max, count - next)
            const records = Array.from({ length: n }, (_, i) => ({ id: next + i, amount: (next + i) % 100 }))
            next += n
            state.read += n
            return Batch.make(records, { origin: { source: "src", position: next } })
          }),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
    })
})

const SLOW_BATCH = 20
const SLOW_CAPACITY = 2

/** A pipeline with no sink yet reading the (overridden) source `src` through a filter chained into it. */
const countingPipeline = () =>
  Pipeline.from("src", Memory.source({ records: [] as Array<{ id: number; amount: number }> }))
    .execution({ batch_size: SLOW_BATCH, queue_capacity: SLOW_CAPACITY })
    .filter("all", (r) => r.id >= 0)

/**
 * A slow consumer (1 ms a chunk) of what a source has `read`: what it has taken, and the most
 * records read but not yet taken it saw.
 */
const slowConsumer = (source: { readonly read: number }) => {
  let taken = 0
  let maxInFlight = 0
  return {
    take: (n: number) =>
      Effect.andThen(Effect.sleep(1), Effect.sync(() => {
        maxInFlight = Math.max(maxInFlight, source.read - taken)
        taken += n
      })),
    taken: () => taken,
    maxInFlight: () => maxInFlight
  }
}

/**
 * `measure(count)` (the most records in flight for an input of `count`) for 1 000 and 10 000
 * records: both stay under one channel (the filter is chained into the source), two tasks, the
 * queue of one batch before the consumer and the batch it holds; the larger run does fill them.
 */
const assertInFlightBounded = (measure: (count: number) => Effect.Effect<number, unknown>) =>
  Effect.gen(function*() {
    const bound = (1 * SLOW_CAPACITY + 2 + 2) * SLOW_BATCH
    const small = yield* measure(1_000)
    const large = yield* measure(10_000)
    assert.isAtMost(small, bound)
    assert.isAtMost(large, bound)
    assert.isAbove(large, 2 * SLOW_BATCH)
  })

describe("Streams.sink", () => {
  it.effect("an Effect Sink gets every record in order", () =>
    Effect.gen(function*() {
      const got: Array<Order> = []
      const pipeline = Pipeline.from("orders", Streams.source(Stream.fromIterable(orders)))
        .execution({ batch_size: 16 })
        .map("doubled", (o) => ({ ...o, amount: o.amount * 2 }))
        .to("out", Streams.sink(Sink.forEachArray((chunk: ReadonlyArray<Order>) => Effect.sync(() => got.push(...chunk)))))
      yield* Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual(got, orders.map((o) => ({ ...o, amount: o.amount * 2 })))
    }))

  it.live("a slow Effect Sink slows the source: records in flight stay bounded, whatever the input size", () =>
    assertInFlightBounded((count) =>
      Effect.gen(function*() {
        const state = { read: 0, opened: 0, closed: 0 }
        const consumer = slowConsumer(state)
        const pipeline = countingPipeline().to(
          "out",
          Streams.sink(Sink.forEachArray((chunk: ReadonlyArray<{ id: number }>) => consumer.take(chunk.length)))
        )
        yield* Pipeline.run(pipeline).pipe(
          Effect.provide(Overrides.layer(pipeline, { src: countingSource(state, count) })),
          Effect.provide(Builtins.layer)
        )
        assert.strictEqual(consumer.taken(), count)
        return consumer.maxInFlight()
      })
    ))

  it.effect("a sink that stops reading while records keep coming fails the node instead of dropping them", () =>
    Effect.gen(function*() {
      const pipeline = Pipeline.from("orders", Streams.source(Stream.fromIterable(orders)))
        .execution({ batch_size: 16 })
        .to("first", Streams.sink(Sink.take<Order>(5)))
      const error = nodeError(yield* Effect.exit(Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer))))
      assert.strictEqual(error.node, "first")
      assert.include(String(error.message), "stopped reading after 5 of")
    }))

  it.effect("the function form: the runtime waits on each write, flushes at the end, its failure is the node's", () =>
    Effect.gen(function*() {
      const batches: Array<number> = []
      let flushes = 0
      const ok = Pipeline.from("orders", Streams.source(Stream.fromIterable(orders)))
        .execution({ batch_size: 16 })
        .to("out", Streams.sink((records: ReadonlyArray<Order>) => Effect.sync(() => batches.push(records.length)), {
          flush: Effect.sync(() => void (flushes += 1))
        }))
      yield* Pipeline.run(ok).pipe(Effect.provide(Builtins.layer))
      assert.strictEqual(batches.reduce((a, b) => a + b, 0), orders.length)
      assert.isAtLeast(flushes, 1)
      const failing = Pipeline.from("orders", Streams.source(Stream.fromIterable(orders)))
        .to("out", Streams.sink((records: ReadonlyArray<Order>) => records.some((o) => o.id === 99) ? Effect.fail(new Flaky({ at: 99 })) : Effect.void))
      const error = nodeError(yield* Effect.exit(Pipeline.run(failing).pipe(Effect.provide(Builtins.layer))))
      assert.strictEqual(error.node, "out")
      assert.instanceOf(error.cause, Flaky)
    }))
})

describe("Pipeline.toStream", () => {
  it.effect("a pipeline without a sink runs as a Stream of its output records", () =>
    Effect.gen(function*() {
      const open = Pipeline.from("orders", Streams.source(Stream.fromIterable(orders)))
        .execution({ batch_size: 16 })
        .filter("large", "amount >= 50")
        .map("ids", (o) => o.id)
      const ids = yield* Pipeline.toStream(open).pipe(Stream.runCollect, Effect.provide(Builtins.layer))
      assert.deepStrictEqual(ids, orders.filter((o) => o.amount >= 50).map((o) => o.id))
    }))

  it.live("a slow consumer slows the source: records in flight stay bounded, whatever the input size", () =>
    assertInFlightBounded((count) =>
      Effect.gen(function*() {
        const state = { read: 0, opened: 0, closed: 0 }
        const consumer = slowConsumer(state)
        yield* Pipeline.toStream(countingPipeline()).pipe(
          Stream.runForEachArray((chunk) => consumer.take(chunk.length)),
          Effect.provide(Overrides.layer({ src: countingSource(state, count) })),
          Effect.provide(Builtins.layer)
        )
        assert.strictEqual(consumer.taken(), count)
        return consumer.maxInFlight()
      })
    ))

  it.live("a consumer that stops ends the run: every connector is closed", () =>
    Effect.gen(function*() {
      const web = { read: 0, opened: 0, closed: 0 }
      const store = { read: 0, opened: 0, closed: 0 }
      let auditOpened = 0
      let auditClosed = 0
      const audit: PreparedSink = {
        _tag: "PreparedSink",
        type: "audit",
        capabilities: { guarantee: "at-least-once", transactional: false },
        check: Effect.void,
        open: () =>
          Effect.gen(function*() {
            auditOpened += 1
            yield* Effect.addFinalizer(() => Effect.sync(() => void (auditClosed += 1)))
            return { writeBatch: (b: Batch.Batch<unknown>) => Effect.succeed({ written: Batch.size(b) }), flush: Effect.void }
          })
      }
      // two endless sources, a fan-in, and a sink of the workflow's own beside the stream
      const w = Workflow.make("endless", { execution: { batch_size: 8 } })
        .source("web", Memory.source({ records: [] as Array<{ id: number; amount: number }> }))
        .source("store", Memory.source({ records: [] as Array<{ id: number; amount: number }> }))
        .map("orders", ["web", "store"], (o) => ({ id: o.id }))
        .sink("audit", ["orders"], Memory.sink())
      const first = yield* Workflow.toStream(w, "orders").pipe(
        Stream.take(25),
        Stream.runCollect,
        Effect.provide(Overrides.layer({ web: countingSource(web), store: countingSource(store), audit })),
        Effect.provide(Builtins.layer)
      )
      assert.strictEqual(first.length, 25)
      assert.deepStrictEqual([web.opened, web.closed, store.opened, store.closed], [1, 1, 1, 1])
      assert.deepStrictEqual([auditOpened, auditClosed], [1, 1])
    }))

  it.live("interrupting the consumer's fiber stops the run: every connector is closed", () =>
    Effect.gen(function*() {
      const state = { read: 0, opened: 0, closed: 0 }
      let pulled = 0
      const open = Pipeline.from("src", Memory.source({ records: [] as Array<{ id: number; amount: number }> }))
        .execution({ batch_size: 8 })
        .filter("all", (r) => r.id >= 0)
      const consumer = yield* Effect.forkChild(
        Pipeline.toStream(open).pipe(
          Stream.runForEach(() => Effect.sync(() => void (pulled += 1))),
          Effect.provide(Overrides.layer({ src: countingSource(state) })),
          Effect.provide(Builtins.layer)
        )
      )
      // the endless source is being read and the consumer pulls
      yield* Effect.sleep(5).pipe(Effect.repeat({ until: () => pulled >= 100 }))
      yield* Fiber.interrupt(consumer)
      assert.deepStrictEqual([state.opened, state.closed], [1, 1])
      // nothing reads any more once the interruption has completed
      const read = state.read
      yield* Effect.sleep(50)
      assert.strictEqual(state.read, read)
    }))

  it.live("checkpoints work: the consumer is an at-least-once sink, a new run resumes after what it pulled", () =>
    Effect.gen(function*() {
      const backend = StateBackend.makeMemory()
      const state = { read: 0, opened: 0, closed: 0 }
      const open = Pipeline.from("src", Memory.source({ records: [] as Array<{ id: number; amount: number }> }))
        .named("checkpointed-stream")
        .execution({ batch_size: 10 })
        .map("ids", (o) => o.id)
      const run = (take: (handle: Runtime.RunHandle) => (ids: Array<number>) => Effect.Effect<boolean>) =>
        Effect.gen(function*() {
          const ids: Array<number> = []
          let handle: Runtime.RunHandle | undefined
          yield* Pipeline.toStream(open, { onStart: (h) => Effect.sync(() => void (handle = h)) }).pipe(
            Stream.runForEachWhile((id) => Effect.suspend(() => {
              ids.push(id)
              return take(handle!)(ids)
            })),
            Effect.provide(Overrides.layer({ src: countingSource(state, 500) })),
            Effect.provideService(StateBackend.StateBackend, backend),
            Effect.provide(Builtins.layer)
          )
          return ids
        })
      // the first consumer takes a checkpoint after 100 records (in the background: the
      // checkpoint waits until the consumer has pulled every record before its barrier), then
      // stops 50 records later
      let checkpointed = false
      const first = yield* run((handle) => (ids) =>
        Effect.gen(function*() {
          if (ids.length === 100) yield* Effect.forkDetach(Effect.andThen(handle.checkpoint, Effect.sync(() => void (checkpointed = true))))
          if (ids.length >= 150 && !checkpointed) yield* Effect.sleep(1)
          return !(ids.length >= 150 && checkpointed)
        })
      )
      assert.isTrue(checkpointed)
      const second = yield* run(() => () => Effect.succeed(true))
      // nothing lost: every record was pulled by one of the consumers
      assert.deepStrictEqual([...new Set([...first, ...second])].sort((a, b) => a - b), Array.from({ length: 500 }, (_, i) => i))
      // the second run resumed from the checkpoint: it did not start over
      assert.isAbove(second[0], 0)
      assert.isAtMost(second[0], first.length)
    }))
})

describe("Pipeline.overrides", () => {
  it.effect("a pipeline consumed as a Stream runs with its connectors swapped, by checked ids", () =>
    Effect.gen(function*() {
      // in production, the orders come from the app's feed
      const open = Pipeline.from("orders", Streams.source<Order>(Stream.die("the production feed, not in a test")))
        .filter("large", (o) => o.amount >= 50)
      const large = yield* Pipeline.toStream(open).pipe(
        Stream.runCollect,
        Effect.provide(Pipeline.overrides(open, { orders: Testing.memorySource(orders) })),
        Effect.provide(Builtins.layer)
      )
      assert.deepStrictEqual(large, orders.filter((o) => o.amount >= 50))
    }))
})

describe(".via with a Stream transformation", () => {
  it.effect("applies the transformation to every batch, keeping positions", () =>
    Effect.gen(function*() {
      const pipeline = Pipeline.from("orders", Streams.source(Stream.fromIterable(orders)))
        .execution({ batch_size: 16 })
        .via("cents", (s) => s.pipe(Stream.filter((o) => o.amount % 2 === 0), Stream.map((o) => ({ id: o.id, cents: o.amount * 100 }))))
      const out = yield* Pipeline.toStream(pipeline).pipe(Stream.runCollect, Effect.provide(Builtins.layer))
      assert.deepStrictEqual(out, orders.filter((o) => o.amount % 2 === 0).map((o) => ({ id: o.id, cents: o.amount * 100 })))
    }))
})

describe("Streams: what cannot be done is refused", () => {
  it.live("a plain stream is not restored past its start: the run fails naming the node and the way out", () =>
    Effect.gen(function*() {
      const checkpointed = yield* Deferred.make<void>()
      let handle: Runtime.RunHandle | undefined
      let written = 0
      let failed = false
      // record 150 waits until a checkpoint (taken once 100 records are written) has completed
      const stream = Stream.fromIterable(orders).pipe(
        Stream.mapEffect((o) => (o.id === 150 ? Effect.as(Deferred.await(checkpointed), o) : Effect.succeed(o)))
      )
      const pipeline = Pipeline.from("events", Streams.source(stream))
        .named("plain-stream-restore")
        .execution({ batch_size: 10, restart_strategy: { type: "fixed-delay", attempts: 3, delay: "1ms" } })
        .to("out", Streams.sink((records: ReadonlyArray<Order>) =>
          Effect.gen(function*() {
            written += records.length
            if (written >= 100 && handle !== undefined) {
              const h = handle
              handle = undefined
              yield* Effect.forkDetach(Effect.andThen(h.checkpoint, Deferred.succeed(checkpointed, undefined)))
            }
            // a failure after the checkpoint: the restart would have to resume the stream past record 100
            if ((yield* Deferred.isDone(checkpointed)) && !failed) {
              failed = true
              return yield* new Flaky({ at: written })
            }
          })
        ))
      const error = nodeError(yield* Effect.exit(Pipeline.run(pipeline, { onStart: (h) => Effect.sync(() => void (handle = h)) }).pipe(
        Effect.provideService(StateBackend.StateBackend, StateBackend.makeMemory()),
        Effect.provide(Builtins.layer)
      )))
      assert.strictEqual(error.node, "events")
      assert.include(error.message, "is a plain Effect Stream: it cannot be replayed from record")
      assert.include(error.message, "--from-scratch")
    }))

  it.effect("a stream source runs with parallelism 1: an explicit 2 is refused before anything runs, the workflow's default does not apply", () =>
    Effect.gen(function*() {
      const explicit = Pipeline.from("events", Streams.source(Stream.fromIterable(orders)), { parallelism: 2 })
        .to("out", Streams.sink((_: ReadonlyArray<Order>) => Effect.void))
      const error = yield* Effect.flip(Pipeline.run(explicit).pipe(Effect.provide(Builtins.layer)))
      assert.instanceOf(error, DefinitionError)
      assert.include(error.message, "events")
      assert.include(error.message, "parallelism")
      // execution.parallelism: 2 applies to the other nodes only: every record once
      const got: Array<Order> = []
      const defaulted = Pipeline.from("events", Streams.source(Stream.fromIterable(orders)))
        .execution({ parallelism: 2 })
        .to("out", Streams.sink((records: ReadonlyArray<Order>) => Effect.sync(() => void got.push(...records))))
      yield* Pipeline.run(defaulted).pipe(Effect.provide(Builtins.layer))
      assert.deepStrictEqual([...got].sort((x, y) => x.id - y.id), orders)
    }))

  it.effect("a Sink that fails when its input ends fails the run", () =>
    Effect.gen(function*() {
      const failsAtEnd = Sink.fold(
        () => 0,
        () => true,
        (n: number, _: Order) => Effect.succeed(n + 1)
      ).pipe(Sink.mapEffect((n) => Effect.fail(new Flaky({ at: n }))))
      const pipeline = Pipeline.from("events", Streams.source(Stream.fromIterable(orders))).to("out", Streams.sink(failsAtEnd))
      const exit = yield* Effect.exit(Pipeline.run(pipeline).pipe(Effect.provide(Builtins.layer)))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(error, NodeError)
      assert.strictEqual((error as NodeError).node, "out")
      assert.instanceOf((error as NodeError).cause, Flaky)
      assert.strictEqual(((error as NodeError).cause as Flaky).at, orders.length)
    }))
})

describe("the stream connectors from YAML", () => {
  it.effect("a YAML workflow cannot write a stream source or sink: one message each, saying how they are made", () =>
    Effect.gen(function*() {
      const text = `name: y
sources:
  s: { type: stream, config: {} }
destinations:
  o: { type: stream, inputs: [s], config: { flush: 1 } }
`
      const error = yield* Effect.flip(Yaml.parse(text, { file: "y.yaml", env: {} }).pipe(Effect.flatMap(Runtime.prepare), Effect.provide(Builtins.layer)))
      assert.instanceOf(error, DefinitionError)
      assert.deepStrictEqual(error.issues.map((i) => `${i.path}: ${i.message}`), [
        "sources.s.config: a stream source is made by Streams.source of dataflare/dsl: `stream` (an Effect Stream), or `from` with `position`; YAML cannot write one",
        "destinations.o.config.flush: Expected an Effect"
      ])
    }))
})
