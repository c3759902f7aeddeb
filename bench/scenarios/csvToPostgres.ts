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

/** PostgreSQL's own two-phase commit is on (`max_prepared_transactions > 0`; scripts/services.sh sets it). */
const preparedAvailable = () => Number(psql("postgres", "SHOW max_prepared_transactions").trim()) > 0

export const csvToPostgres = async (rows: number, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const input = csvFile(rows, "narrow")
  const dir = scratchDir()
  psql("postgres", `DROP DATABASE IF EXISTS ${DB}`)
  psql("postgres", `CREATE DATABASE ${DB}`)
  const create = "CREATE TABLE orders (id integer, status text, amount numeric, country text)"
  psql(DB, create)
  const count = () => Number(psql(DB, "SELECT count(*) FROM orders").trim())
  const truncate = () => psql(DB, "TRUNCATE orders")
  // Four DataFlare workflows. Without column types (the table has them) the csv source hands the
  // file's bytes to the sink, which COPYs them as they are (FORMAT csv), as psql does; with types
  // the source parses and checks every record and the sink encodes it again (COPY text).
  // at-least-once COPYs straight into the table, as psql and pgloader do; exactly-once (the
  // default) stages the rows and moves them into the table when the final checkpoint completes,
  // about twice the server's work; with two_phase: prepared it COPYs into the table in one
  // transaction, prepared at the checkpoint and committed when it completes.
  interface Variant {
    readonly name: string
    readonly guarantee: "exactly-once" | "at-least-once"
    readonly typed: boolean
    readonly sinkParallelism: number
    readonly prepared?: boolean
  }
  const workflow = (v: Variant, index: number) => {
    const path = join(dir, `csv-to-postgres-${index}.yaml`)
    writeFileSync(
      path,
      [
        `name: bench-csv-to-postgres-${index}`,
        "execution: { batch_size: 5000 }",
        "sources:",
        "  input:",
        "    type: csv",
        `    config: { path: "${input}"${v.typed ? ", columns: { id: integer, amount: number }" : ""} }`,
        "destinations:",
        "  pg:",
        "    type: postgres",
        "    inputs: [input]",
        ...(v.sinkParallelism > 1 ? [`    parallelism: ${v.sinkParallelism}`] : []),
        `    config: { connection_string: "${URL}", table: orders, mode: insert, guarantee: ${v.guarantee}${v.prepared === true ? ", two_phase: prepared" : ""} }`
      ].join("\n")
    )
    return path
  }
  const loaded: Record<string, number> = {}
  const dataflare = (v: Variant, index: number): Contender => {
    const file = workflow(v, index)
    return {
      name: `DataFlare (CLI, ${v.name})`,
      run: async () => {
        truncate()
        const t = timeCommand(CLI, ["run", file, "--quiet"])
        loaded[`DataFlare ${v.name}`] = count()
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    }
  }
  const variants: ReadonlyArray<Variant> = [
    { name: "CSV bytes to COPY, at-least-once", guarantee: "at-least-once", typed: false, sinkParallelism: 1 },
    { name: "CSV bytes to COPY, exactly-once", guarantee: "exactly-once", typed: false, sinkParallelism: 1 },
    ...(preparedAvailable()
      ? [{ name: "CSV bytes to COPY, exactly-once, two_phase: prepared", guarantee: "exactly-once", typed: false, sinkParallelism: 1, prepared: true } as const]
      : []),
    { name: "CSV bytes to COPY, at-least-once, sink parallelism 2", guarantee: "at-least-once", typed: false, sinkParallelism: 2 },
    { name: "typed records, at-least-once", guarantee: "at-least-once", typed: true, sinkParallelism: 1 },
    { name: "typed records, exactly-once", guarantee: "exactly-once", typed: true, sinkParallelism: 1 }
  ]
  const contenders: Array<Contender> = [
    ...variants.map(dataflare),
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
