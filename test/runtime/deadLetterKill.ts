/**
 * What the dead-letter tests that kill `dataflare run` share: the PostgreSQL table a dead-letter
 * destination writes envelopes to, and the run killed twice at checkpoints, then run to its end.
 */
import { assert } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { killAt, start } from "../cli/killRun.ts"
import { sql } from "../connectors/postgres/support.ts"

/** Creates `schema.rejects`, a table with the columns of a dead-letter envelope. */
export const createLettersTable = (schema: string) =>
  sql(
    `CREATE TABLE ${schema}.rejects (node text NOT NULL, at timestamptz NOT NULL, tag text, source text, position jsonb, error text NOT NULL, detail jsonb, record jsonb NOT NULL)`
  )

/**
 * Runs the workflow of `dir`, kills it (SIGKILL) at checkpoint 1 and again three checkpoints
 * later, runs `partial` (the test's check that the killed runs had not finished the work), then
 * runs it to its end, which must exit 0.
 */
export const killTwiceThenFinish = <E, R>(dir: string, partial: Effect.Effect<void, E, R>): Effect.Effect<void, E, R | Scope.Scope> =>
  Effect.gen(function*() {
    const first = yield* killAt(dir, yield* start(dir), 1)
    const second = yield* killAt(dir, yield* start(dir), first + 3)
    assert.isTrue(second > first)
    yield* partial
    const last = yield* (yield* start(dir)).ended
    assert.strictEqual(last.code, 0, last.stderr)
  })
