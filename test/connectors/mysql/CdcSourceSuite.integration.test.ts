/**
 * The `mysql-cdc` source through the shared source conformance suite, as an unbounded source, on
 * a binlog-enabled MariaDB of its own: 30 changes in three transactions; a slow pipeline over
 * 10,500 changes never makes the reader hold more than its bound. Binlog positions are not
 * acknowledged to the server (the binlog is the log; the checkpoint holds the position), so the
 * `acknowledges` and `upstream` cases do not apply: a reader opened without `seek` starts where
 * `start` says, whatever was committed.
 */
import { Effect } from "effect"
import { MysqlCdc } from "../../../src/connectors/mysql/MysqlCdc.ts"
import { sourceSuite } from "../../../src/testing/vitest.ts"
import { useBinlogServer } from "./binlogServer.ts"
import { context, decode, sql } from "./support.ts"

const server = useBinlogServer(21)

let cases = 0

sourceSuite(
  "mysql-cdc source conformance",
  Effect.gen(function*() {
    const table = `brokers_cdc.t${++cases}`
    yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS brokers_cdc", `CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(10))`)
    yield* sql(server.url, `INSERT INTO ${table} VALUES ${Array.from({ length: 10 }, (_, i) => `(${i}, 'a')`).join(",")}`)
    yield* sql(server.url, "START TRANSACTION", ...Array.from({ length: 10 }, (_, i) => `INSERT INTO ${table} VALUES (${100 + i}, 'b')`), "COMMIT")
    yield* sql(server.url, `UPDATE ${table} SET v = 'c' WHERE id < 10`)
    const config = decode(MysqlCdc.config, { connection_string: `${server.url}/brokers_cdc`, server_id: 931, tables: [table], start: "beginning" })
    return { open: MysqlCdc.open(config, context("cdc")) }
  }),
  {
    batchSizes: [1, 7, 1000],
    seekTargets: 8,
    unbounded: { records: 30, idleMs: 2000 },
    misconfigured: MysqlCdc.open(
      decode(MysqlCdc.config, { connection_string: "mysql://root@127.0.0.1:1/brokers_cdc", server_id: 932, tables: ["t"] }),
      context("cdc")
    ),
    // 10,500 changes in transactions of 700, read with batches of 10: more than the 1,000 the
    // reader buffers before it pauses the binlog socket plus the rows event then in hand
    backpressure: {
      records: 10_500,
      source: Effect.gen(function*() {
      const table = `brokers_cdc.t${++cases}`
      yield* sql(server.url, "CREATE DATABASE IF NOT EXISTS brokers_cdc", `CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(10))`)
      for (let t = 0; t < 15; t++) {
        yield* sql(server.url, `INSERT INTO ${table} VALUES ${Array.from({ length: 700 }, (_, i) => `(${t * 700 + i}, 'a')`).join(",")}`)
      }
      const config = decode(MysqlCdc.config, { connection_string: `${server.url}/brokers_cdc`, server_id: 933, tables: [table], start: "beginning" })
      return { open: MysqlCdc.open(config, context("cdc", 10)) }
    })
    },
    timeout: 120_000
  }
)
