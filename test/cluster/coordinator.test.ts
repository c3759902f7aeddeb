/**
 * The checkpoint coordinator's tick (coordinator.ts) against the real PostgreSQL tables, without
 * runners: a workflow's global checkpoint completes only once every running part acknowledged
 * it (parts that ended do not block it), the next one is triggered only after the last completed
 * and the workflow's interval has passed, workflows without a running part are left alone, and
 * the heartbeat row says where the coordinator runs. Also times a tick among 10,000 workflows.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import * as Table from "../../src/cluster/internal/table.ts"
import { dropPrefix, freshPrefix, URL, withPg } from "./support.ts"

/** A fresh prefix's tables, dropped at the end of the test. */
const tables = Effect.acquireRelease(
  Effect.sync(freshPrefix),
  (prefix) => Effect.promise(() => dropPrefix(prefix))
).pipe(Effect.flatMap((prefix) => Effect.map(Table.open(URL, prefix), (table) => ({ prefix, table }))))

const since = new Date("2026-12-06T00:00:00Z")

const global = (table: Table.Table, workflow: string) =>
  Effect.map(table.workflows(workflow), (rows) => {
    const row = rows[0]!
    return { epoch: row.epoch, completed: row.completed }
  })

/** Moves a workflow's last trigger back by `ms`, as if that much time had passed. */
const age = (prefix: string, workflow: string, ms: number) =>
  Effect.promise(() =>
    withPg(URL, (c) =>
      c.query(`UPDATE ${pg.escapeIdentifier(`${prefix}_workflows`)} SET triggered_at = triggered_at - $2 * interval '1 millisecond' WHERE workflow = $1`, [
        workflow,
        ms
      ])
    )
  )

describe("checkpoint coordinator tick", () => {
  it.effect("completes an epoch only when every running part acked it; ended parts do not block", () =>
    Effect.scoped(Effect.gen(function*() {
      const { prefix, table } = yield* tables
      yield* table.insertParts([{ workflow: "w", parts: 3, intervalMs: 60_000 }])
      // nothing runs yet: no checkpoint is triggered, even once the interval has passed
      yield* age(prefix, "w", 120_000)
      assert.deepStrictEqual(yield* table.tick("r1", since), { completed: 0, triggered: 0 })
      for (const part of [0, 1, 2]) yield* table.started("w", part, "r1", null)
      // a running part and the interval passed: epoch 1
      assert.deepStrictEqual(yield* table.tick("r1", since), { completed: 0, triggered: 1 })
      assert.deepStrictEqual(yield* global(table, "w"), { epoch: 1, completed: 0 })
      assert.deepStrictEqual(yield* table.control("w", 0), { stop: false, epoch: 1, acked: 0 })
      // two of three acked: not complete, and no epoch 2 while 1 is open (however old it is)
      yield* table.acked("w", 0, 1, 7)
      yield* table.acked("w", 1, 1, 3)
      yield* age(prefix, "w", 120_000)
      assert.deepStrictEqual(yield* table.tick("r1", since), { completed: 0, triggered: 0 })
      assert.deepStrictEqual(yield* global(table, "w"), { epoch: 1, completed: 0 })
      // the third part ends without acking (its final checkpoint covers it): complete, then triggered again
      yield* table.ended("w", 2, "done", { recordsIn: 1, recordsOut: 1, resumedFrom: null }, null)
      assert.deepStrictEqual(yield* table.tick("r1", since), { completed: 1, triggered: 1 })
      assert.deepStrictEqual(yield* global(table, "w"), { epoch: 2, completed: 1 })
      // epoch 2: a part restarted elsewhere (still running, acked 1) blocks it until it acks
      yield* table.acked("w", 0, 2, 9)
      assert.deepStrictEqual(yield* table.tick("r2", since), { completed: 0, triggered: 0 })
      yield* table.started("w", 1, "r2", null)
      assert.deepStrictEqual(yield* table.control("w", 1), { stop: false, epoch: 2, acked: 1 })
      yield* table.acked("w", 1, 2, 4)
      // completed, but the interval (one minute) has not passed since epoch 2 was triggered
      assert.deepStrictEqual(yield* table.tick("r2", since), { completed: 1, triggered: 0 })
      assert.deepStrictEqual(yield* global(table, "w"), { epoch: 2, completed: 2 })
      // an old ack does not move a part back
      yield* table.acked("w", 1, 1, 3)
      const parts = yield* table.parts("w")
      assert.deepStrictEqual(parts.map((p) => [p.ackedEpoch, p.ackedCheckpoint]), [[2, 9], [2, 4], [0, null]])
      // every part ended: the workflow is left alone
      yield* table.ended("w", 0, "done", undefined, null)
      yield* table.ended("w", 1, "stopped", undefined, null)
      yield* age(prefix, "w", 120_000)
      assert.deepStrictEqual(yield* table.tick("r2", since), { completed: 0, triggered: 0 })
      assert.deepStrictEqual(yield* global(table, "w"), { epoch: 2, completed: 2 })
      // the heartbeat: the last coordinator's runner, its ticks since it started there
      const coordinator = (yield* table.coordinator)!
      assert.strictEqual(coordinator.runner, "r2")
      assert.strictEqual(coordinator.ticks, 3)
      assert.strictEqual(coordinator.startedAt.getTime(), since.getTime())
    })))

  it.effect("a stop request and the epoch come in one poll; a resubmitted workflow keeps its epochs", () =>
    Effect.scoped(Effect.gen(function*() {
      const { prefix, table } = yield* tables
      yield* table.insertParts([{ workflow: "s", parts: 2, intervalMs: 60_000 }])
      yield* table.started("s", 0, "r1", null)
      yield* table.started("s", 1, "r1", null)
      yield* age(prefix, "s", 120_000)
      yield* table.tick("r1", since)
      yield* table.acked("s", 0, 1, 1)
      yield* table.acked("s", 1, 1, 1)
      yield* table.tick("r1", since)
      assert.deepStrictEqual(yield* global(table, "s"), { epoch: 1, completed: 1 })
      assert.strictEqual(yield* table.requestStop("s"), 2)
      assert.deepStrictEqual(yield* table.control("s", 1), { stop: true, epoch: 1, acked: 1 })
      yield* table.ended("s", 0, "stopped", undefined, null)
      yield* table.ended("s", 1, "stopped", undefined, null)
      const send = yield* table.insertParts([{ workflow: "s", parts: 2, intervalMs: 60_000 }])
      assert.strictEqual(send.length, 2)
      assert.deepStrictEqual(yield* global(table, "s"), { epoch: 1, completed: 1 })
      assert.deepStrictEqual(yield* table.control("s", 1), { stop: false, epoch: 1, acked: 1 })
    })))

  it.effect("a tick among 10,000 ended workflows and 100 running ones stays cheap", () =>
    Effect.scoped(Effect.gen(function*() {
      const { prefix, table } = yield* tables
      const many = Array.from({ length: 10_100 }, (_, i) => ({ workflow: `m${i}`, parts: 1, intervalMs: 1 }))
      yield* table.insertParts(many)
      yield* Effect.promise(() =>
        withPg(URL, async (c) => {
          await c.query(`UPDATE ${pg.escapeIdentifier(`${prefix}_parts`)} SET status = CASE WHEN substr(workflow, 2)::int < 100 THEN 'running' ELSE 'done' END`)
          await c.query(`UPDATE ${pg.escapeIdentifier(`${prefix}_workflows`)} SET triggered_at = triggered_at - interval '1 second'`)
          await c.query(`ANALYZE ${pg.escapeIdentifier(`${prefix}_parts`)}`)
        })
      )
      assert.deepStrictEqual(yield* table.tick("r1", since), { completed: 0, triggered: 100 })
      yield* Effect.promise(() => withPg(URL, (c) => c.query(`UPDATE ${pg.escapeIdentifier(`${prefix}_parts`)} SET acked_epoch = 1 WHERE status = 'running'`)))
      const started = performance.now()
      const rounds = 20
      for (let i = 0; i < rounds; i++) yield* table.tick("r1", since)
      const ms = (performance.now() - started) / rounds
      console.log(`coordinator tick among 10,100 workflows (100 running): ${ms.toFixed(2)} ms`)
      assert.strictEqual((yield* global(table, "m7")).completed, 1)
      assert.deepStrictEqual(yield* global(table, "m7000"), { epoch: 0, completed: 0 })
    })), 120_000)
})
