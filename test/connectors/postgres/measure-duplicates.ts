/**
 * How many rows `guarantee: at-least-once` writes twice after a crash: loads a generated CSV into
 * PostgreSQL with `dataflare run` (checkpoints every `interval`), kills it with SIGKILL at a random
 * moment after its first checkpoint, runs it again to completion, and counts the duplicates —
 * beside the rows the table held at the kill and the rows of the last completed checkpoint (the
 * bound: duplicates = rows committed after the last completed checkpoint).
 *
 *   node --no-warnings test/connectors/postgres/measure-duplicates.ts [rows] [interval] [trials]
 *   (defaults: 300000 rows, 1s, 5 trials; DATAFLARE_PG_URL or the local test server)
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import pg from "pg"

const [rows = 300_000, interval = "1s", trials = 5] = [Number(process.argv[2] ?? 300_000), process.argv[3] ?? "1s", Number(process.argv[4] ?? 5)]
const URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const bin = resolve(import.meta.dirname, "../../../bin/dataflare")

const query = async (text: string): Promise<Array<{ [k: string]: unknown }>> => {
  const c = new pg.Client({ connectionString: URL })
  await c.connect()
  try {
    return (await c.query(text)).rows
  } finally {
    await c.end()
  }
}

/** The line position of the newest checkpoint file (rows read at that checkpoint). */
const lastCheckpointRows = (dir: string): number => {
  const files = readdirSync(join(dir, "state")).filter((n) => /^chk-\d+\.json$/.test(n)).sort()
  if (files.length === 0) return 0
  const record = JSON.parse(readFileSync(join(dir, "state", files.at(-1)!), "utf8")) as { positions: Array<{ position: { line?: number } }> }
  const line = record.positions[0]?.position?.line ?? 1
  return line - 2 // the header is line 1; `line` is the next line to read
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "df-dups-"))
  const schema = `df_dups_${process.pid}`
  await query(`CREATE SCHEMA ${schema}`)
  try {
    writeFileSync(join(dir, "in.csv"), "id,name\n" + Array.from({ length: rows }, (_, i) => `${i},n${i}`).join("\n") + "\n")
    const results: Array<{ atKill: number; atCheckpoint: number; duplicates: number; after: number }> = []
    for (let t = 0; t < trials; t++) {
      await query(`DROP TABLE IF EXISTS ${schema}.t, ${schema}.cp; CREATE TABLE ${schema}.t (id int, name text)`)
      rmSync(join(dir, "state"), { recursive: true, force: true })
      writeFileSync(
        join(dir, "wf.yaml"),
        [
          "name: dups",
          `execution: { batch_size: 1000, checkpoint_interval: ${interval} }`,
          "sources:",
          "  input: { type: csv, config: { path: in.csv, columns: { id: integer } } }",
          "destinations:",
          `  pg: { type: postgres, inputs: [input], config: { connection_string: "${URL}", table: ${schema}.t, checkpoint_table: ${schema}.cp, guarantee: at-least-once } }`
        ].join("\n")
      )
      const child = spawn(bin, ["run", "wf.yaml", "--state-dir", "state", "--quiet"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      child.stderr!.on("data", (d) => (stderr += String(d)))
      const closed = new Promise((r) => child.on("close", r))
      // after the first checkpoint file, a random moment
      while (readdirSync(dir).includes("state") === false || readdirSync(join(dir, "state")).every((n) => !/^chk-/.test(n))) {
        if (child.exitCode !== null) throw new Error(`the run ended before its first checkpoint: ${stderr}`)
        await new Promise((r) => setTimeout(r, 5))
      }
      await new Promise((r) => setTimeout(r, Math.random() * 1500))
      if (child.exitCode !== null) throw new Error(`the run ended before it was killed (make the input larger): ${stderr}`)
      child.kill("SIGKILL")
      await closed
      const atKill = Number((await query(`SELECT count(*) AS n FROM ${schema}.t`))[0].n)
      const atCheckpoint = lastCheckpointRows(dir)
      execFileSync(bin, ["run", "wf.yaml", "--state-dir", "state", "--quiet"], { cwd: dir })
      const [r] = await query(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${schema}.t`)
      results.push({ atKill, atCheckpoint, duplicates: Number(r.n) - Number(r.d), after: Number(r.d) })
    }
    console.log(`${rows} rows, checkpoint_interval ${interval}, ${trials} kills (SIGKILL at a random moment after the first checkpoint)`)
    console.log("| rows in the table at the kill | rows of the last completed checkpoint | duplicates after the rerun | distinct rows |")
    console.log("|---:|---:|---:|---:|")
    for (const r of results) console.log(`| ${r.atKill} | ${r.atCheckpoint} | ${r.duplicates} | ${r.after} |`)
  } finally {
    await query(`DROP SCHEMA ${schema} CASCADE`)
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
