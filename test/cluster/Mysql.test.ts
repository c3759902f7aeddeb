/**
 * A MySQL (MariaDB) table distributed by key ranges into a shared exactly-once PostgreSQL sink,
 * with real runner processes on loopback: three runners, a 600,000-row table (MariaDB's sequence
 * engine), one runner killed with `kill -9` while its part writes; the parts end on the two
 * runners left and the target holds every source row exactly once (the target has no key: a row
 * written twice would be counted twice).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { queryAt, SERVER } from "../connectors/mysql/support.ts"
import { dropPrefix, expectMoved, freshPrefix, killDuringRun, type RunnerProcess, run, startRunners, stopAll, tableCopy, URL, withPg } from "./support.ts"

const ROWS = 600_000

const prefix = freshPrefix()
const database = `cluster_${prefix}`
const mysqlUrl = `${SERVER}/${database}`
const dataUrl = `postgres://postgres@127.0.0.1:5432/${database}`
const runners: Array<RunnerProcess> = []
let dir = ""

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-cluster-mysql-"))
  await queryAt(SERVER, `CREATE DATABASE \`${database}\``)
  await queryAt(
    mysqlUrl,
    "CREATE TABLE src (id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL)",
    `INSERT INTO src SELECT seq, CONCAT('name ', seq), (seq % 1000) / 4 FROM seq_1_to_${ROWS}`
  )
  await withPg(URL, (c) => c.query(`CREATE DATABASE ${database}`))
  // no key on the target: a row written twice would be there twice
  await withPg(dataUrl, (c) => c.query("CREATE TABLE dst (id bigint NOT NULL, name text NOT NULL, amount numeric(12,2) NOT NULL)"))
}, 300_000)

afterAll(async () => {
  await stopAll(runners)
  await dropPrefix(prefix)
  await withPg(URL, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
  await queryAt(SERVER, `DROP DATABASE IF EXISTS \`${database}\``)
  await rm(dir, { recursive: true, force: true })
})

describe("dataflare cluster: a MySQL table into a shared exactly-once PostgreSQL sink", () => {
  it("survives kill -9 of a runner: every source row is in the target exactly once", async () => {
    runners.push(...(await startRunners(prefix, dir, 3)))
    const name = `cluster-mysql-${prefix}`
    await writeFile(join(dir, "mysql.yaml"), tableCopy(name, "mysql", mysqlUrl, dataUrl, "dst"))
    const submitted = run(["submit", "mysql.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "6"], dir)
    const killed = await killDuringRun(prefix, name, runners, submitted)
    expect(killed.result.stdout).toContain(`${name}: 6 parts done`)
    expect(killed.result.status).toBe(0)
    expectMoved(killed, 6, "done")
    const own = killed.own
    // every part read some of the table (the key ranges split it), and every row is there once, intact
    expect(own.every((p) => p.recordsIn > 0 || p.attempts > 1)).toBe(true)
    const target = await withPg(dataUrl, async (c) => {
      const r = await c.query(
        `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, min(id)::int AS lo, max(id)::int AS hi,
                count(*) FILTER (WHERE name = 'name ' || id AND amount = round((id % 1000) / 4.0, 2))::int AS intact FROM dst`
      )
      return r.rows[0] as { n: number; ids: number; lo: number; hi: number; intact: number }
    })
    expect(target).toEqual({ n: ROWS, ids: ROWS, lo: 1, hi: ROWS, intact: ROWS })
  }, 900_000)
})
