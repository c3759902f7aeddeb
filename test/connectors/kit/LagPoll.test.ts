/** kit/LagPoll: the cached value, the extra added when read, unknown after a failed query, stopped with the scope. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as LagPoll from "../../../src/connectors/kit/LagPoll.ts"

describe("LagPoll", () => {
  it.live("caches the last value, adds the extra when read, forgets it when a query fails, stops with the scope", () =>
    Effect.gen(function*() {
      let answer: number | "fail" | undefined = 7
      let queries = 0
      let extra = 3
      const scope = yield* Scope.make()
      const lag = yield* Scope.provide(scope)(LagPoll.poll({
        query: Effect.suspend(() => {
          queries++
          return answer === "fail" ? Effect.fail("down" as const) : Effect.succeed(answer)
        }),
        unit: "records",
        everyMs: 10,
        extra: () => extra
      }))
      const until = (ok: (v: ReturnType<typeof lag>) => boolean) =>
        Effect.gen(function*() {
          while (!ok(lag())) yield* Effect.sleep("10 millis")
          return lag()
        })
      assert.deepStrictEqual(yield* until((v) => v !== undefined), { value: 10, unit: "records" })
      extra = 0
      assert.deepStrictEqual(lag(), { value: 7, unit: "records" }, "the extra is read when lag is")
      answer = "fail"
      assert.isUndefined(yield* until((v) => v === undefined), "a failed query leaves the lag unknown")
      answer = 2
      assert.deepStrictEqual(yield* until((v) => v !== undefined), { value: 2, unit: "records" })
      yield* Scope.close(scope, Exit.void)
      const after = queries
      yield* Effect.sleep("100 millis")
      assert.strictEqual(queries, after, "no query after the scope closed")
    }), 60_000)
})
