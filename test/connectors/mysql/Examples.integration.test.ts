/**
 * The MySQL examples run through `./bin/dataflare` against real servers: `mysql-table-copy.yaml`
 * on the shared MariaDB, `mysql-cdc.yaml` on a binlog-enabled server of its own (stopped with
 * SIGTERM once the changes are applied, since a change stream never ends).
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bin, cli, tempDir } from "../../cli/support.ts"
import { useBinlogServer } from "./binlogServer.ts"
import { sql, withDatabase } from "./support.ts"

const example = (name: string) => resolve(import.meta.dirname, "../../../examples", name)

describe("MySQL examples", () => {
  it.live("mysql-table-copy.yaml copies every value exactly", () =>
    Effect.gen(function*() {
      const url = yield* withDatabase("df_my_example")
      const dir = yield* tempDir
      yield* sql(
        url,
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(12,2), placed_at DATETIME(6))",
        "CREATE TABLE orders_copy LIKE orders",
        "INSERT INTO orders VALUES (1, 'Ann', 12.50, '2024-02-29 13:45:00.123456'), (9007199254740993, 'Bob', 0.10, '1999-12-31 23:59:59.999999')"
      )
      const result = yield* cli(["run", example("mysql-table-copy.yaml"), "--state-dir", "state"], { cwd: dir, env: { MYSQL_URL: url } })
      assert.strictEqual(result.status, 0, result.stderr)
      assert.deepStrictEqual(
        yield* sql(url, "SELECT id, customer, CAST(amount AS CHAR) AS amount, placed_at FROM orders_copy ORDER BY id"),
        [
          { id: "1", customer: "Ann", amount: "12.50", placed_at: "2024-02-29 13:45:00.123456" },
          { id: "9007199254740993", customer: "Bob", amount: "0.10", placed_at: "1999-12-31 23:59:59.999999" }
        ]
      )
    }).pipe(Effect.scoped), 120_000)

  describe("mysql-cdc.yaml", () => {
    const server = useBinlogServer(31)

    it.live("applies inserts, updates and deletes to the replica", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        yield* sql(server.url, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2))", "CREATE TABLE shop.orders_replica LIKE shop.orders")
        yield* sql(server.url, "INSERT INTO shop.orders VALUES (1, 'Ann', 10), (2, 'Bob', 20), (3, 'Cy', 30)", "UPDATE shop.orders SET amount = 0.01 WHERE id = 1", "DELETE FROM shop.orders WHERE id = 2")
        const child = spawn(bin, ["run", example("mysql-cdc.yaml"), "--state-dir", "state", "--quiet"], {
          cwd: dir,
          env: { ...process.env, MYSQL_URL: `${server.url}/shop`, CDC_START: "beginning", NO_COLOR: "1" },
          stdio: ["ignore", "ignore", "pipe"]
        })
        let stderr = ""
        child.stderr!.on("data", (d) => (stderr += String(d)))
        const ended = new Promise<number | null>((r) => child.on("close", (code) => r(code)))
        const expected = [{ id: 1, customer: "Ann", amount: "0.01" }, { id: 3, customer: "Cy", amount: "30.00" }]
        let rows: ReadonlyArray<unknown> = []
        for (let i = 0; i < 600; i++) {
          rows = yield* sql(server.url, "SELECT id, customer, amount FROM shop.orders_replica ORDER BY id")
          if (JSON.stringify(rows) === JSON.stringify(expected)) break
          if (child.exitCode !== null) break
          yield* Effect.sleep("100 millis")
        }
        child.kill("SIGTERM")
        const code = yield* Effect.promise(() => ended)
        assert.deepStrictEqual(rows, expected, stderr)
        assert.strictEqual(code, 0, stderr)
      }).pipe(Effect.scoped), 120_000)
  })
})
