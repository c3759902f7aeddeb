import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Position } from "../../../src/Batch.ts"
import type * as Connector from "../../../src/Connector.ts"
import * as Batch from "../../../src/Batch.ts"
import { type ChangeRecord, MysqlCdc } from "../../../src/connectors/mysql/MysqlCdc.ts"
import { MysqlSink } from "../../../src/connectors/mysql/MysqlSink.ts"
import { useBinlogServer } from "./binlogServer.ts"
import { context, decode, SERVER, sql } from "./support.ts"

const server = useBinlogServer(11)

const open = (raw: object) => MysqlCdc.open(decode(MysqlCdc.config, { connection_string: `${server.url}/d`, server_id: 901, ...raw }), context("cdc"))

/** Reads until `n` records arrived; the records and the position after each batch. */
const readN = (reader: Connector.SourceReader<ChangeRecord>, n: number, max = 1000) =>
  Effect.gen(function*() {
    const records: Array<ChangeRecord> = []
    const cuts: Array<{ readonly count: number; readonly position: Position }> = []
    for (let spins = 0; records.length < n; spins++) {
      if (spins > 600) throw new Error(`only ${records.length} of ${n} changes arrived`)
      const batch = yield* reader.readBatch(max)
      for (let i = batch!.start; i < batch!.end; i++) records.push(batch!.records[i])
      const position = yield* reader.position
      assert.deepStrictEqual(batch!.origin?.position, position)
      if (batch!.end > batch!.start) cuts.push({ count: records.length, position })
    }
    return { records, cuts }
  })

describe("MysqlCdc", () => {
  it.live("streams inserts, updates and deletes with before and after images, values exact", () =>
    Effect.gen(function*() {
      yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS d", "CREATE TABLE d.a (id BIGINT PRIMARY KEY, amount DECIMAL(20,4), b VARBINARY(4), at DATETIME(6), j JSON)", "CREATE TABLE d.other (id INT)")
      const reader = yield* open({ tables: ["a"] })
      yield* reader.readBatch(10)
      yield* sql(
        server.url,
        "INSERT INTO d.a VALUES (9007199254740993, 12345678901234.5678, x'00ff', '2024-02-29 23:59:59.999999', '{\"n\": 12345678901234567890}')",
        "INSERT INTO d.other VALUES (1)",
        "UPDATE d.a SET amount = 0.0001 WHERE id = 9007199254740993",
        "DELETE FROM d.a"
      )
      const { records } = yield* readN(reader, 3)
      const row = { id: 9007199254740993n, amount: "12345678901234.5678", b: new Uint8Array([0, 255]), at: "2024-02-29 23:59:59.999999", j: '{"n": 12345678901234567890}' }
      assert.deepStrictEqual(records.map((r) => ({ ...r, timestamp: 0 })), [
        { op: "insert", table: "d.a", before: null, after: row, timestamp: 0 },
        { op: "update", table: "d.a", before: row, after: { ...row, amount: "0.0001" }, timestamp: 0 },
        { op: "delete", table: "d.a", before: { ...row, amount: "0.0001" }, after: null, timestamp: 0 }
      ])
    }).pipe(Effect.scoped), 120_000)

  it.live("bigint: string gives BIGINT digits; a zero date fails naming the column, or is null with zero_dates: null", () =>
    Effect.gen(function*() {
      yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS d", "CREATE TABLE d.z (id BIGINT PRIMARY KEY, at DATETIME)")
      const strict = yield* open({ tables: ["z"], bigint: "string" })
      const lenient = yield* open({ tables: ["z"], zero_dates: "null", server_id: 902 })
      yield* strict.readBatch(10)
      yield* lenient.readBatch(10)
      yield* sql(server.url, "INSERT INTO d.z VALUES (18014398509481985, '2024-01-01 00:00:00')", "SET sql_mode = ''", "INSERT INTO d.z VALUES (2, '0000-00-00 00:00:00')")
      const first = yield* readN(strict, 1)
      assert.strictEqual(first.records[0].after?.id, "18014398509481985")
      let failure: unknown
      for (let i = 0; i < 100 && failure === undefined; i++) failure = yield* Effect.flip(strict.readBatch(10)).pipe(Effect.orElseSucceed(() => undefined))
      assert.include(String((failure as { message?: string }).message), "column 'at' of d.z holds the zero date")
      const both = yield* readN(lenient, 2)
      assert.deepStrictEqual(both.records.map((r) => r.after), [{ id: 18014398509481985n, at: "2024-01-01 00:00:00" }, { id: 2n, at: null }])
    }).pipe(Effect.scoped), 120_000)

  it.live("lag: the binlog bytes not read yet, measured at the first read", () =>
    Effect.gen(function*() {
      yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS d", "CREATE TABLE d.l (id INT PRIMARY KEY, v VARCHAR(100))")
      const reader = yield* open({ tables: ["l"], server_id: 903 })
      assert.strictEqual(reader.lag?.(), undefined, "not measured before the first read")
      yield* sql(server.url, `INSERT INTO d.l VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i}, '${"x".repeat(90)}')`).join(",")}`)
      yield* reader.readBatch(1)
      const lag = reader.lag?.()
      assert.strictEqual(lag?.unit, "bytes")
      // the whole insert (2000 rows of about 100 bytes) is ahead of the position of a first read
      assert.isAbove(lag?.value ?? 0, 150_000)
    }).pipe(Effect.scoped), 60_000)

  it.live("snapshot: the tables' rows first (op read), then the changes from the snapshot's binlog position; a resume mid-snapshot loses nothing", () =>
    Effect.gen(function*() {
      yield* sql(
        server.url,
        "CREATE DATABASE IF NOT EXISTS s",
        "CREATE TABLE s.a (id INT PRIMARY KEY, v VARCHAR(10))",
        "CREATE TABLE s.b (k VARCHAR(10), n INT, PRIMARY KEY (k, n))",
        `INSERT INTO s.a VALUES ${Array.from({ length: 25 }, (_, i) => `(${i}, 'a${i}')`).join(",")}`,
        "INSERT INTO s.b VALUES ('x', 1), ('x', 2), ('y', 1)"
      )
      const config = { connection_string: `${server.url}/s`, tables: ["a", "b"], snapshot: true }
      const first = yield* MysqlCdc.open(decode(MysqlCdc.config, { ...config, server_id: 911 }), context("cdc"))
      const head = (yield* first.readBatch(10))!.records
      assert.deepStrictEqual(head.map((r) => [r.op, r.table, r.after?.id]), Array.from({ length: 10 }, (_, i) => ["read", "s.a", i]))
      const mid = yield* first.position
      assert.deepStrictEqual((mid as { snapshot: unknown }).snapshot, { table: 0, key: ["9"] })
      // changes after the snapshot began: streamed after it
      yield* sql(server.url, "UPDATE s.a SET v = 'new' WHERE id = 3", "DELETE FROM s.a WHERE id = 20", "INSERT INTO s.b VALUES ('z', 9)")
      const rest = (yield* readN(first, 15 + 3 + 3)).records
      assert.deepStrictEqual(rest.slice(0, 18).map((r) => [r.op, r.table]), [
        ...Array.from({ length: 15 }, () => ["read", "s.a"]),
        ["read", "s.b"],
        ["read", "s.b"],
        ["read", "s.b"]
      ])
      assert.deepStrictEqual(rest.slice(18).map((r) => [r.op, r.table]), [["update", "s.a"], ["delete", "s.a"], ["insert", "s.b"]])
      // a resume from the middle of the snapshot: the rest of the snapshot (as it is now), then
      // every change since the first snapshot's position, so an upsert destination ends right
      const resumed = yield* MysqlCdc.open(decode(MysqlCdc.config, { ...config, server_id: 912 }), context("cdc"))
      yield* resumed.seek(mid)
      const again = (yield* readN(resumed, 14 + 4 + 3)).records
      assert.deepStrictEqual(again.slice(0, 14).map((r) => r.after?.id), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 24])
      assert.deepStrictEqual(again.slice(18).map((r) => r.op), ["update", "delete", "insert"])
      assert.throws(() => decode(MysqlCdc.config, { ...config, server_id: 1, start: "beginning" }))
    }).pipe(Effect.scoped), 120_000)

  it.live("a reader seeking to the position after any batch continues exactly there, inside transactions and across a binlog rotation", () =>
    Effect.gen(function*() {
      yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS d", "CREATE TABLE d.r (id INT PRIMARY KEY, v VARCHAR(10))")
      const first = yield* open({ tables: ["d.r"] })
      yield* first.readBatch(1)
      const start = yield* first.position
      // 3 transactions: 10 rows in one statement, 5 single-row statements in one, 4 more in another
      yield* sql(server.url, `INSERT INTO d.r VALUES ${Array.from({ length: 10 }, (_, i) => `(${i}, 'a')`).join(",")}`)
      yield* sql(server.url, "START TRANSACTION", ...Array.from({ length: 5 }, (_, i) => `INSERT INTO d.r VALUES (${100 + i}, 'b')`), "COMMIT")
      // a new binlog file between transactions: positions name the file they are in
      yield* sql(server.url, "FLUSH BINARY LOGS")
      yield* sql(server.url, "UPDATE d.r SET v = 'c' WHERE id < 4")
      const total = 19
      const full = yield* readN(first, total, 3)
      assert.strictEqual(full.records.length, total)
      const files = new Set(full.cuts.map((c) => (c.position as { file: string }).file))
      assert.strictEqual(files.size, 2, "the positions span the rotation")
      for (const cut of [{ count: 0, position: start }, ...full.cuts]) {
        const rest = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* open({ tables: ["d.r"] })
          yield* reader.seek(cut.position)
          return (yield* readN(reader, total - cut.count, 4)).records
        }))
        assert.deepStrictEqual([...full.records.slice(0, cut.count), ...rest], full.records, `seek to ${JSON.stringify(cut.position)}`)
      }
    }).pipe(Effect.scoped), 180_000)

  it.live("the mysql sink's XA protocol on a server writing its binlog: after a crash each row is in the table once, nothing left prepared", () =>
    Effect.gen(function*() {
      yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS x", "CREATE TABLE x.t (id INT PRIMARY KEY)")
      const sinkConfig = decode(MysqlSink.config, { connection_string: `${server.url}/x`, table: "t", workflow: "xa" })
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* MysqlSink.open(sinkConfig, context("out"))
        yield* w.restore!(undefined)
        yield* w.writeBatch(Batch.make([{ id: 1 }, { id: 2 }]))
        yield* w.preCommit!(1)
        yield* w.commit!(1)
        yield* w.writeBatch(Batch.make([{ id: 3 }]))
        yield* w.preCommit!(2)
        // crash: checkpoint 2 prepared, never recorded
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* MysqlSink.open(sinkConfig, context("out"))
        yield* w.restore!(1)
        yield* w.writeBatch(Batch.make([{ id: 3 }]))
        yield* w.preCommit!(2)
        yield* w.commit!(2)
      }))
      assert.deepStrictEqual(yield* sql(server.url, "SELECT id FROM x.t ORDER BY id"), [{ id: 1 }, { id: 2 }, { id: 3 }])
      assert.deepStrictEqual((yield* sql(server.url, "XA RECOVER")).length, 0)
    }).pipe(Effect.scoped), 60_000)

  it.live("check refuses a server without a ROW binlog and a missing table; an unreachable server fails within bounded time", () =>
    Effect.gen(function*() {
      const check = (raw: object) => Effect.flip(MysqlCdc.check(decode(MysqlCdc.config, { server_id: 5, ...raw })))
      const off = yield* check({ connection_string: `${SERVER}/test`, tables: ["t"] })
      assert.include(off.message, "binary log is off")
      yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS d")
      const missing = yield* check({ connection_string: `${server.url}/d`, tables: ["nope"] })
      assert.include(missing.message, "table 'd.nope' does not exist")
      const down = yield* check({ connection_string: "mysql://repl:secretpw@127.0.0.1:1/d", tables: ["t"] })
      assert.strictEqual(down.reason._tag, "ConnectionError")
      assert.notInclude(down.message, "secretpw")
      assert.throws(() => decode(MysqlCdc.config, { connection_string: `${server.url}/d`, tables: [] , server_id: 1 }))
      assert.throws(() => decode(MysqlCdc.config, { connection_string: `${server.url}/d`, tables: ["t"], server_id: 0 }))
    }), 60_000)
})
