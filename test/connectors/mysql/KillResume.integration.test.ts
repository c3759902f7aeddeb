/**
 * Exactly-once with a real process, for each MySQL connector: `dataflare run` is killed with
 * SIGKILL twice mid-run (once as soon as the first checkpoint is recorded, once a few checkpoints
 * later), then run again; the output must hold every input row exactly once.
 *
 * - CSV -> `mysql` sink (XA exactly-once): the table holds each row once; no prepared XA
 *   transaction and no XA bookkeeping row is left.
 * - `mysql` table -> NDJSON (exactly-once file sink): each row once in the file.
 * - `mysql-cdc` -> NDJSON, on a binlog-enabled server of its own: every change once; the last run
 *   is stopped gracefully (SIGTERM) once it has written them all (a change stream never ends).
 */
import { open, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { killAt, start } from "../../cli/killRun.ts"
import { tempDir } from "../../cli/support.ts"
import { useBinlogServer } from "./binlogServer.ts"
import { sql, withDatabase } from "./support.ts"

const lines = (path: string) =>
  Effect.promise(async () => (await readFile(path, "utf8").catch(() => "")).split("\n").filter((l) => l.length > 0))

const workflow = (dir: string, interval: string, source: string, destination: string) =>
  Effect.promise(() =>
    writeFile(
      join(dir, "wf.yaml"),
      ["name: my-kill", `execution: { batch_size: 1000, checkpoint_interval: ${interval} }`, "sources:", `  input: ${source}`, "destinations:", `  out: ${destination}`].join("\n")
    )
  )

describe("mysql connectors: kill -9 of dataflare run, then resume", () => {
  it.live("CSV -> mysql sink (XA): every row exactly once, nothing left prepared", () =>
    Effect.gen(function*() {
      const ROWS = 100_000
      const url = yield* withDatabase("df_my_kill_sink")
      const dir = yield* tempDir
      yield* sql(url, "CREATE TABLE t (id INT NOT NULL, name VARCHAR(40), amount DECIMAL(10,2))")
      yield* Effect.promise(async () => {
        const file = await open(join(dir, "in.csv"), "w")
        await file.write("id,name,amount\n")
        const out: Array<string> = []
        for (let i = 1; i <= ROWS; i++) out.push(`${i},"name ${i % 97}, ""q""",${(i % 1000) / 4}`)
        await file.write(out.join("\n") + "\n")
        await file.close()
      })
      yield* workflow(dir, "50ms", "{ type: csv, config: { path: in.csv, columns: { id: integer } } }", `{ type: mysql, inputs: [input], config: { connection_string: "${url}", table: t } }`)
      const first = yield* killAt(dir, yield* start(dir), 1)
      const second = yield* killAt(dir, yield* start(dir), first + 3)
      assert.isTrue(second > first)
      const partial = yield* sql(url, "SELECT COUNT(*) AS n FROM t")
      assert.isBelow(Number(partial[0].n), ROWS, "the killed runs had not loaded everything")
      const last = yield* (yield* start(dir)).ended
      assert.strictEqual(last.code, 0, last.stderr)
      const [stats] = yield* sql(url, "SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d, MIN(id) AS lo, MAX(id) AS hi, CAST(SUM(amount) AS CHAR) AS s FROM t")
      const sum = Array.from({ length: ROWS }, (_, k) => ((k + 1) % 1000) * 25).reduce((a, b) => a + b, 0) / 100
      assert.deepStrictEqual(
        { n: Number(stats.n), d: Number(stats.d), lo: Number(stats.lo), hi: Number(stats.hi), s: Number(stats.s) },
        { n: ROWS, d: ROWS, lo: 1, hi: ROWS, s: sum }
      )
      const db = url.slice(url.lastIndexOf("/") + 1)
      assert.deepStrictEqual(yield* sql(url, "SELECT * FROM dataflare_checkpoints_xa"), [], "no XA bookkeeping left")
      const left = (yield* sql(url, "XA RECOVER")).filter((r) => String(r.data).startsWith("df-"))
      assert.deepStrictEqual(left, [], `no prepared XA transaction left (${db})`)
    }).pipe(Effect.scoped), 240_000)

  it.live("mysql table -> NDJSON: every row exactly once", () =>
    Effect.gen(function*() {
      const ROWS = 200_000
      const url = yield* withDatabase("df_my_kill_src")
      const dir = yield* tempDir
      yield* sql(url, "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(20), amount DECIMAL(12,2))")
      for (let from = 1; from <= ROWS; from += 20_000) {
        yield* sql(url, `INSERT INTO t VALUES ${Array.from({ length: 20_000 }, (_, k) => `(${from + k}, 'v${from + k}', ${(from + k) / 100})`).join(",")}`)
      }
      yield* workflow(dir, "20ms", `{ type: mysql, config: { connection_string: "${url}", table: t, batch_size: 500 } }`, "{ type: ndjson, inputs: [input], config: { path: out.ndjson } }")
      const first = yield* killAt(dir, yield* start(dir), 1)
      yield* killAt(dir, yield* start(dir), first + 3)
      assert.isBelow((yield* lines(join(dir, "out.ndjson"))).length, ROWS + 1000, "killed mid-read")
      const last = yield* (yield* start(dir)).ended
      assert.strictEqual(last.code, 0, last.stderr)
      const out = yield* lines(join(dir, "out.ndjson"))
      assert.strictEqual(out.length, ROWS)
      const ids = new Set(out.map((l) => String(JSON.parse(l).id)))
      assert.strictEqual(ids.size, ROWS)
      assert.deepStrictEqual(JSON.parse(out[out.length - 1]), { id: ROWS, v: `v${ROWS}`, amount: `${ROWS / 100}.00` })
    }).pipe(Effect.scoped), 240_000)

  describe("mysql-cdc", () => {
    const server = useBinlogServer(21)

    it.live("mysql-cdc -> NDJSON: every change exactly once across two kills", () =>
      Effect.gen(function*() {
        const TX = 400
        const PER = 100
        const dir = yield* tempDir
        yield* sql(server.url, "CREATE DATABASE k", "CREATE TABLE k.t (id INT PRIMARY KEY, v VARCHAR(20))")
        // many transactions of many rows each: positions fall inside transactions
        for (let t = 0; t < TX; t += 20) {
          yield* sql(
            server.url,
            ...Array.from({ length: 20 }, (_, j) => `INSERT INTO k.t VALUES ${Array.from({ length: PER }, (_, k) => `(${(t + j) * PER + k}, 'x')`).join(",")}`)
          )
        }
        yield* workflow(
          dir,
          "20ms",
          `{ type: mysql-cdc, config: { connection_string: "${server.url}/k", tables: [t], server_id: 77, start: beginning, batch_size: 250 } }`,
          "{ type: ndjson, inputs: [input], config: { path: out.ndjson } }"
        )
        const first = yield* killAt(dir, yield* start(dir), 1)
        yield* killAt(dir, yield* start(dir), first + 3)
        const running = yield* start(dir)
        for (let i = 0; (yield* lines(join(dir, "out.ndjson"))).length < TX * PER; i++) {
          if (i > 2400) return yield* Effect.die(new Error("the changes did not all arrive"))
          yield* Effect.sleep("50 millis")
        }
        running.child.kill("SIGTERM")
        const last = yield* running.ended
        assert.strictEqual(last.code, 0, last.stderr)
        const out = yield* lines(join(dir, "out.ndjson"))
        assert.strictEqual(out.length, TX * PER)
        const ids = new Set(out.map((l) => JSON.parse(l).after.id as number))
        assert.strictEqual(ids.size, TX * PER)
      }).pipe(Effect.scoped), 240_000)
  })
})
