/**
 * Run-time behaviour of the DSL's error handlers: `.retry(schedule)` runs a failing user step
 * again, `.catchTag(tag, handler)` replaces the records of a batch that failed with that tag,
 * another error still fails the run naming the node, and a handler after a step without a user
 * function is refused.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schedule, Schema, Stream } from "effect"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Workflow from "../../dsl/Workflow.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as Memory from "../../src/connectors/memory/index.ts"
import { DefinitionError, NodeError } from "../../src/Errors.ts"
import type { Registry } from "../../src/Registry.ts"

interface Order {
  readonly id: number
  readonly amount: number
}

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { attempt: Schema.Number }) {}
class Invalid extends Schema.TaggedError<Invalid>()("Invalid", { id: Schema.Number }) {}

const orders: ReadonlyArray<Order> = [{ id: 1, amount: 10 }, { id: 2, amount: 20 }, { id: 3, amount: 30 }]

const collect = <A, E, R, L>(builder: Pipeline.Builder<string, A, E, R, L>) =>
  Pipeline.toStream(builder).pipe(Stream.runCollect, Effect.map((records) => Array.from(records)), Effect.provide(Builtins.layer))

const failedNode = <A, E>(exit: Exit.Exit<A, E>): NodeError => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  assert.instanceOf(error, NodeError)
  return error as NodeError
}

describe("Pipeline error handlers", () => {
  it.effect("retry: a processor failing twice then succeeding delivers every record once", () =>
    Effect.gen(function*() {
      let attempts = 0
      const p = Pipeline.from("orders", Memory.source({ records: orders }))
        .execution({ batch_size: 10 })
        .process("enrich", (records) =>
          Effect.suspend(() => {
            attempts += 1
            return attempts <= 2 ? Effect.fail(new Flaky({ attempt: attempts })) : Effect.succeed(records.map((r) => ({ ...r, ok: true })))
          }))
        .retry(Schedule.recurs(3))
      const out = yield* collect(p)
      assert.strictEqual(attempts, 3)
      assert.deepStrictEqual(out, orders.map((r) => ({ ...r, ok: true })))
    }))

  it.effect("retry: an error left when the schedule gives up still fails the run, naming the node", () =>
    Effect.gen(function*() {
      let attempts = 0
      const p = Pipeline.from("orders", Memory.source({ records: orders }))
        .process("enrich", (_records: ReadonlyArray<Order>) => Effect.suspend(() => Effect.fail(new Flaky({ attempt: ++attempts }))))
        .retry(Schedule.recurs(2))
      const error = failedNode(yield* Effect.exit(collect(p)))
      assert.strictEqual(error.node, "enrich")
      assert.strictEqual(attempts, 3)
    }))

  it.effect("retry of a via stream: the batch's stream runs again", () =>
    Effect.gen(function*() {
      let attempts = 0
      const p = Pipeline.from("orders", Memory.source({ records: orders }))
        .execution({ batch_size: 10 })
        .via("checked", (records) =>
          Stream.mapEffect(records, (r) => Effect.suspend(() => (r.id === 2 && ++attempts < 2 ? Effect.fail(new Flaky({ attempt: attempts })) : Effect.succeed(r)))))
        .retry(Schedule.recurs(1))
      const out = yield* collect(p)
      assert.deepStrictEqual(out, orders)
    }))

  it.effect("catchTag: the handler's records replace the failed batch; another tag still fails", () =>
    Effect.gen(function*() {
      const validate = (records: ReadonlyArray<Order>) =>
        Effect.suspend(() => {
          const bad = records.find((r) => r.amount > 25)
          return bad !== undefined ? Effect.fail(new Invalid({ id: bad.id })) : Effect.succeed(records)
        })
      const p = Pipeline.from("orders", Memory.source({ records: orders }))
        .execution({ batch_size: 10 })
        .process("validate", validate)
        .catchTag("Invalid", (e) => [{ id: e.id, amount: 0 }])
      assert.deepStrictEqual(yield* collect(p), [{ id: 3, amount: 0 }])

      const effectful = Pipeline.from("orders", Memory.source({ records: orders }))
        .execution({ batch_size: 1 })
        .process("validate", validate)
        .catchTag("Invalid", () => Effect.succeed([]))
      assert.deepStrictEqual(yield* collect(effectful), orders.slice(0, 2))

      const other = Pipeline.from("orders", Memory.source({ records: orders }))
        .process("validate", (_records: ReadonlyArray<Order>) => Effect.fail<Flaky | Invalid>(new Flaky({ attempt: 1 })))
        .catchTag("Invalid", () => [])
      const error = failedNode(yield* Effect.exit(collect(other)))
      assert.strictEqual(error.node, "validate")
    }))

  it("a handler after a step without a user function is refused with a DefinitionError", () => {
    const p = Pipeline.from("orders", Memory.source({ records: orders })).process("checked", (rs) => Effect.succeed(rs))
    const untyped = p.filter("big", "amount > 10") as unknown as { retry: (s: Schedule.Schedule<unknown, unknown>) => unknown }
    assert.throws(() => untyped.retry(Schedule.recurs(1)), DefinitionError)
  })

  it("restartOnFailure sets the graph's restart strategy", () => {
    const p = Pipeline.from("orders", Memory.source({ records: orders })).to("out", Memory.sink())
    const restarted = Pipeline.restartOnFailure(p, { type: "fixed-delay", attempts: 3, delay: "1s" })
    assert.deepStrictEqual(restarted.execution.restart_strategy, { type: "fixed-delay", attempts: 3, delay: "1s" })
    assert.deepStrictEqual(restarted.nodes, p.nodes)
  })
})

describe("Workflow error handlers", () => {
  const collectStream = <A, E>(stream: Stream.Stream<A, E, Registry>) =>
    stream.pipe(Stream.runCollect, Effect.map((records) => Array.from(records)), Effect.provide(Builtins.layer))

  it.effect("retry and catchTag act on the node declared last", () =>
    Effect.gen(function*() {
      let attempts = 0
      const flaky = Workflow.make("w", { execution: { batch_size: 10 } })
        .source("orders", Memory.source({ records: orders }))
        .process("enrich", ["orders"], (records) =>
          Effect.suspend(() => (++attempts <= 2 ? Effect.fail(new Flaky({ attempt: attempts })) : Effect.succeed(records.map((r) => ({ ...r, ok: true }))))))
        .retry(Schedule.recurs(3))
      assert.deepStrictEqual(yield* collectStream(Workflow.toStream(flaky, "enrich")), orders.map((r) => ({ ...r, ok: true })))
      assert.strictEqual(attempts, 3)

      const validated = Workflow.make("w", { execution: { batch_size: 10 } })
        .source("orders", Memory.source({ records: orders }))
        .process("validate", ["orders"], (records) =>
          Effect.suspend(() => {
            const bad = records.find((r) => r.amount > 25)
            return bad !== undefined ? Effect.fail(new Invalid({ id: bad.id })) : Effect.succeed(records)
          }))
        .catchTag("Invalid", (e) => [{ id: e.id, amount: 0 }])
      assert.deepStrictEqual(yield* collectStream(Workflow.toStream(validated, "validate")), [{ id: 3, amount: 0 }])
    }))

  it("a handler after a node without a user function is refused with a DefinitionError", () => {
    const w = Workflow.make("w").source("orders", Memory.source({ records: orders })).map("m", ["orders"], (r) => r)
    const untyped = w as unknown as { retry: (s: Schedule.Schedule<unknown, unknown>) => unknown }
    assert.throws(() => untyped.retry(Schedule.recurs(1)), DefinitionError)
  })
})
