/**
 * The coordinator when sinks end close together: a sink that ends while a checkpoint is in flight
 * pre-commits it before it counts as ended, so that checkpoint cannot complete, nor the final
 * one start, while that pre-commit runs — a sink's pre-commits never overlap (a postgres sink
 * marks each epoch once; two at once failed with a duplicate key on the marks table), and the
 * final checkpoint is taken once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { NodeError } from "../../src/Errors.ts"
import { makeCoordinator } from "../../src/internal/coordinator.ts"

describe("coordinator: sinks ending while a checkpoint is in flight", () => {
  it.effect("the slow sink's pre-commit of the pending checkpoint ends before that checkpoint completes and before the final one", () =>
    Effect.gen(function*() {
      const c = makeCoordinator({
        workflow: "sink-ends",
        participants: { sources: ["s/0"], operators: [], sinks: ["x/0", "y/0"] },
        backend: undefined,
        restoredId: 0,
        fullEvery: 10,
        nodes: []
      })
      const calls: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const slow = (id: number) =>
        Effect.gen(function*() {
          calls.push(`x start ${id}`)
          if (id === 1) yield* Deferred.await(gate)
          calls.push(`x end ${id}`)
        })
      const fast = (id: number) => Effect.sync(() => void calls.push(`y ${id}`))

      const pending = yield* c.trigger
      assert.isDefined(pending)
      yield* c.sourcePosition("s", 0, 1, 5, undefined)
      yield* c.sourceEnded("s", 0, 10, undefined)
      // x ends with checkpoint 1 in flight and is slow to pre-commit it; y ends meanwhile
      const x = yield* Effect.forkChild(c.sinkEnded("x", 0, slow))
      yield* Effect.yieldNow
      yield* c.sinkEnded("y", 0, fast)
      assert.strictEqual(c.lastCompleted(), 0, "checkpoint 1 waits for x's pre-commit")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(x)
      assert.strictEqual(yield* Deferred.await(c.final), 2)
      assert.deepStrictEqual(calls, ["x start 1", "y 1", "x end 1", "y 2", "x start 2", "x end 2"])
    }))

  it.effect("a sink whose pre-commit of the pending checkpoint fails on ending fails that checkpoint and the run at once, naming the sink", () =>
    Effect.gen(function*() {
      const c = makeCoordinator({
        workflow: "sink-ends-failing",
        participants: { sources: ["s/0"], operators: [], sinks: ["x/0"] },
        backend: undefined,
        restoredId: 0,
        fullEvery: 10,
        nodes: []
      })
      const done = yield* c.trigger
      assert.isDefined(done)
      yield* c.sourcePosition("s", 0, 1, 5, undefined)
      const ended = yield* Effect.exit(c.sinkEnded("x", 0, () => Effect.fail("disk full")))
      assert.isTrue(Exit.isFailure(ended))
      // whoever waits for checkpoint 1 or for the run's end learns now, not when the run is torn down
      const pending = yield* Effect.exit(Deferred.await(done!))
      const final = yield* Effect.exit(Deferred.await(c.final))
      for (const exit of [pending, final] as Array<Exit.Exit<unknown, unknown>>) {
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = exit.cause.reasons.find((r) => r._tag === "Fail")
          assert.instanceOf(error?._tag === "Fail" ? error.error : undefined, NodeError)
        }
      }
      assert.strictEqual(c.lastCompleted(), 0)
    }))
})
