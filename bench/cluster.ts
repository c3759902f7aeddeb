/**
 * Cluster throughput: one csv → filter → map → ndjson workflow, run locally (`dataflare run`,
 * one process, its own parallelism) and on clusters of 1, 2 and 3 runner processes on this machine
 * (`dataflare submit --parts 6`), in the same invocation. Prints rows/s, wall time and the ratio to
 * the 1-runner cluster and to the local run.
 *
 *   node bench/cluster.ts [rows]        (default 1,000,000; local PostgreSQL, a table prefix of its own)
 *   node bench/cluster.ts --many [n]    (default 10,000: n small workflows submitted at once to 3 runners)
 *
 * `--many` is the issue's "10,000 small workflows across three runners": each workflow reads a
 * 10-row file, filters and maps it, and writes its own file, in one part; they are submitted in
 * one batch (`Cluster.submitAll`) and the time until the last one is done is printed.
 *
 * On a machine with few cores, more runners only add processes competing for the same cores: what
 * this can show there is the cluster's overhead (parts, checkpoints in PostgreSQL, coordination)
 * and that it does not collapse, not scale-out, which needs cores or machines per runner.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect } from "effect"
import pg from "pg"
import { dropPrefix, freePort, ordersWorkflow } from "../test/cluster/runners.ts"

const MANY = process.argv[2] === "--many"
const ROWS = Number((MANY ? undefined : process.argv[2]) ?? 1_000_000)
const WORKFLOWS = Number((MANY ? process.argv[3] : undefined) ?? 10_000)
const URL = process.env.DATAFLARE_CLUSTER_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const PARTS = 6
const bin = resolve(import.meta.dirname, "../bin/dataflare")
const prefix = `dfbench_${process.pid}_${Math.floor(Math.random() * 1e6)}`

const workflow = (name: string, out: string) => ordersWorkflow({ name, source: "csv", path: "in.csv", out, checkpointInterval: "2s" })

const time = (f: () => void): number => {
  const t0 = process.hrtime.bigint()
  f()
  return Number(process.hrtime.bigint() - t0) / 1e9
}

const healthyRunners = async (n: number) => {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  try {
    for (;;) {
      const r = await client.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(`${prefix}_runners`)} WHERE healthy`).catch(() => ({ rows: [{ n: 0 }] }))
      if ((r.rows[0] as { n: number }).n >= n) return
      await new Promise((r) => setTimeout(r, 250))
    }
  } finally {
    await client.end()
  }
}

const dropTables = () => dropPrefix(prefix, URL)

const main = async () => {
  const dir = mkdtempSync("/tmp/df-cluster-bench-")
  const runners: Array<ChildProcess> = []
  try {
    const rows = ["id,name,amount"]
    for (let i = 0; i < ROWS; i++) rows.push(`${i},name ${i},${i % 1000}`)
    writeFileSync(join(dir, "in.csv"), `${rows.join("\n")}\n`)
    const run = (args: Array<string>) => execFileSync(bin, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 })
    writeFileSync(join(dir, "local.yaml"), workflow("bench-local", "local.ndjson"))
    const local = time(() => run(["run", "local.yaml", "--quiet"]))
    const results: Array<{ readonly label: string; readonly seconds: number }> = [{ label: "local run", seconds: local }]
    for (let n = 1; n <= 3; n++) {
      while (runners.length < n) {
        const port = await freePort()
        runners.push(
          spawn(bin, ["runner", "--cluster", URL, "--listen", `127.0.0.1:${port}`, "--prefix", prefix, "--max-parts", String(PARTS)], { cwd: dir, stdio: "ignore" })
        )
      }
      await healthyRunners(n)
      // let the shards settle on the runners that just joined
      await new Promise((r) => setTimeout(r, 3000))
      mkdirSync(join(dir, `out${n}`))
      writeFileSync(join(dir, `wf${n}.yaml`), workflow(`bench-${n}`, `out${n}/result.ndjson`))
      const seconds = time(() => run(["submit", `wf${n}.yaml`, "--cluster", URL, "--prefix", prefix, "--parts", String(PARTS)]))
      results.push({ label: `cluster, ${n} runner${n > 1 ? "s" : ""} (${PARTS} parts)`, seconds })
    }
    const one = results[1]!.seconds
    console.log(`cluster throughput: ${ROWS.toLocaleString("en")} rows, csv → filter → map → ndjson`)
    for (const r of results) {
      console.log(
        `${r.label.padEnd(32)} ${(ROWS / r.seconds).toFixed(0).padStart(9)} rows/s  ${r.seconds.toFixed(2).padStart(7)} s  ` +
          `x${(one / r.seconds).toFixed(2)} vs 1 runner  x${(local / r.seconds).toFixed(2)} vs local`
      )
    }
  } finally {
    for (const r of runners) r.kill("SIGKILL")
    await dropTables()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `--many`: WORKFLOWS small workflows on three runners. */
const many = async () => {
  const dir = mkdtempSync("/tmp/df-cluster-bench-")
  const runners: Array<ChildProcess> = []
  try {
    const { Builtins, Cluster, WorkflowGraph } = await import("../src/index.ts")
    writeFileSync(join(dir, "in.csv"), `id,amount\n${Array.from({ length: 10 }, (_, i) => `${i},${i}`).join("\n")}\n`)
    mkdirSync(join(dir, "out"))
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      runners.push(spawn(bin, ["runner", "--cluster", URL, "--listen", `127.0.0.1:${port}`, "--prefix", prefix], { cwd: dir, stdio: "ignore" }))
    }
    await healthyRunners(3)
    // let the shards settle on the three runners
    await new Promise((r) => setTimeout(r, 15_000))
    const graphs = Array.from({ length: WORKFLOWS }, (_, i) =>
      WorkflowGraph.make({
        name: `bench-many-${i}`,
        nodes: [
          { kind: "source", id: "in", type: "csv", config: { path: "in.csv", columns: { id: "integer", amount: "integer" } }, inputs: [] },
          { kind: "processor", id: "big", type: "filter", config: { condition: "amount >= 3" }, inputs: ["in"] },
          { kind: "processor", id: "tag", type: "map", config: { fields: { workflow: `${i}` } }, inputs: ["big"] },
          { kind: "sink", id: "out", type: "ndjson", config: { path: `out/w${i}.ndjson` }, inputs: ["tag"] }
        ]
      }))
    const t0 = Date.now()
    await Effect.runPromise(Cluster.submitAll(graphs, { url: URL, prefix, parts: 1, cwd: dir }).pipe(Effect.provide(Builtins.layer)))
    const submitted = Date.now() - t0
    const client = new pg.Client({ connectionString: URL })
    await client.connect()
    let state = { done: 0, failed: 0, runners: 0 }
    try {
      while (state.done + state.failed < WORKFLOWS) {
        await new Promise((r) => setTimeout(r, 1000))
        const r = await client.query(
          `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed, count(DISTINCT runner)::int AS runners FROM ${pg.escapeIdentifier(`${prefix}_parts`)}`
        )
        state = r.rows[0] as typeof state
      }
    } finally {
      await client.end()
    }
    const seconds = (Date.now() - t0) / 1000
    console.log(
      `${WORKFLOWS.toLocaleString("en")} small workflows on 3 runners: submitted in ${(submitted / 1000).toFixed(1)} s, ` +
        `${state.done} done, ${state.failed} failed, on ${state.runners} runners, in ${seconds.toFixed(1)} s (${(WORKFLOWS / seconds).toFixed(0)} workflows/s)`
    )
  } finally {
    for (const r of runners) r.kill("SIGKILL")
    await dropTables()
    rmSync(dir, { recursive: true, force: true })
  }
}

await (MANY ? many() : main())
