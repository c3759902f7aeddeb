/**
 * The `postgres-cdc` initial snapshot: several tables of different shapes, and a crash in the
 * middle of the snapshot with rows deleted, changed and added at the source before the resume.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { lsnValue } from "../../../src/connectors/postgres/internal/replication.ts"
import type { ChangeRecord } from "../../../src/connectors/postgres/PostgresCdc.ts"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import { PostgresSource } from "../../../src/connectors/postgres/PostgresSource.ts"
import { names, openCdc, readUntil } from "./cdcSupport.ts"
import { context, decode, readAll, sql, URL, withSchema } from "./support.ts"

const tableRows = (table: string) =>
  Effect.flatMap(PostgresSource.open(decode(PostgresSource.config, { connection_string: URL, table }), context("t")), (r) => readAll(r))

describe("PostgresCdc snapshot", () => {
  it.live("a snapshot of several tables decodes each table with its own columns", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_multi")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.a (id int PRIMARY KEY, name text)`)
      yield* sql(`CREATE TABLE ${schema}.b (k text PRIMARY KEY, n numeric(12,3), at timestamptz, flags boolean[])`)
      yield* sql(`CREATE TABLE ${schema}.c (id bigint PRIMARY KEY, x int, y int, z jsonb, w bytea)`)
      yield* sql(`INSERT INTO ${schema}.a SELECT g, 'a' || g FROM generate_series(1, 11) g`)
      yield* sql(
        `INSERT INTO ${schema}.b SELECT 'k' || lpad(g::text, 3, '0'), g / 7.0, '2024-01-01 00:00:00.000001+00'::timestamptz + g * interval '1 day', ARRAY[g % 2 = 0, NULL] FROM generate_series(1, 9) g`
      )
      yield* sql(`INSERT INTO ${schema}.c SELECT g * 10000000000, g, -g, jsonb_build_object('g', g, 'd', 2.50), '\\x00ff' FROM generate_series(1, 13) g`)
      const tables = ["a", "b", "c"].map((t) => `${schema}.${t}`)
      const reader = yield* openCdc({ publication, create_publication: true, slot, tables, snapshot: true })
      // Batches of 4: boundaries fall inside every table and across them.
      const snapshot: Array<ChangeRecord> = []
      const positions: Array<unknown> = []
      for (;;) {
        const batch = yield* reader.readBatch(4)
        const records = Batch.toArray(batch!)
        if (records.length === 0 || records[0].op !== "read") break
        assert.isAtMost(records.length, 4)
        for (const r of records) snapshot.push(r)
        positions.push(batch!.origin?.position)
      }
      assert.strictEqual(snapshot.length, 11 + 9 + 13)
      for (const t of tables) {
        const expected = yield* tableRows(t)
        const got = snapshot.filter((r) => r.table === t).map((r) => r.after)
        assert.deepStrictEqual(got, expected, t)
      }
      assert.deepStrictEqual(Object.keys(snapshot.find((r) => r.table === `${schema}.b`)!.after!), ["k", "n", "at", "flags"])
      assert.deepStrictEqual(positions[3], { phase: "snapshot", lsn: snapshot[0].lsn, tables, table: 1, name: `${schema}.b`, key: ["k004"] })
      // Then the stream, each table with its columns too.
      yield* sql(`INSERT INTO ${schema}.c VALUES (-1, 1, 2, '{"x": 1e400}', NULL)`)
      yield* sql(`INSERT INTO ${schema}.b VALUES ('new', 1.500, 'infinity', '{t}')`)
      const streamed = yield* readUntil(reader, (r) => r.table === `${schema}.b`)
      const c = streamed.find((r) => r.table === `${schema}.c`)!
      assert.deepStrictEqual(c.after, { id: -1n, x: 1, y: 2, z: `{"x": ${"1" + "0".repeat(400)}}`, w: null })
      const b = streamed.find((r) => r.table === `${schema}.b`)!
      assert.deepStrictEqual(b.after, { k: "new", n: "1.500", at: "infinity", flags: [true] })
    }).pipe(Effect.scoped), 60_000)

  it.live("a crash during the snapshot, then deletes, updates and inserts at the source: the resumed run leaves no ghost row", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_crash")
      const { publication, slot } = yield* names
      const cols = "(id int PRIMARY KEY, v text, n numeric)"
      yield* sql(`CREATE TABLE ${schema}.src ${cols}`)
      yield* sql(`CREATE TABLE ${schema}.dst ${cols}`)
      yield* sql(`INSERT INTO ${schema}.src SELECT g, 'v' || g, g / 3.0 FROM generate_series(1, 30000) g`)
      const config = { publication, create_publication: true, slot, tables: [`${schema}.src`], snapshot: true }
      const sinkConfig = decode(PostgresSink.config, {
        connection_string: URL,
        table: `${schema}.dst`,
        mode: "upsert",
        checkpoint_table: `${schema}.cp`
      })
      // First run: checkpoints after each batch; crashes after 12,000 snapshot rows (plus one
      // batch written after the last checkpoint).
      let checkpoint = 0
      const saved: { position: Batch.Position } = { position: null }
      const run1 = yield* Scope.make()
      yield* Effect.gen(function*() {
        const source = yield* openCdc(config)
        const sink = yield* PostgresSink.open(sinkConfig, context("dst"))
        yield* sink.restore!(undefined)
        let read = 0
        while (read < 12000) {
          const batch = (yield* source.readBatch(1000))!
          yield* sink.writeBatch(batch)
          read += Batch.size(batch)
          checkpoint++
          yield* sink.preCommit!(checkpoint)
          saved.position = yield* source.position
          if (sink.commit !== undefined) yield* sink.commit(checkpoint)
          yield* source.commit(saved.position)
        }
        yield* sink.writeBatch((yield* source.readBatch(1000))!)
      }).pipe(Scope.provide(run1))
      yield* Scope.close(run1, Exit.fail("crash"))
      assert.strictEqual((saved.position as { phase?: string }).phase, "snapshot")
      // While it is down: delete rows already copied and rows not copied yet, change and add some.
      yield* sql(`DELETE FROM ${schema}.src WHERE id <= 980 OR id BETWEEN 11500 AND 12500 OR id BETWEEN 20000 AND 20100`)
      yield* sql(`UPDATE ${schema}.src SET v = 'changed' WHERE id % 1000 = 1`)
      yield* sql(`INSERT INTO ${schema}.src SELECT g, 'added', NULL FROM generate_series(30001, 30500) g`)
      yield* sql(`BEGIN; DELETE FROM ${schema}.src WHERE id = 5000; INSERT INTO ${schema}.src VALUES (5000, 'again', 1); COMMIT`)
      yield* sql(`INSERT INTO ${schema}.src VALUES (-1, 'sentinel', NULL)`)
      // The resumed run: restored from the checkpoint.
      const source = yield* openCdc(config)
      const sink = yield* PostgresSink.open(sinkConfig, context("dst"))
      yield* sink.restore!(checkpoint)
      yield* source.seek(saved.position)
      let reread = 0
      yield* readUntil(source, (r) => r.after?.id === -1, (batch) =>
        Effect.gen(function*() {
          for (const r of Batch.toArray(batch)) if (r.op === "read") reread++
          yield* sink.writeBatch(batch)
          checkpoint++
          yield* sink.preCommit!(checkpoint)
          if (sink.commit !== undefined) yield* sink.commit(checkpoint)
          yield* source.commit(yield* source.position)
        }), 1000, 60)
      // The snapshot went on after the checkpointed key, not from the start.
      assert.isBelow(reread, 30000 - 11000)
      const a = yield* sql(`SELECT * FROM ${schema}.src ORDER BY id`)
      const b = yield* sql(`SELECT * FROM ${schema}.dst ORDER BY id`)
      assert.strictEqual(b.length, a.length)
      assert.deepStrictEqual(b, a)
    }).pipe(Effect.scoped), 120_000)

  it.live("a snapshot position cannot resume without its slot: refused, naming the way out", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_noslot")
      const { publication, slot } = yield* names
      yield* sql(`CREATE TABLE ${schema}.t (id int PRIMARY KEY)`)
      const reader = yield* openCdc({ publication, create_publication: true, slot, tables: [`${schema}.t`], snapshot: true })
      yield* reader.seek({ phase: "snapshot", lsn: "0/1", table: 0, name: `${schema}.t`, key: ["5"] })
      const error = yield* Effect.flip(reader.readBatch(10))
      assert.strictEqual(error._tag, "ConnectorError")
      assert.include(error.message, `replication slot '${slot}' does not exist`)
      assert.include(error.message, "--from-scratch")
    }).pipe(Effect.scoped))

  it.live("a table added to tables (snapshot: true) is read on the next run, then streamed; a removed one no longer", () =>
    Effect.gen(function*() {
      const schema = yield* withSchema("df_cdc_added")
      const { publication, slot } = yield* names
      for (const t of ["a", "b", "c"]) {
        yield* sql(`CREATE TABLE ${schema}.${t} (id int PRIMARY KEY, v text)`)
        yield* sql(`INSERT INTO ${schema}.${t} SELECT g, '${t}' || g FROM generate_series(1, 5) g`)
      }
      const base = { publication, create_publication: true, slot, snapshot: true }
      // First run: a and b, snapshot then streaming; its last position is kept.
      const run1 = yield* Scope.make()
      const saved = yield* Effect.gen(function*() {
        const reader = yield* openCdc({ ...base, tables: [`${schema}.a`, `${schema}.b`] })
        const read = yield* readUntil(reader, (r) => r.table === `${schema}.b` && r.after?.id === 5)
        assert.strictEqual(read.length, 10)
        const batch = yield* reader.readBatch(10)
        assert.strictEqual(Batch.size(batch!), 0)
        const position = yield* reader.position
        yield* reader.commit(position)
        return position
      }).pipe(Scope.provide(run1))
      yield* Scope.close(run1, Exit.void)
      assert.deepStrictEqual((saved as { tables?: unknown }).tables, [`${schema}.a`, `${schema}.b`])
      // Meanwhile: changes to a, b and c.
      yield* sql(`INSERT INTO ${schema}.a VALUES (6, 'a6')`)
      yield* sql(`INSERT INTO ${schema}.c VALUES (6, 'c6')`)
      yield* sql(`UPDATE ${schema}.b SET v = 'changed' WHERE id = 1`)
      // Second run: c added, b removed. c's rows are read (as they are now), then the stream goes on.
      const reader = yield* openCdc({ ...base, tables: [`${schema}.a`, `${schema}.c`] })
      yield* reader.seek(saved)
      const first = yield* reader.readBatch(100)
      assert.deepStrictEqual(Batch.toArray(first!).map((r) => `${r.op} ${r.table} ${String(r.after?.id)}`), [1, 2, 3, 4, 5, 6].map((i) => `read ${schema}.c ${i}`))
      const during = yield* reader.position
      // the consistent point: where the stream goes on after the added table (at least the saved position)
      const { lsn, ...rest } = during as { lsn: string }
      assert.isTrue(lsnValue(lsn) >= lsnValue((saved as { lsn: string }).lsn))
      assert.deepStrictEqual(rest, {
        phase: "snapshot",
        tables: [`${schema}.a`, `${schema}.b`, `${schema}.c`],
        table: 2,
        name: `${schema}.c`,
        key: ["6"]
      })
      yield* sql(`INSERT INTO ${schema}.c VALUES (7, 'c7')`)
      const streamed = yield* readUntil(reader, (r) => r.table === `${schema}.c` && r.after?.id === 7)
      // a's insert made while it was down arrives; b (removed) does not; c's new row is streamed.
      const ops = streamed.map((r) => `${r.op} ${r.table} ${String(r.after?.id)}`)
      assert.include(ops, `insert ${schema}.a 6`)
      assert.include(ops, `insert ${schema}.c 7`)
      assert.isFalse(ops.some((o) => o.includes(`${schema}.b`)), ops.join(", "))
      const after = yield* reader.position
      assert.deepStrictEqual((after as { tables?: unknown }).tables, [`${schema}.a`, `${schema}.b`, `${schema}.c`])
    }).pipe(Effect.scoped), 60_000)
})
