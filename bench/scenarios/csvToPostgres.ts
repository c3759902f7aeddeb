/**
 * Scenario 3: CSV → PostgreSQL (COPY) through the CLI, vs `psql -c "\copy ..."` and vs pgloader,
 * on the same file and the same (truncated before each run) table.
 */
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { csvFile, scratchDir } from "../lib/generate.ts"
import { alternate, type Contender, type Result, table, timeCommand } from "../lib/stats.ts"

const CLI = join(process.cwd(), "bin", "dataflare")
const DB = "dataflare_bench"
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`

const psql = (db: string, sql: string) => execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAtc", sql], { encoding: "utf8" })
const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

export const csvToPostgres = async (rows: number, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const input = csvFile(rows, "narrow")
  const dir = scratchDir()
  psql("postgres", `DROP DATABASE IF EXISTS ${DB}`)
  psql("postgres", `CREATE DATABASE ${DB}`)
  const create = "CREATE TABLE orders (id integer, status text, amount numeric, country text)"
  psql(DB, create)
  const count = () => Number(psql(DB, "SELECT count(*) FROM orders").trim())
  const truncate = () => psql(DB, "TRUNCATE orders")
  // The default (exactly-once: rows staged, then moved into the table when the final checkpoint
  // completes, about twice the server work) and at-least-once (COPY straight into the table, as
  // psql and pgloader do).
  const workflow = (guarantee: "exactly-once" | "at-least-once") => {
    const path = join(dir, `csv-to-postgres-${guarantee}.yaml`)
    writeFileSync(
      path,
      [
        `name: bench-csv-to-postgres-${guarantee}`,
        "execution: { batch_size: 5000 }",
        "sources:",
        "  input:",
        "    type: csv",
        `    config: { path: "${input}", columns: { id: integer, amount: number } }`,
        "destinations:",
        "  pg:",
        "    type: postgres",
        "    inputs: [input]",
        `    config: { connection_string: "${URL}", table: orders, mode: insert, guarantee: ${guarantee} }`
      ].join("\n")
    )
    return path
  }
  const loaded: Record<string, number> = {}
  const dataflare = (guarantee: "exactly-once" | "at-least-once"): Contender => {
    const file = workflow(guarantee)
    return {
      name: `DataFlare (CLI, COPY, ${guarantee})`,
      run: async () => {
        truncate()
        const t = timeCommand(CLI, ["run", file, "--quiet"])
        loaded[`DataFlare ${guarantee}`] = count()
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    }
  }
  const contenders: Array<Contender> = [
    dataflare("exactly-once"),
    dataflare("at-least-once"),
    {
      name: "psql \\copy",
      run: async () => {
        truncate()
        const t = timeCommand("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-qc", `\\copy orders FROM '${input}' WITH (FORMAT csv, HEADER true)`])
        loaded["psql"] = count()
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    }
  ]
  if (has("pgloader")) {
    const load = join(dir, "orders.load")
    writeFileSync(
      load,
      `LOAD CSV FROM '${input}' (id, status, amount, country)\n INTO postgresql://postgres@127.0.0.1:5432/${DB}?orders (id, status, amount, country)\n WITH skip header = 1, fields terminated by ',', fields optionally enclosed by '"', batch rows = 25000;\n`
    )
    contenders.push({
      name: "pgloader",
      run: async () => {
        truncate()
        const t = timeCommand("pgloader", ["--quiet", load])
        loaded["pgloader"] = count()
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    })
  }
  const results = await alternate(contenders, rounds)
  psql("postgres", `DROP DATABASE IF EXISTS ${DB}`)
  const check = `rows in the table after each load: ${Object.entries(loaded).map(([k, v]) => `${k} ${v}`).join(", ")}${
    has("pgloader") ? "" : " (pgloader not installed: apt-get install pgloader)"
  }. CPU s counts the client processes only; the PostgreSQL backend uses about a core in every case.`
  return { markdown: `${table(`3. CSV → PostgreSQL, ${rows.toLocaleString("en")} rows`, results)}\n\n${check}`, results }
}
