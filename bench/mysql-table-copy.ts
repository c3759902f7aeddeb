/**
 * MySQL/MariaDB table -> table: `dataflare run` (mysql source -> mysql sink, exactly-once XA and
 * at-least-once) against the client pipe `mariadb-dump --no-create-info | mariadb` in the same
 * invocation, on the local MariaDB. Prints rows/s, wall time and the ratio to the pipe.
 *
 *   node bench/mysql-table-copy.ts [rows]        (default 200,000; six ordinary columns)
 */
import { execFileSync, execSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import mysql from "mysql2/promise"

const ROWS = Number(process.argv[2] ?? 200_000)
const SERVER = process.env.DATAFLARE_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
const bin = resolve(import.meta.dirname, "../bin/dataflare")
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`
const src = `df_bench_src_${suffix}`
const dst = `df_bench_dst_${suffix}`
const DDL = "(id BIGINT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2), at DATETIME(6), flag TINYINT, note VARCHAR(100))"

const q = async (sql: string) => {
  const conn = await mysql.createConnection({ uri: SERVER })
  try {
    return (await conn.query(sql))[0]
  } finally {
    await conn.end()
  }
}

const time = (f: () => void): number => {
  const t0 = process.hrtime.bigint()
  f()
  return Number(process.hrtime.bigint() - t0) / 1e9
}

const main = async () => {
  await q(`CREATE DATABASE ${src}`)
  await q(`CREATE DATABASE ${dst}`)
  const dir = mkdtempSync("/dev/shm/df-mysql-bench-")
  try {
    await q(`CREATE TABLE ${src}.t ${DDL}`)
    await q(`CREATE TABLE ${dst}.t ${DDL}`)
    for (let from = 0; from < ROWS; from += 10_000) {
      const values = Array.from({ length: Math.min(10_000, ROWS - from) }, (_, k) => {
        const i = from + k
        return `(${i}, 'name ${i % 977}', ${(i % 100000) / 100}, '2024-01-01 00:00:00' + INTERVAL ${i} SECOND, ${i % 2}, 'note ${i}')`
      })
      await q(`INSERT INTO ${src}.t VALUES ${values.join(",")}`)
    }
    const results: Array<{ name: string; seconds: number }> = []
    const pipe = () =>
      execSync(`mariadb-dump -h 127.0.0.1 -u root --no-create-info --skip-add-locks --skip-lock-tables ${src} t | mariadb -h 127.0.0.1 -u root ${dst}`, { stdio: "ignore" })
    const run = (guarantee: string) => () => {
      rmSync(join(dir, "state"), { recursive: true, force: true })
      writeFileSync(
        join(dir, "wf.yaml"),
        [
          "name: mysql-bench",
          "execution: { batch_size: 5000, checkpoint_interval: 5s }",
          "sources:",
          `  input: { type: mysql, config: { connection_string: "${SERVER}/${src}", table: t } }`,
          "destinations:",
          `  out: { type: mysql, inputs: [input], config: { connection_string: "${SERVER}/${dst}", table: t, guarantee: ${guarantee}, workflow: bench } }`
        ].join("\n")
      )
      execFileSync(bin, ["run", "wf.yaml", "--state-dir", "state", "--quiet"], { cwd: dir, stdio: "ignore" })
    }
    for (const [name, f] of [["mariadb-dump \\| mariadb", pipe], ["dataflare exactly-once (XA)", run("exactly-once")], ["dataflare at-least-once", run("at-least-once")]] as const) {
      await q(`TRUNCATE ${dst}.t`)
      await q(`DELETE FROM ${dst}.dataflare_checkpoints`).catch(() => undefined)
      const seconds = time(f)
      const n = Number(((await q(`SELECT COUNT(*) AS n FROM ${dst}.t`)) as Array<{ n: number }>)[0].n)
      if (n !== ROWS) throw new Error(`${name}: ${n} rows copied, expected ${ROWS}`)
      results.push({ name, seconds })
    }
    const base = results[0].seconds
    console.log(`MySQL table -> table, ${ROWS.toLocaleString("en")} rows of 6 columns (local MariaDB)\n`)
    console.log("| pipeline | wall s | rows/s | ratio to the pipe |\n|---|---|---|---|")
    for (const r of results) console.log(`| ${r.name} | ${r.seconds.toFixed(2)} | ${Math.round(ROWS / r.seconds).toLocaleString("en")} | ${(base / r.seconds).toFixed(2)}x |`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await q(`DROP DATABASE IF EXISTS ${src}`)
    await q(`DROP DATABASE IF EXISTS ${dst}`)
  }
}

await main()
