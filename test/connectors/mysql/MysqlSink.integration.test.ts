import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Batch from "../../../src/Batch.ts"
import { MysqlSink } from "../../../src/connectors/mysql/MysqlSink.ts"
import { MysqlSource } from "../../../src/connectors/mysql/MysqlSource.ts"
import { context, decode, readAll, sql, withDatabase } from "./support.ts"

const sink = (url: string, raw: object, ctx = context("out")) => MysqlSink.open(decode(MysqlSink.config, { connection_string: url, ...raw }), ctx)
const write = (w: Effect.Success<ReturnType<typeof sink>>, records: ReadonlyArray<object>) => w.writeBatch(Batch.make(records as ReadonlyArray<{ [k: string]: unknown }>))
const ids = (url: string, table = "t") => Effect.map(sql(url, `SELECT id FROM ${table} ORDER BY id`), (rows) => rows.map((r) => Number(r.id)))

describe("MysqlSink", () => {
  it.live("exactly-once insert: a crash after preCommit rolls back the prepared checkpoint; a completed one is committed by the restore", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_xa")
      yield* sql(url, "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))")
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", workflow: "wf" })
        yield* w.restore!(undefined)
        yield* write(w, [{ id: 1, name: "a" }, { id: 2, name: "b" }])
        yield* w.preCommit!(1)
        // prepared, not visible before the checkpoint completes
        assert.deepStrictEqual(yield* ids(url), [])
        yield* w.commit!(1)
        assert.deepStrictEqual(yield* ids(url), [1, 2])
        yield* write(w, [{ id: 3, name: "c" }])
        yield* w.preCommit!(2)
        yield* write(w, [{ id: 4, name: "d" }])
        // crash: checkpoint 2 prepared but never recorded; row 4 not even prepared
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", workflow: "wf" })
        yield* w.restore!(1)
        assert.deepStrictEqual(yield* ids(url), [1, 2])
        yield* write(w, [{ id: 3, name: "c" }])
        yield* w.preCommit!(2)
        // crash after the checkpoint record, before commit(2)
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", workflow: "wf" })
        yield* w.restore!(2)
        assert.deepStrictEqual(yield* ids(url), [1, 2, 3])
        const xa = yield* sql(url, "XA RECOVER")
        assert.deepStrictEqual(xa, [])
      }))
      // the checkpoint table holds 2: resuming from 1 is refused, before anything opens
      const refused = yield* Effect.flip(
        MysqlSink.checkRestore!(decode(MysqlSink.config, { connection_string: url, table: "t", workflow: "wf" }), {
          workflow: "wf",
          node: "out",
          instance: 0,
          parallelism: 1,
          checkpoint: 1
        })
      )
      assert.include(String(refused.message ?? refused), "already holds the rows of checkpoint 2")
      const fine = yield* Effect.exit(
        MysqlSink.checkRestore!(decode(MysqlSink.config, { connection_string: url, table: "t", workflow: "wf" }), {
          workflow: "wf",
          node: "out",
          instance: 0,
          parallelism: 1,
          checkpoint: 2
        })
      )
      assert.isTrue(Exit.isSuccess(fine))
    }).pipe(Effect.scoped), 60_000)

  it.live("sessions killed by the server mid-checkpoint: the transaction is written again, each row once", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_kill")
      const db = url.slice(url.lastIndexOf("/") + 1)
      yield* sql(url, "CREATE TABLE t (id INT NOT NULL, name VARCHAR(20))")
      /** Kills every session on the test database but the one asking. */
      const killSessions = Effect.gen(function*() {
        const ids = yield* sql(url, ["SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", [db]])
        for (const r of ids) yield* sql(url, `KILL CONNECTION ${Number(r.id)}`).pipe(Effect.ignore)
        return ids.length
      })
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", workflow: "k", retry: { attempts: 5, delay: "10ms" } })
        yield* w.restore!(undefined)
        yield* write(w, [{ id: 1, name: "a" }, { id: 2, name: "b" }])
        assert.isAtLeast(yield* killSessions, 2, "the write and control sessions were killed")
        // the open transaction was lost: it is begun again and batch 1 written again before batch 2
        yield* write(w, [{ id: 3, name: "c" }])
        yield* killSessions
        yield* w.preCommit!(1)
        yield* killSessions
        yield* w.commit!(1)
        yield* write(w, [{ id: 4, name: "d" }])
        yield* w.preCommit!(2)
        yield* w.commit!(2)
      }))
      assert.deepStrictEqual(yield* ids(url), [1, 2, 3, 4])
    }).pipe(Effect.scoped), 60_000)

  it.live("upsert applies each record's own fields, whatever the batching, and change records (deletes by key)", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_up")
      yield* sql(url, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10) DEFAULT 'da', b INT DEFAULT 7)", "INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)")
      const records = [
        { id: 1, a: "new" },
        { id: 2, b: 20 },
        { id: 3, a: "three" },
        { op: "update", before: { id: 1 }, after: { id: 1, b: 10 } },
        { op: "delete", before: { id: 2, a: "y", b: 20 }, after: null },
        { op: "insert", before: null, after: { id: 4, a: "four", b: 4 } }
      ]
      for (const size of [1, 2, 6]) {
        yield* sql(url, "DELETE FROM t", "INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)")
        yield* Effect.scoped(Effect.gen(function*() {
          const w = yield* sink(url, { table: "t", mode: "upsert" })
          for (let i = 0; i < records.length; i += size) yield* write(w, records.slice(i, i + size))
        }))
        const rows = yield* sql(url, "SELECT id, a, b FROM t ORDER BY id")
        assert.deepStrictEqual(rows, [{ id: 1, a: "new", b: 10 }, { id: 3, a: "three", b: 7 }, { id: 4, a: "four", b: 4 }], `batch size ${size}`)
      }
    }).pipe(Effect.scoped), 60_000)

  it.live("replace empties the table once, in the first transaction, not again after a restore", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_rep")
      yield* sql(url, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (100), (101)")
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", mode: "replace", workflow: "r" })
        yield* w.restore!(undefined)
        yield* write(w, [{ id: 1 }])
        yield* w.preCommit!(1)
        // old rows are still there until the checkpoint completes
        assert.deepStrictEqual(yield* ids(url), [100, 101])
        yield* w.commit!(1)
        yield* write(w, [{ id: 2 }])
        yield* w.preCommit!(2)
        yield* w.commit!(2)
      }))
      assert.deepStrictEqual(yield* ids(url), [1, 2])
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", mode: "replace", workflow: "r" })
        yield* w.restore!(2)
        yield* write(w, [{ id: 3 }])
        yield* w.preCommit!(3)
        yield* w.commit!(3)
      }))
      assert.deepStrictEqual(yield* ids(url), [1, 2, 3])
    }).pipe(Effect.scoped), 60_000)

  it.live("at-least-once commits at the barrier; a crash before the checkpoint completes is accepted (slack of one)", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_alo")
      yield* sql(url, "CREATE TABLE t (id INT, PRIMARY KEY (id))")
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", guarantee: "at-least-once", workflow: "a" })
        yield* w.restore!(undefined)
        yield* write(w, [{ id: 1 }])
        yield* w.preCommit!(1)
        assert.deepStrictEqual(yield* ids(url), [1])
        yield* w.commit!(1)
        yield* write(w, [{ id: 2 }])
        yield* w.preCommit!(2)
        // crash: checkpoint 2 committed its rows but was never recorded
      }))
      // resuming from 1 is allowed (the rows of 2 are written again: at-least-once)
      const again = yield* Effect.exit(Effect.scoped(Effect.flatMap(sink(url, { table: "t", guarantee: "at-least-once", workflow: "a" }), (w) => w.restore!(1))))
      assert.isTrue(Exit.isSuccess(again))
      const ok = yield* Effect.exit(Effect.scoped(Effect.flatMap(sink(url, { table: "t", guarantee: "at-least-once", workflow: "a" }), (w) => w.restore!(undefined).pipe(Effect.andThen(Effect.void)))))
      // from the start without --from-scratch: the table is ahead
      assert.isTrue(Exit.isFailure(ok))
      const scratch = yield* Effect.exit(Effect.scoped(Effect.flatMap(sink(url, { table: "t", guarantee: "at-least-once", workflow: "a" }, context("out", 1000, 0, 1, { fromScratch: true })), (w) => w.restore!(undefined))))
      assert.isTrue(Exit.isSuccess(scratch))
    }).pipe(Effect.scoped), 60_000)

  it.live("every common type goes source -> sink exactly (CHECKSUM TABLE equal)", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_types")
      yield* sql(
        url,
        `CREATE TABLE t (id INT PRIMARY KEY, ti TINYINT, i INT UNSIGNED, big BIGINT, ubig BIGINT UNSIGNED, dec1 DECIMAL(30,10),
          f FLOAT, d DOUBLE, dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), y YEAR, vc VARCHAR(20), tx TEXT,
          en ENUM('a','b'), st SET('x','y'), bn BINARY(3), vb VARBINARY(10), bl BLOB, bt BIT(12), j JSON, u UUID)`,
        "CREATE TABLE t2 LIKE t",
        `INSERT INTO t VALUES (1, -128, 4294967295, -9223372036854775808, 18446744073709551615, -12345678901234567890.0123456789,
          3.40282e38, 2.2250738585072014e-308, '1000-01-01', '2024-02-29 13:45:00.123456', '1970-01-01 00:00:01.000001', '838:59:59.999999', 1901,
          'héllo ✓ \\\\ '' "', 'x', 'a', 'x,y', x'00ff00', x'', x'00', b'111111111111', '{"n": 12345678901234567890, "x": 2.50}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
          (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (3, 0, 0, 0, 0, 0, -0.0, 0.1, '2000-01-01', '2000-01-01 00:00:00', '2038-01-19 03:14:07.999999', '-00:00:00.000001', 2000, '', '', 'b', '', x'000000', x'ff', x'ffff', b'0', '[]', '00000000-0000-0000-0000-000000000000')`
      )
      const rows = yield* readAll(yield* MysqlSource.open(decode(MysqlSource.config, { connection_string: url, table: "t" }), context("src")))
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t2", workflow: "types" })
        yield* w.restore!(undefined)
        yield* w.writeBatch(Batch.make(rows))
        yield* w.preCommit!(1)
        yield* w.commit!(1)
      }))
      const [a, b] = [yield* sql(url, "CHECKSUM TABLE t"), yield* sql(url, "CHECKSUM TABLE t2")]
      assert.strictEqual(String(a[0].Checksum), String(b[0].Checksum))
      const diff = yield* sql(url, "SELECT COUNT(*) AS n FROM t JOIN t2 USING (id) WHERE NOT (t.j <=> t2.j AND t.dtm <=> t2.dtm AND t.dec1 <=> t2.dec1 AND t.bl <=> t2.bl)")
      assert.strictEqual(Number(diff[0].n), 0)
    }).pipe(Effect.scoped), 60_000)

  it.live("a refused row fails the write naming the record, its key and the reason; an unknown field is refused", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_rej")
      yield* sql(url, "CREATE TABLE t (id INT PRIMARY KEY, n TINYINT NOT NULL)")
      const w = yield* sink(url, { table: "t" })
      const e = yield* Effect.flip(write(w, [{ id: 1, n: 1 }, { id: 2, n: 1000 }, { id: 3, n: 3 }]))
      assert.strictEqual(e._tag, "RecordError")
      assert.include(e.message, "record 2 of the batch (key id=2)")
      assert.include(e.message, "Out of range")
      const unknown = yield* Effect.flip(write(w, [{ id: 5, n: 1, nope: 2 }]))
      assert.include(unknown.message, "field 'nope' is not a column")
      assert.deepStrictEqual(yield* ids(url), [])
    }).pipe(Effect.scoped), 60_000)

  it.live("booleans into text columns are what MySQL's own cast gives; a later record's unknown field is refused naming it and the table", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_bool")
      yield* sql(url, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), x TEXT, c CHAR(5), b BOOLEAN)")
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t" })
        yield* write(w, [{ id: 1, v: true, x: true, c: true, b: true }, { id: 2, v: false, x: false, c: false, b: false }])
        yield* w.preCommit!(1)
        yield* w.commit!(1)
      }))
      const [cast] = yield* sql(url, "SELECT CAST(TRUE AS CHAR) AS t, CAST(FALSE AS CHAR) AS f")
      const rows = yield* sql(url, "SELECT id, v, x, c, b FROM t ORDER BY id")
      assert.deepStrictEqual(rows.map((r) => [r.v, r.x, r.c, Number(r.b)]), [
        [cast.t, cast.t, cast.t, 1],
        [cast.f, cast.f, cast.f, 0]
      ])
      const w = yield* sink(url, { table: "t" })
      const unknown = yield* Effect.flip(write(w, [{ id: 3, v: "a" }, { id: 4, v: "b", nope: 1 }]))
      assert.strictEqual(unknown._tag, "RecordError")
      assert.include(unknown.message, "field 'nope' is not a column")
      assert.include(unknown.message, "table 't', record 2 of the batch (key id=4)")
    }).pipe(Effect.scoped), 60_000)

  it.live("on_error: dead_letter sets refused rows aside (with the reason) and writes the others once", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_dl")
      const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "df-my-dl-")))
      yield* sql(url, "CREATE TABLE t (id INT PRIMARY KEY, n TINYINT NOT NULL)", "INSERT INTO t VALUES (7, 7)")
      const path = join(dir, "rejected.ndjson")
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* sink(url, { table: "t", workflow: "dl", on_error: "dead_letter", dead_letter: { path } })
        yield* w.restore!(undefined)
        const records = Array.from({ length: 100 }, (_, i) => ({ id: i, n: i === 13 ? 1000 : i % 100 }))
        const stats = yield* write(w, records)
        assert.strictEqual(stats.written, 98)
        yield* w.preCommit!(1)
        yield* w.commit!(1)
      }))
      assert.deepStrictEqual(yield* ids(url), Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 13))
      const letters = (yield* Effect.promise(() => readFile(path, "utf8"))).trim().split("\n").map((l) => JSON.parse(l))
      assert.deepStrictEqual(letters.map((l) => l.record.id), [7, 13])
      assert.include(letters[0].error, "Duplicate entry")
      assert.include(letters[1].error, "Out of range")
      yield* Effect.promise(() => rm(dir, { recursive: true, force: true }))
    }).pipe(Effect.scoped), 60_000)

  it.live("check refuses a missing table and a bad key; an unreachable server fails within bounded time", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_sink_check")
      yield* sql(url, "CREATE TABLE t (id INT PRIMARY KEY)")
      const check = (raw: object) => Effect.flip(MysqlSink.check(decode(MysqlSink.config, { connection_string: url, ...raw })))
      assert.include((yield* check({ table: "nope" })).message, "table 'nope' does not exist")
      assert.include((yield* check({ table: "t", key: ["zz"] })).message, "key column 'zz' is not a column")
      yield* sql(url, "CREATE TABLE nk (id INT, v INT)")
      assert.include((yield* check({ table: "nk", mode: "upsert", key: ["id"] })).message, "to be the primary key or a unique key")
      const down = yield* Effect.flip(MysqlSink.check(decode(MysqlSink.config, { connection_string: "mysql://u:pw123@127.0.0.1:1/x", table: "t" })))
      assert.strictEqual(down.reason._tag, "ConnectionError")
      assert.notInclude(down.message, "pw123")
      assert.throws(() => decode(MysqlSink.config, { connection_string: url, table: "t", mode: "merge" }))
    }).pipe(Effect.scoped), 60_000)
})
