/**
 * The coordinator when a sink that ended before a checkpoint started is slow to pre-commit it:
 * the checkpoint's start runs that pre-commit, and the checkpoint completes — record written,
 * sinks told to commit — only once it has succeeded, even when every other task has reported
 * meanwhile. A failing pre-commit fails the run under the sink's node and the checkpoint is not
 * recorded (recording it first would commit output whose pre-commit never happened).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import type { CheckpointRecord } from "../../src/Checkpoint.ts"
import { makeCoordinator } from "../../src/internal/coordinator.ts"
import { NodeError } from "../../src/Errors.ts"
import type { Backend } from "../../src/StateBackend.ts"

class PreCommitFailed extends Error {}

const setup = (written: Array<number>, failedIds: Array<number>) => {
  const backend = {
    name: "test",
    write: (record: CheckpointRecord) => Effect.sync(() => void written.push(record.id))
  } as unknown as Backend
  return makeCoordinator({
    workflow: "pre-commit-race",
    participants: { sources: ["s/0"], operators: [], sinks: ["x/0", "y/0"] },
    backend,
    restoredId: 0,
    fullEvery: 10,
    nodes: [],
    onCheckpointFailed: (id) => Effect.sync(() => void failedIds.push(id))
  })
}

describe("coordinator: a sink ended before a checkpoint started, slow to pre-commit it", () => {
  it.effect("the checkpoint is recorded and committed only after that pre-commit returns", () =>
    Effect.gen(function*() {
      const written: Array<number> = []
      const calls: Array<string> = []
      const c = setup(written, [])
      c.onComplete("x", (id) => Effect.sync(() => void calls.push(`x commit ${id}`)))
      const gate = yield* Deferred.make<void>()
      const slow = (id: number) =>
        Effect.gen(function*() {
          calls.push(`x pre-commit start ${id}`)
          if (id === 1) yield* Deferred.await(gate)
          calls.push(`x pre-commit end ${id}`)
        })
      // x has written all its input before checkpoint 1 starts
      yield* c.sinkEnded("x", 0, slow)
      const trigger = yield* Effect.forkChild(c.trigger)
      yield* Effect.yieldNow
      // every other task reports checkpoint 1 while x's pre-commit of it still runs
      yield* c.sourcePosition("s", 0, 1, 5, undefined)
      yield* c.sinkAck("y", 0, 1)
      assert.deepStrictEqual(written, [], "checkpoint 1 is not recorded before x's pre-commit returns")
      assert.strictEqual(c.lastCompleted(), 0)
      assert.deepStrictEqual(calls, ["x pre-commit start 1"])
      yield* Deferred.succeed(gate, undefined)
      const done = yield* Fiber.join(trigger)
      assert.isDefined(done)
      if (done !== undefined) yield* Deferred.await(done)
      assert.deepStrictEqual(written, [1])
      assert.strictEqual(c.lastCompleted(), 1)
      assert.deepStrictEqual(calls, ["x pre-commit start 1", "x pre-commit end 1", "x commit 1"])
    }))

  it.effect("a failing pre-commit fails the run under the sink's node, the checkpoint not recorded", () =>
    Effect.gen(function*() {
      const written: Array<number> = []
      const failedIds: Array<number> = []
      const calls: Array<string> = []
      const c = setup(written, failedIds)
      c.onComplete("x", (id) => Effect.sync(() => void calls.push(`x commit ${id}`)))
      const gate = yield* Deferred.make<void>()
      const failing = (id: number) =>
        Effect.andThen(Deferred.await(gate), Effect.fail(new PreCommitFailed(`pre-commit ${id} refused`)))
      yield* c.sinkEnded("x", 0, failing)
      const trigger = yield* Effect.forkChild(c.trigger)
      yield* Effect.yieldNow
      yield* c.sourcePosition("s", 0, 1, 5, undefined)
      yield* c.sinkAck("y", 0, 1)
      yield* Deferred.succeed(gate, undefined)
      const started = yield* Fiber.await(trigger)
      assert.isTrue(Exit.isFailure(started))
      // the tasks waiting for the final checkpoint (x among them) fail with x's error
      const final = yield* Effect.exit(Deferred.await(c.final))
      assert.isTrue(Exit.isFailure(final))
      if (Exit.isFailure(final)) {
        const error = final.cause.reasons.find((r) => r._tag === "Fail")
        assert.isDefined(error)
        if (error?._tag === "Fail") {
          assert.instanceOf(error.error, NodeError)
          if (error.error instanceof NodeError) {
            assert.strictEqual(error.error.node, "x")
            assert.instanceOf(error.error.cause, PreCommitFailed)
          }
        }
      }
      assert.deepStrictEqual(written, [], "checkpoint 1 is never recorded")
      assert.strictEqual(c.lastCompleted(), 0)
      assert.deepStrictEqual(calls, [], "no sink is told to commit")
      assert.deepStrictEqual(failedIds, [1])
    }))

  it.effect("a sink's pre-commit of the final checkpoint that fails is blamed on that sink, not the task that ran it", () =>
    Effect.gen(function*() {
      const c = setup([], [])
      const fine = () => Effect.void
      const failing = (id: number) => Effect.fail(new PreCommitFailed(`pre-commit ${id} refused`))
      yield* c.sourceEnded("s", 0, 10, undefined)
      yield* c.sinkEnded("y", 0, failing)
      // x ends last: the final checkpoint runs in its task, and pre-commits y there
      const ended = yield* Effect.exit(c.sinkEnded("x", 0, fine))
      const final = yield* Effect.exit(Deferred.await(c.final))
      const blamedNodes = (exit: Exit.Exit<unknown, unknown>): Array<string> =>
        Exit.isFailure(exit)
          ? exit.cause.reasons.flatMap((r) => (r._tag === "Fail" && r.error instanceof NodeError ? [r.error.node] : []))
          : []
      const nodes = [...blamedNodes(ended), ...blamedNodes(final)]
      assert.isNotEmpty(nodes)
      assert.deepStrictEqual([...new Set(nodes)], ["y"])
    }))
})
