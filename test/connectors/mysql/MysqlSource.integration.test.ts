import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { MysqlSource } from "../../../src/connectors/mysql/MysqlSource.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { context, decode, readAll, sql, withDatabase } from "./support.ts"

const open = (url: string, raw: object, ctx = context("my")) =>
  MysqlSource.open(decode(MysqlSource.config, { connection_string: url, ...raw }), ctx)

const TYPES_DDL = `CREATE TABLE t (
  id INT PRIMARY KEY,
  ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, i INT UNSIGNED,
  big BIGINT, ubig BIGINT UNSIGNED,
  dec1 DECIMAL(30,10), dec2 DECIMAL(5,2),
  f FLOAT, d DOUBLE,
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), y YEAR,
  c CHAR(3), vc VARCHAR(20), tx TEXT, en ENUM('a','b'), st SET('x','y'),
  bn BINARY(3), vb VARBINARY(10), bl BLOB, bt BIT(12),
  j JSON, u UUID
)`

describe("MysqlSource", () => {
  it.live("reads every common type exactly", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_types")
      yield* sql(
        url,
        TYPES_DDL,
        "SET time_zone = '+02:00'",
        `INSERT INTO t VALUES (1, -128, 65535, -8388608, 4294967295,
          -9223372036854775808, 18446744073709551615,
          12345678901234567890.0123456789, -0.50,
          1.5, 0.1,
          '9999-12-31', '2024-02-29 13:45:00.123456', '2024-06-01 02:30:00.250', '-838:59:59.000000', 2155,
          'ab', 'héllo ✓', 'long text', 'b', 'x,y',
          x'000102', x'ff00', x'deadbeef', b'101000000001',
          '{"n": 12345678901234567890, "x": 2.50}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`,
        `INSERT INTO t (id) VALUES (2)`
      )
      const rows = yield* readAll(yield* open(url, { table: "t" }))
      assert.strictEqual(rows.length, 2)
      const r = rows[0]
      assert.deepStrictEqual(
        { ...r, bn: undefined, vb: undefined, bl: undefined, bt: undefined },
        {
          id: 1, ti: -128, si: 65535, mi: -8388608, i: 4294967295,
          big: -9223372036854775808n, ubig: 18446744073709551615n,
          dec1: "12345678901234567890.0123456789", dec2: "-0.50",
          f: 1.5, d: 0.1,
          dt: "9999-12-31", dtm: "2024-02-29 13:45:00.123456",
          // inserted in +02:00: read in UTC, never shifted by the driver
          ts: "2024-06-01 00:30:00.250", tm: "-838:59:59.000000", y: 2155,
          c: "ab", vc: "héllo ✓", tx: "long text", en: "b", st: "x,y",
          bn: undefined, vb: undefined, bl: undefined, bt: undefined,
          j: '{"n": 12345678901234567890, "x": 2.50}', u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        }
      )
      assert.deepStrictEqual(r.bn, new Uint8Array([0, 1, 2]))
      assert.deepStrictEqual(r.vb, new Uint8Array([0xff, 0]))
      assert.deepStrictEqual(r.bl, new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
      assert.deepStrictEqual(r.bt, new Uint8Array([0x0a, 0x01]))
      // NULLs stay null
      assert.isTrue(Object.entries(rows[1]).every(([k, v]) => k === "id" || v === null))
      const asString = yield* readAll(yield* open(url, { table: "t", bigint: "string" }))
      assert.strictEqual(asString[0].ubig, "18446744073709551615")
    }).pipe(Effect.scoped), 60_000)

  it.live("a zero date fails naming its column and row, or reads as null with zero_dates: null", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_zero")
      yield* sql(url, "CREATE TABLE z (id INT PRIMARY KEY, d DATETIME)", "SET sql_mode = ''", "INSERT INTO z VALUES (1, '2024-01-01 00:00:00'), (7, '0000-00-00 00:00:00')")
      const exit = yield* Effect.exit(readAll(yield* open(url, { table: "z" })))
      assert.isTrue(Exit.isFailure(exit))
      const text = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.include(text, "key (7)")
      assert.include(text, "column 'd'")
      const rows = yield* readAll(yield* open(url, { table: "z", zero_dates: "null" }))
      assert.deepStrictEqual(rows.map((r) => r.d), ["2024-01-01 00:00:00", null])
    }).pipe(Effect.scoped), 60_000)

  it.live("incremental: rows sharing a cursor value are neither lost nor read twice; initial_value is exclusive", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_inc")
      yield* sql(
        url,
        "CREATE TABLE e (id BIGINT PRIMARY KEY, at DATETIME(6) NOT NULL)",
        "INSERT INTO e VALUES (1,'2024-01-01 00:00:00.000001'),(2,'2024-01-01 00:00:00.000001'),(3,'2024-01-01 00:00:00.000001'),(4,'2024-01-01 00:00:00.000001'),(5,'2024-01-01 00:00:00.000001'),(6,'2024-01-02'),(7,'2024-01-02'),(0,'2023-01-01')"
      )
      const config = { table: "e", incremental: { column: "at", initial_value: "2023-01-01 00:00:00" } }
      const first = yield* open(url, config)
      const a = yield* first.readBatch(3)
      assert.deepStrictEqual(a!.records.map((r) => r.id), [1n, 2n, 3n])
      const position = yield* first.position
      yield* sql(url, "INSERT INTO e VALUES (8,'2024-01-01 00:00:00.000001'),(9,'2024-01-03')")
      const second = yield* open(url, config)
      yield* second.seek(position)
      assert.deepStrictEqual((yield* readAll(second, 2)).map((r) => r.id), [4n, 5n, 8n, 6n, 7n, 9n])
      const end = yield* second.position
      yield* sql(url, "INSERT INTO e VALUES (10,'2024-01-03'),(11,'2024-02-01')")
      const third = yield* open(url, config)
      yield* third.seek(end)
      assert.deepStrictEqual((yield* readAll(third)).map((r) => r.id), [10n, 11n])
    }).pipe(Effect.scoped), 60_000)

  it.live("incremental with a nullable cursor: NULLs are read once, first, and never again", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_incnull")
      yield* sql(url, "CREATE TABLE e (id INT PRIMARY KEY, v BIGINT NULL)", "INSERT INTO e VALUES (1,NULL),(2,9007199254740993),(3,NULL),(4,NULL),(5,9007199254740992)")
      const config = { table: "e", incremental: { column: "v" } }
      const first = yield* open(url, config)
      assert.deepStrictEqual((yield* first.readBatch(2))!.records.map((r) => r.id), [1, 3])
      const inNulls = yield* first.position
      assert.deepStrictEqual(inNulls, { offset: 2, cursor: null, key: ["3"], range: null })
      const resumed = yield* open(url, config)
      yield* resumed.seek(inNulls)
      // BIGINT cursors compare exactly beyond 2^53 (9007199254740992 < 9007199254740993)
      assert.deepStrictEqual((yield* readAll(resumed)).map((r) => r.id), [4, 5, 2])
      const end = yield* resumed.position
      yield* sql(url, "INSERT INTO e VALUES (6, NULL), (7, 9007199254740994)")
      const again = yield* open(url, config)
      yield* again.seek(end)
      // a NULL added later is behind the position: not read (documented)
      assert.deepStrictEqual((yield* readAll(again)).map((r) => r.id), [7])
    }).pipe(Effect.scoped), 60_000)

  it.live("partitioned read: instances read disjoint ranges that cover the table", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_part")
      yield* sql(url, "CREATE TABLE p (id BIGINT PRIMARY KEY, v VARCHAR(10))")
      yield* sql(url, ...Array.from({ length: 10 }, (_, k) => `INSERT INTO p VALUES ${Array.from({ length: 100 }, (_, j) => `(${k * 1000 + j * 7}, 'v')`).join(",")}`))
      const ids: Array<bigint> = []
      for (let i = 0; i < 3; i++) {
        const part = yield* readAll(yield* open(url, { table: "p" }, context("my", 100, i, 3)))
        assert.isAbove(part.length, 0)
        for (const r of part) ids.push(r.id as bigint)
      }
      assert.strictEqual(ids.length, 1000)
      assert.strictEqual(new Set(ids).size, 1000)
    }).pipe(Effect.scoped), 60_000)

  it.live("a query is read whole, positioned by row count", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_query")
      yield* sql(url, "CREATE TABLE q (id INT PRIMARY KEY, amount DECIMAL(10,2))", "INSERT INTO q VALUES (1, 1.10), (2, 2.20), (3, 3.30)")
      const reader = yield* open(url, { query: "SELECT id, amount * 2 AS twice FROM q ORDER BY id" })
      yield* reader.readBatch(2)
      const position = yield* reader.position
      const resumed = yield* open(url, { query: "SELECT id, amount * 2 AS twice FROM q ORDER BY id" })
      yield* resumed.seek(position)
      assert.deepStrictEqual(yield* readAll(resumed), [{ id: 3, twice: "6.60" }])
    }).pipe(Effect.scoped), 60_000)

  it.live("check refuses a missing table; an unreachable server fails within bounded time", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_check")
      const missing = yield* Effect.exit(MysqlSource.check(decode(MysqlSource.config, { connection_string: url, table: "nope" })))
      assert.include(String(Exit.isFailure(missing) ? missing.cause : ""), "table 'nope' does not exist")
      const unreachable = yield* Effect.exit(
        MysqlSource.check(decode(MysqlSource.config, { connection_string: "mysql://root:s3cret@127.0.0.1:1/x", table: "t" }))
      )
      const text = String(Exit.isFailure(unreachable) ? unreachable.cause : "")
      assert.include(text, "ECONNREFUSED")
      assert.notInclude(text, "s3cret")
      const denied = yield* Effect.flip(
        MysqlSource.check(decode(MysqlSource.config, { connection_string: "mysql://nobody_df@127.0.0.1:3306/x", password: "s3cret", table: "t" }))
      )
      assert.strictEqual(denied.reason._tag, "ConfigurationError")
      assert.include(denied.message, "Access denied")
      assert.notInclude(denied.message, "s3cret")
    }).pipe(Effect.scoped), 60_000)

  it("refuses a bad config when decoding", () => {
    assert.throws(() => decode(MysqlSource.config, { connection_string: "postgres://x/y", table: "t" }))
    assert.throws(() => decode(MysqlSource.config, { connection_string: "mysql://h/db" }))
    assert.throws(() => decode(MysqlSource.config, { connection_string: "mysql://h/db", table: "a; DROP TABLE b" }))
    assert.throws(() => decode(MysqlSource.config, { connection_string: "mysql://h/db", query: "select 1", incremental: { column: "x" } }))
  })
})

/** 2,500 rows: more than the 1,000 a streaming read buffers before it pauses the connection. */
const slowTable = (database: string, config: object) =>
  Effect.gen(function*() {
    const url = yield* withDatabase(database)
    yield* sql(url, "CREATE TABLE s (a INT PRIMARY KEY, b VARCHAR(10))")
    yield* sql(url, `INSERT INTO s VALUES ${Array.from({ length: 2500 }, (_, i) => `(${i}, 'k${i}')`).join(",")}`)
    return { open: open(url, config) }
  })

sourceSuite(
  "MysqlSource (SourceSuite, keyed table)",
  Effect.gen(function*() {
    const url = yield* withDatabase("df_my_suite")
    yield* sql(url, "CREATE TABLE s (a INT, b VARCHAR(10), v DECIMAL(8,3), PRIMARY KEY (a, b))")
    yield* sql(url, `INSERT INTO s VALUES ${Array.from({ length: 60 }, (_, i) => `(${i % 7}, 'k${i}', ${i}.125)`).join(",")}`)
    return { open: open(url, { table: "s" }) }
  }),
  { backpressure: { source: slowTable("df_my_suite_slow", { table: "s" }) } }
)

sourceSuite(
  "MysqlSource (SourceSuite, keyless table)",
  Effect.gen(function*() {
    const url = yield* withDatabase("df_my_suite2")
    yield* sql(url, "CREATE TABLE s (a INT, b VARCHAR(10))")
    yield* sql(url, `INSERT INTO s VALUES ${Array.from({ length: 40 }, (_, i) => `(${i}, 'k${i}')`).join(",")}`)
    return { open: open(url, { query: "SELECT * FROM s ORDER BY a" }) }
  }),
  { backpressure: { source: slowTable("df_my_suite_slow2", { query: "SELECT * FROM s ORDER BY a" }) } }
)
