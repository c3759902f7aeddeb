/**
 * The `postgres` sink alone on COPY text passed through (what a `postgres` source hands it): a
 * table's `COPY ... TO STDOUT` bytes (1 M rows of six columns by default) written through the
 * sink's writer as encoded batches of 10,000 rows, in each commit protocol, against
 * `psql -c "\copy dst from file"` of the same bytes, in the same run (contenders alternating).
 * Prints wall seconds, this process's CPU seconds and the whole machine's (from /proc/stat, which
 * includes the PostgreSQL backend), so the sink's own cost shows apart from the source's.
 *
 *   node --no-warnings test/connectors/postgres/bench-copy-text.ts [rows] [rounds]
 */
import { execFileSync } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import { Effect } from "effect"
import * as Batch from "../../../src/Batch.ts"
import { PostgresSink } from "../../../src/connectors/postgres/PostgresSink.ts"
import { decodeAll } from "../../../src/internal/decode.ts"

const URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const ROWS = Number(process.argv[2] ?? 1_000_000)
const ROUNDS = Number(process.argv[3] ?? 2)
const FILE = `/dev/shm/dataflare-bench-copy-${process.pid}.txt`
const SCHEMA = `df_bench_copy_${process.pid}`
const COLUMNS = "(id integer PRIMARY KEY, name text, amount numeric(12,2), qty integer, created timestamptz, active boolean)"

const machineCpu = (): number => {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number)
  return (fields.reduce((a, b) => a + b, 0) - fields[3] - fields[4]) / 100
}
const psql = (sql: string) => execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qAtc", sql], { encoding: "utf8" })

/** The bytes cut into batches of `size` rows (at line ends). */
const batches = (bytes: Buffer, size: number): Array<Buffer> => {
  const out: Array<Buffer> = []
  let start = 0
  let rows = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 10) continue
    if (++rows === size) {
      out.push(bytes.subarray(start, i + 1))
      start = i + 1
      rows = 0
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start))
  return out
}

const main = async () => {
  psql(`CREATE SCHEMA ${SCHEMA}`)
  try {
    psql(`CREATE TABLE ${SCHEMA}.src ${COLUMNS}; CREATE TABLE ${SCHEMA}.dst ${COLUMNS}`)
    psql(
      `INSERT INTO ${SCHEMA}.src SELECT g, 'customer ' || g, (g % 100000) / 100.0, g % 1000, '2024-01-01'::timestamptz + g * interval '1 second', g % 3 = 0 FROM generate_series(1, ${ROWS}) g`
    )
    execFileSync("sh", ["-c", `psql -h 127.0.0.1 -U postgres -d test -qc "\\copy ${SCHEMA}.src to stdout" > ${FILE}`])
    const bytes = readFileSync(FILE)
    const parts = batches(bytes, 10_000)
    const columns = ["id", "name", "amount", "qty", "created", "active"]
    const types = ["integer", "text", "numeric(12,2)", "integer", "timestamp with time zone", "boolean"]
    const viaSink = (extra: object) => async () => {
      const decoded = decodeAll(PostgresSink.config, { connection_string: URL, table: `${SCHEMA}.dst`, checkpoint_table: `${SCHEMA}.cp`, ...extra })
      if (!decoded.ok) throw new Error(JSON.stringify(decoded.issues))
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const writer = yield* PostgresSink.open(decoded.value, { node: "dst", batchSize: 10_000, instance: 0, parallelism: 1, fromScratch: true })
        yield* writer.restore!(undefined)
        for (const part of parts) {
          const n = part.reduce((c, b) => c + (b === 10 ? 1 : 0), 0)
          yield* writer.writeBatch(Batch.encoded({ format: "application/x-postgres-copy", bytes: part, columns, types, relation: "src" }, n, () => {
            throw new Error("decoded")
          }))
        }
        yield* writer.preCommit!(1)
        yield* writer.commit!(1)
      })))
    }
    const contenders: Array<[string, () => Promise<void>]> = [
      ["psql \\copy dst from file", async () => void execFileSync("sh", ["-c", `psql -h 127.0.0.1 -U postgres -d test -qc "\\copy ${SCHEMA}.dst from '${FILE}'"`])],
      ["sink, at-least-once", viaSink({ guarantee: "at-least-once" })],
      ["sink, exactly-once staged", viaSink({})],
      ["sink, exactly-once prepared", viaSink({ two_phase: "prepared" })]
    ]
    const results = new Map<string, Array<{ wall: number; cpu: number; machine: number }>>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of contenders) {
        psql(`TRUNCATE ${SCHEMA}.dst; DROP TABLE IF EXISTS ${SCHEMA}.cp, ${SCHEMA}.cp_staged`)
        const cpu0 = process.cpuUsage()
        const m0 = machineCpu()
        const t0 = process.hrtime.bigint()
        await run()
        const wall = Number(process.hrtime.bigint() - t0) / 1e9
        const cpu = (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6
        const n = Number(psql(`SELECT count(*) FROM ${SCHEMA}.dst`).trim())
        if (n !== ROWS) throw new Error(`${name}: ${n} rows`)
        results.set(name, [...(results.get(name) ?? []), { wall, cpu, machine: machineCpu() - m0 }])
      }
    }
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const base = median(results.get(contenders[0][0])!.map((r) => r.wall))
    console.log(`${ROWS} rows of six columns, batches of 10,000 rows, median of ${ROUNDS}`)
    console.log("| contender | wall s | this process CPU s | machine CPU s | ÷ psql |")
    console.log("|---|---:|---:|---:|---:|")
    for (const [name, rs] of results) {
      const wall = median(rs.map((r) => r.wall))
      console.log(`| ${name} | ${wall.toFixed(2)} | ${median(rs.map((r) => r.cpu)).toFixed(2)} | ${median(rs.map((r) => r.machine)).toFixed(2)} | ${(base / wall).toFixed(2)} |`)
    }
  } finally {
    psql(`DROP SCHEMA ${SCHEMA} CASCADE`)
    rmSync(FILE, { force: true })
  }
}

await main()
