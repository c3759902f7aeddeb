/**
 * The signal handling of `dataflare run`: a late signal (the run complete, the summary being
 * printed) must not turn a successful run into an abort (issue 12, item 10).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { requestStop, stopRequested, whileArmed } from "../../dsl/cli/internal/signals.ts"

describe("signals", () => {
  it.effect("the first signal while armed stops gracefully, also once nothing waits any more; a second one, or one unarmed, aborts", () =>
    Effect.gen(function*() {
      assert.isUndefined(requestStop(), "nothing armed: interrupt")
      yield* whileArmed("stopping", Effect.gen(function*() {
        const waiting = yield* Effect.forkChild(stopRequested)
        yield* Effect.yieldNow
        assert.strictEqual(requestStop(), "stopping")
        yield* Fiber.join(waiting)
        assert.isUndefined(requestStop(), "a second signal aborts")
      }))
      // the run completed (its waiter is gone) but the command is still finishing: no interrupt
      yield* whileArmed("stopping", Effect.sync(() => assert.strictEqual(requestStop(), "stopping")))
      // a signal that came before the run waited: the run stops as soon as it waits
      yield* whileArmed("stopping", Effect.gen(function*() {
        assert.strictEqual(requestStop(), "stopping")
        yield* stopRequested
      }))
      assert.isUndefined(requestStop())
    }))
})
