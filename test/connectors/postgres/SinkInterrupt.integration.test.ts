/**
 * A sink interrupted while a statement of its waits on a lock held by someone else (a shard moving
 * to another runner, a graceful stop, Ctrl-C): closing it cancels the waiting statement instead of
 * queueing its `ROLLBACK` and its disconnect behind it. Before, the close waited for the other
 * holder to let go of the lock, so a part's hand-over on the cluster, or a stop, waited as long.
 * Nothing the interrupted writer sent is left in the table, and a new writer then loads every row
 * once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import pg from "pg"
import * as Batch from "../../../src/Batch.ts"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import { context, decode, sql, URL, withTable } from "./support.ts"

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ id: from + i, name: `v${from + i}` }))

/** The sink's sessions of this test waiting on a lock (the sink connects as `dataflare`). */
const waiting = (schema: string) =>
  sql<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'dataflare' AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
    [schema]
  ).pipe(Effect.map((r) => Number(r[0]!.n)))

/** Polls `check` until it holds (bounded: the test fails naming `what` when it never does). */
const until = (what: string, check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 400; i++) {
      if (yield* check) return
      yield* Effect.sleep(25)
    }
    return yield* Effect.die(new Error(`never: ${what}`))
  })

describe("postgres sink: interrupted while waiting on a lock", () => {
  for (const [guarantee, two_phase] of [["exactly-once", "staged"], ["exactly-once", "prepared"], ["at-least-once", undefined]] as const) {
    const name = `${guarantee}${two_phase !== undefined ? `, ${two_phase}` : ""}`
    it.live(`${name}: closing cancels the waiting statement, nothing half-written, a new writer loads every row once`, () =>
      Effect.gen(function*() {
        const { schema, table } = yield* withTable("df_sink_interrupt", `(id int, name text)`)
        const config = decode(PostgresSink.config, {
          connection_string: URL,
          table,
          guarantee,
          checkpoint_table: `${schema}.cp`,
          workflow: `interrupt-${schema}`,
          ...(two_phase !== undefined ? { two_phase } : {})
        })
        // someone else holds the table: reads pass, every write waits
        const locker = new pg.Client({ connectionString: URL })
        yield* Effect.promise(() => locker.connect())
        yield* Effect.addFinalizer(() => Effect.promise(() => locker.end().catch(() => undefined)))
        yield* Effect.promise(() => locker.query(`BEGIN; LOCK TABLE ${table} IN EXCLUSIVE MODE`))

        const scope = yield* Scope.make()
        const writer = yield* Scope.provide(PostgresSink.open(config, context("out")), scope)
        yield* writer.restore!(undefined)
        const fiber = yield* Effect.forkChild(
          Effect.gen(function*() {
            for (let b = 0; b < 5; b++) yield* writer.writeBatch(Batch.make(range(b * 100, b * 100 + 100)))
            yield* writer.preCommit!(1)
            yield* writer.commit!(1)
          })
        )
        yield* until("a statement of the sink waits on the lock", Effect.map(waiting(schema), (n) => n > 0))

        // interrupt and close while the lock is still held; a watchdog lets go of the lock after
        // 30 s so that a close that waits for it ends the test with a failure instead of a hang
        const released = yield* Deferred.make<void>()
        const watchdog = yield* Effect.forkChild(
          Effect.sleep(30_000).pipe(Effect.andThen(Effect.promise(() => locker.query("COMMIT"))), Effect.andThen(Deferred.succeed(released, undefined)))
        )
        yield* Fiber.interrupt(fiber)
        yield* Scope.close(scope, Exit.void)
        assert.isFalse(yield* Deferred.isDone(released), "the sink's close waited for the lock to be released")
        yield* Fiber.interrupt(watchdog)
        yield* until("no session of the sink waits on the lock any more", Effect.map(waiting(schema), (n) => n === 0))

        yield* Effect.promise(() => locker.query("COMMIT"))
        assert.deepStrictEqual(yield* sql(`SELECT count(*)::int AS n FROM ${table}`), [{ n: 0 }], "nothing of the interrupted writer was committed")
        const left = yield* sql(`SELECT count(*)::int AS n FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE '%' || $1 || '%'`, [schema])
        assert.deepStrictEqual(left, [{ n: 0 }], "no prepared transaction left behind")

        // the next writer (a part resumed elsewhere) loads the rows once
        const next = yield* PostgresSink.open(config, context("out"))
        yield* next.restore!(undefined)
        yield* next.writeBatch(Batch.make(range(0, 500)))
        yield* next.preCommit!(1)
        yield* next.commit!(1)
        assert.deepStrictEqual(yield* sql(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM ${table}`), [{ n: 500, d: 500 }])
      }).pipe(Effect.scoped), 60_000)
  }
})
