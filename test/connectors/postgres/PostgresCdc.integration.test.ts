import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { lsnValue } from "../../../src/connectors/postgres/internal/replication.ts"
import { replicationLag } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import { PostgresSource } from "../../../src/connectors/postgres/PostgresSource.ts"
import { confirmedReaching, names, openCdc, readUntil } from "./cdcSupport.ts"
import { context, decode, readAll, sql, URL, withSchema } from "./support.ts"
import { createTypes, createTypeTable, insertRows } from "./typeTable.ts"

describe("PostgresCdc", () => {
  it.live("replicates a snapshot and concurrent inserts/updates/deletes into a second table", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_repl")
      const { publication, slot } = yield* names
      const cols = "(id int PRIMARY KEY, name text NOT NULL, amount numeric(10,2), tags text[], big bigint, at timestamptz)"
      yield* sql(`CREATE TABLE ${schema}.src ${cols}`)
      yield* sql(`CREATE TABLE ${schema}.dst ${cols}`)
      yield* sql(
        `INSERT INTO ${schema}.src SELECT g, 'n' || g, g * 1.5, ARRAY['t' || g], g * 10000000000, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 3000) g`
      )
      const source = yield* openCdc({ publication, create_publication: true, slot, tables: [`${schema}.src`], snapshot: true })
      const sink = yield* PostgresSink.open(
        decode(PostgresSink.config, { connection_string: URL, table: `${schema}.dst`, mode: "upsert", checkpoint_table: `${schema}.cp` }),
        context("dst")
      )
      yield* sink.restore!(undefined)
      // The first batch takes the snapshot; changes made while it is read must arrive once, after it.
      const first = yield* source.readBatch(500)
      yield* sink.writeBatch(first!)
      assert.strictEqual(first!.records[0].op, "read")
      yield* sql(`UPDATE ${schema}.src SET name = 'changed', tags = '{}' WHERE id <= 600`)
      yield* sql(`DELETE FROM ${schema}.src WHERE id BETWEEN 1000 AND 1200`)
      yield* sql(`INSERT INTO ${schema}.src SELECT g, 'new' || g, null, null, null, null FROM generate_series(3001, 3500) g`)
      yield* sql(`UPDATE ${schema}.src SET amount = amount + 1 WHERE id % 7 = 0`)
      yield* sql(`BEGIN; DELETE FROM ${schema}.src WHERE id = 5; INSERT INTO ${schema}.src VALUES (5, 'again', 1, '{a,b}', -1, now()); COMMIT`)
      yield* sql(`INSERT INTO ${schema}.src VALUES (-1, 'sentinel', null, null, null, null)`)
      let checkpoint = 0
      const seen = yield* readUntil(source, (r) => r.after?.id === -1, (batch) =>
        Effect.gen(function*() {
          yield* sink.writeBatch(batch)
          checkpoint++
          yield* sink.preCommit!(checkpoint)
          yield* source.commit(yield* source.position)
        }))
      const ops = new Set(seen.map((r) => r.op))
      assert.deepStrictEqual([...ops].sort(), ["delete", "insert", "read", "update"])
      const update = seen.find((r) => r.op === "update")!
      assert.strictEqual(update.table, `${schema}.src`)
      assert.isNotNull(update.commit_ts)
      assert.isNumber((update.before as { id: number }).id)
      // Streamed values have the table source's representations (docs/connectors/postgres.md, "Types").
      const inserted = seen.find((r) => r.op === "update" && r.after?.big !== null)!.after!
      const read = seen.find((r) => r.op === "read")!.after!
      for (const row of [inserted, read]) {
        assert.strictEqual(typeof row.big, "bigint")
        assert.strictEqual(typeof row.amount, "string")
        assert.match(String(row.at), /^2024-01-0[1-3] \d\d:\d\d:00\+00$/)
        assert.isArray(row.tags)
      }
      const a = yield* sql(`SELECT * FROM ${schema}.src ORDER BY id`)
      const b = yield* sql(`SELECT * FROM ${schema}.dst ORDER BY id`)
      assert.strictEqual(b.length, 3500 - 201 + 1)
      assert.deepStrictEqual(b, a)
      // Confirmed only what was committed, and the slot has moved past the consistent point (the
      // server applies a commit's standby status update a moment after it is sent: waited for).
      const position = (yield* source.position) as { lsn: string }
      assert.isTrue((yield* confirmedReaching(slot, position.lsn)) >= lsnValue(position.lsn), `the slot is confirmed through ${position.lsn}`)
    }).pipe(Effect.scoped))

  it.live("resumes after a restart from the last committed position", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_resume")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY, v text)`)
      yield* sql(`CREATE PUBLICATION ${publication} FOR TABLE ${schema}.t`)
      const config = { publication, slot, tables: [`${schema}.t`] }
      const scope1 = yield* Scope.make()
      const reader1 = yield* Scope.provide(openCdc(config), scope1)
      assert.strictEqual(Batch.size((yield* reader1.readBatch(1))!), 0)
      for (let i = 1; i <= 3; i++) yield* sql(`INSERT INTO ${schema}.t VALUES (${i}, 'x')`)
      const b1 = yield* readUntil(reader1, () => true, () => Effect.void, 1)
      assert.deepStrictEqual(b1.map((r) => r.after!.id), [1])
      const committedAt = yield* reader1.position
      yield* reader1.commit(committedAt)
      const rest = yield* readUntil(reader1, (r) => r.after?.id === 3, () => Effect.void, 1)
      assert.deepStrictEqual(rest.map((r) => r.after!.id), [2, 3])
      // Crash: 2 and 3 were read but never committed.
      yield* Scope.close(scope1, Exit.fail("crash"))
      yield* Effect.sleep(200)
      const reader2 = yield* openCdc(config)
      yield* reader2.seek(committedAt)
      const again = yield* readUntil(reader2, (r) => r.after?.id === 3)
      assert.deepStrictEqual(again.map((r) => r.after!.id), [2, 3])
    }).pipe(Effect.scoped))

  it.live("a temporary slot disappears with its connection; heartbeats keep an idle slot confirmed", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_temp")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
      yield* sql(`CREATE TABLE ${schema}.other (id int)`)
      yield* sql(`CREATE PUBLICATION ${publication} FOR TABLE ${schema}.t`)
      const scope = yield* Scope.make()
      const reader = yield* Scope.provide(
        openCdc({ publication, slot, temporary_slot: true, heartbeat_interval: "100ms" }),
        scope
      )
      yield* reader.readBatch(10)
      const slots = yield* sql(`SELECT temporary, confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`, [slot])
      assert.strictEqual(slots.length, 1)
      assert.strictEqual(slots[0].temporary, true)
      // WAL written elsewhere: the idle slot follows it (keepalive answers), so lag stays small.
      yield* sql(`INSERT INTO ${schema}.other SELECT g FROM generate_series(1, 20000) g`)
      const target = (yield* sql<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`))[0].lsn
      let advanced = false
      for (let i = 0; i < 100 && !advanced; i++) {
        yield* reader.readBatch(10)
        const r = yield* sql<{ ok: boolean }>(
          `SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2`,
          [target, slot]
        )
        advanced = r[0]?.ok === true
      }
      assert.isTrue(advanced, "the idle slot's confirmed LSN did not follow the WAL")
      const lag = yield* replicationLag(URL, slot)
      assert.isDefined(lag)
      // the slot confirmed `target`: its lag is at most the WAL written since then (by any session
      // of the server: other suites write WAL at the same time, so no fixed bound holds)
      const since = (yield* sql<{ d: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS d`, [target]))[0].d
      assert.isAtLeast(Number(lag), 0)
      assert.isAtMost(Number(lag), Number(since))
      yield* Scope.close(scope, Exit.void)
      let gone = false
      for (let i = 0; i < 50 && !gone; i++) {
        gone = (yield* sql(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [slot])).length === 0
        if (!gone) yield* Effect.sleep(100)
      }
      assert.isTrue(gone, "the temporary slot is still there")
    }).pipe(Effect.scoped))

  it.live("a killed replication connection fails the read with a retryable connection error", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_kill")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
      yield* sql(`CREATE PUBLICATION ${publication} FOR TABLE ${schema}.t`)
      const reader = yield* openCdc({ publication, slot })
      yield* reader.readBatch(10)
      yield* sql(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1`, [slot])
      let error: unknown
      for (let i = 0; i < 100 && error === undefined; i++) {
        const exit = yield* Effect.exit(reader.readBatch(10))
        if (exit._tag === "Failure") error = yield* Effect.flip(Effect.failCause(exit.cause))
      }
      assert.isDefined(error)
      const e = error as { _tag: string; isRetryable: boolean; reason: { _tag: string } }
      assert.strictEqual(e._tag, "ConnectorError")
      assert.isTrue(e.isRetryable)
      assert.strictEqual(e.reason._tag, "ConnectionError")
    }).pipe(Effect.scoped))

  it.live("a tables list is applied to an existing publication: added tables streamed, removed ones no longer", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_pubset")
      const { publication, slot } = yield* names
      for (const t of ["a", "b", "c"]) yield* sql(`CREATE TABLE ${schema}.${t} (id int PRIMARY KEY)`)
      yield* sql(`CREATE PUBLICATION ${publication} FOR TABLE ${schema}.a, ${schema}.b`)
      // Without create_publication, a listed table the publication lacks is refused, naming it.
      const refused = yield* Effect.flip(openCdc({ publication, slot, tables: [`${schema}.b`, `${schema}.c`] }))
      assert.include(refused.message, `does not publish '${schema}.c'`)
      assert.include(refused.message, "create_publication: true")
      // With it, the publication follows the list.
      const reader = yield* openCdc({ publication, create_publication: true, slot, tables: [`${schema}.b`, `${schema}.c`] })
      const published = yield* sql(`SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [publication])
      assert.deepStrictEqual(published.map((r) => r.tablename), ["b", "c"])
      yield* reader.readBatch(10)
      for (const t of ["a", "b", "c"]) yield* sql(`INSERT INTO ${schema}.${t} VALUES (1)`)
      yield* sql(`INSERT INTO ${schema}.c VALUES (-1)`)
      const seen = yield* readUntil(reader, (r) => r.after?.id === -1)
      assert.deepStrictEqual(seen.map((r) => `${r.table}:${String(r.after?.id)}`), [`${schema}.b:1`, `${schema}.c:1`, `${schema}.c:-1`])
    }).pipe(Effect.scoped))

  it.live("the heartbeat runs and the lag is measured (the reader's lag, the gauge, the slot following the WAL)", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_lag")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
      const reader = yield* openCdc({ publication, create_publication: true, slot, tables: [`${schema}.t`], heartbeat_interval: "100ms" })
      yield* reader.readBatch(10)
      let lag: { value: number; unit: string } | undefined
      for (let i = 0; i < 100 && lag === undefined; i++) {
        yield* reader.readBatch(10)
        lag = reader.lag?.()
        if (lag === undefined) yield* Effect.sleep(50)
      }
      assert.isDefined(lag, "the lag was never measured")
      assert.strictEqual(lag!.unit, "bytes")
      assert.isAtLeast(lag!.value, 0)
      // (Measured after the heartbeat statement in one step: a heartbeat that fails, as it did when
      // its pg_lsn result could not be decoded, leaves the lag unmeasured.) An idle slot follows the WAL.
      const lsn1 = (yield* sql<{ l: string }>(`SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1`, [slot]))[0].l
      let moved = false
      for (let i = 0; i < 100 && !moved; i++) {
        yield* reader.readBatch(10)
        const r = yield* sql<{ ok: boolean }>(
          `SELECT confirmed_flush_lsn > $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2`,
          [lsn1, slot]
        )
        moved = r[0]?.ok === true
      }
      assert.isTrue(moved, "heartbeats did not move the idle slot")
      const gauge = yield* replicationLag(URL, slot)
      assert.isDefined(gauge)
    }).pipe(Effect.scoped))

  it.live("streamed changes carry every built-in type exactly as the table source reads it", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_types")
      const { publication, slot } = yield* names
      yield* createTypes(schema)
      yield* createTypeTable(schema, "t", false)
      const reader = yield* openCdc({ publication, create_publication: true, slot, tables: [`${schema}.t`] })
      yield* reader.readBatch(10)
      yield* sql(insertRows(schema, "t"))
      const seen = yield* readUntil(reader, (r) => r.after?.id === 4)
      const expected = yield* readAll(
        yield* PostgresSource.open(decode(PostgresSource.config, { connection_string: URL, table: `${schema}.t` }), context("t"))
      )
      assert.deepStrictEqual(seen.map((r) => r.after), expected)
    }).pipe(Effect.scoped), 60_000)
})

