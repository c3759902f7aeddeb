/**
 * Loads a generated 1-million-row CSV into PostgreSQL through the `postgres` sink (COPY) and
 * through `psql -c "\copy ..."`, in the same run, and prints rows/s, wall time and CPU seconds
 * (this process, and the whole machine from /proc/stat, which includes the PostgreSQL backend).
 *
 *   node --experimental-strip-types --no-warnings test/connectors/postgres/bench-copy.ts [rows]
 *
 * Files go to /dev/shm (tmpfs); the schema it creates is dropped at the end.
 */
import { execFileSync } from "node:child_process"
import { createReadStream, readFileSync, rmSync, writeFileSync } from "node:fs"
import { Effect, Exit, Scope } from "effect"
import pg from "pg"
import * as Batch from "../../../src/Batch.ts"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import { decodeAll } from "../../../src/internal/decode.ts"

const URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const ROWS = Number(process.argv[2] ?? 1_000_000)
const FILE = `/dev/shm/dataflare-bench-${process.pid}.csv`
const SCHEMA = `df_bench_${process.pid}`

const machineCpu = (): number => {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait (in USER_HZ = 1/100 s)
  return (fields.reduce((a, b) => a + b, 0) - fields[3] - fields[4]) / 100
}

const run = async (text: string) => {
  const c = new pg.Client({ connectionString: URL })
  await c.connect()
  try {
    await c.query(text)
  } finally {
    await c.end()
  }
}

const measure = async (label: string, f: () => Promise<void>) => {
  const cpu0 = process.cpuUsage()
  const m0 = machineCpu()
  const t0 = performance.now()
  await f()
  const wall = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const m = machineCpu() - m0
  console.log(
    `${label.padEnd(34)} ${String(Math.round(ROWS / wall)).padStart(9)} rows/s  wall ${wall.toFixed(2)} s  node CPU ${
      ((cpu.user + cpu.system) / 1e6).toFixed(2)
    } s  machine CPU ${m.toFixed(2)} s`
  )
}

type Row = {
  id: number
  name: string
  amount: number
  created_at: string
  active: boolean
}


/** Batches of 10,000 rows parsed from the CSV with a plain loop over 1 MB chunks. */
async function* csvBatches(): AsyncGenerator<Array<Row>> {
  let rest = ""
  let header = true
  let batch: Array<Row> = []
  for await (const chunk of createReadStream(FILE, { encoding: "utf8", highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string)
    let start = 0
    for (let nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
      const line = text.slice(start, nl)
      start = nl + 1
      if (header) {
        header = false
        continue
      }
      const f = line.split(",")
      batch.push({ id: Number(f[0]), name: f[1], amount: Number(f[2]), created_at: f[3], active: f[4] === "true" })
      if (batch.length === 10000) {
        yield batch
        batch = []
      }
    }
    rest = text.slice(start)
  }
  if (batch.length > 0) yield batch
}

/** Writes the CSV's batches through the sink (one Effect per batch, none per row). */
const loadThroughSink = (
  table: string,
  checkpointed: boolean,
  copy_format: "text" | "binary" = "text",
  guarantee: "exactly-once" | "at-least-once" = "exactly-once"
) =>
  Effect.gen(function*() {
    const decoded = decodeAll(PostgresSink.config, {
      connection_string: URL,
      table,
      checkpoint_table: `${SCHEMA}.checkpoints`,
      copy_format,
      guarantee
    })
    if (!decoded.ok) return yield* Effect.die(new Error(JSON.stringify(decoded.issues)))
    const scope = yield* Scope.make()
    const writer = yield* Scope.provide(PostgresSink.open(decoded.value, { node: "bench", batchSize: 10000, instance: 0, parallelism: 1 }), scope)
    if (checkpointed) yield* writer.restore!(undefined)
    const batches = csvBatches()
    for (;;) {
      const next = yield* Effect.promise(() => batches.next())
      if (next.done === true) break
      yield* writer.writeBatch(Batch.make(next.value))
    }
    yield* writer.flush
    if (checkpointed) {
      yield* writer.preCommit!(1)
      yield* writer.commit!(1)
    }
    yield* Scope.close(scope, Exit.void)
  })

const main = async () => {
  const lines: Array<string> = ["id,name,amount,created_at,active"]
  for (let i = 1; i <= ROWS; i++) {
    lines.push(`${i},customer ${i},${(i % 100000) / 100},2024-01-01T00:00:${String(i % 60).padStart(2, "0")}Z,${i % 3 === 0}`)
  }
  writeFileSync(FILE, lines.join("\n") + "\n")
  const cols = "(id int, name text, amount numeric(12,2), created_at timestamptz, active boolean)"
  await run(`CREATE SCHEMA ${SCHEMA}`)
  try {
    for (const t of ["psql", "sink", "sink_cp", "sink_alo", "sink_bin"]) await run(`CREATE TABLE ${SCHEMA}.${t} ${cols}`)
    console.log(`${ROWS} rows, ${(readFileSync(FILE).length / 1e6).toFixed(1)} MB CSV in /dev/shm`)
    await measure("psql \\copy", async () => {
      execFileSync("psql", [URL, "-qc", `\\copy ${SCHEMA}.psql FROM '${FILE}' CSV HEADER`])
    })
    await measure("DataFlare postgres sink (COPY)", () => Effect.runPromise(loadThroughSink(`${SCHEMA}.sink`, false)))
    await measure("  same, exactly-once (1 checkpoint)", () => Effect.runPromise(loadThroughSink(`${SCHEMA}.sink_cp`, true)))
    await measure("  same, at-least-once (1 checkpoint)", () => Effect.runPromise(loadThroughSink(`${SCHEMA}.sink_alo`, true, "text", "at-least-once")))
    await measure("  same, COPY binary", () => Effect.runPromise(loadThroughSink(`${SCHEMA}.sink_bin`, false, "binary")))
    const c = new pg.Client({ connectionString: URL })
    await c.connect()
    const counts = await c.query(
      `SELECT (SELECT count(*) FROM ${SCHEMA}.psql) AS a, (SELECT count(*) FROM ${SCHEMA}.sink) AS b, (SELECT count(*) FROM ${SCHEMA}.sink_cp) AS c, (SELECT count(*) FROM ${SCHEMA}.sink_alo) AS f, (SELECT count(*) FROM ${SCHEMA}.sink_bin) AS e,
        (SELECT count(*) FROM (SELECT * FROM ${SCHEMA}.psql EXCEPT SELECT * FROM ${SCHEMA}.sink) d) AS diff,
        (SELECT count(*) FROM (SELECT * FROM ${SCHEMA}.psql EXCEPT SELECT * FROM ${SCHEMA}.sink_bin) d) AS diff_bin`
    )
    await c.end()
    console.log("row counts (psql, sink, exactly-once, at-least-once, binary; rows differing: text, binary):", Object.values(counts.rows[0]).join(", "))
  } finally {
    await run(`DROP SCHEMA ${SCHEMA} CASCADE`)
    rmSync(FILE, { force: true })
  }
}

void main()
