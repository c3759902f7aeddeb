/**
 * Measures checkpoint writes and restores of the file and PostgreSQL backends for a given state
 * size (one operator, N keys of small values).
 *
 * Usage: node_modules/.bin/node --experimental-strip-types --no-warnings test/backends/measure.ts [keys...]
 * Env: DATAFLARE_MEASURE_DIR (default /dev/shm), DATAFLARE_PG_URL, DATAFLARE_MEASURE_REPS (default 3),
 * DATAFLARE_MEASURE_BACKENDS (default "file,postgres").
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Exit, Scope } from "effect"
import pg from "pg"
import * as FileBackend from "../../src/backends/FileBackend.ts"
import * as PostgresBackend from "../../src/backends/PostgresBackend.ts"
import type { CheckpointRecord } from "../../src/Checkpoint.ts"
import type { Backend } from "../../src/StateBackend.ts"

const sizes = process.argv.slice(2).map(Number)
const keysList = sizes.length > 0 ? sizes : [10_000, 100_000, 1_000_000]
const reps = Number(process.env.DATAFLARE_MEASURE_REPS ?? 3)
const PG_URL = process.env.DATAFLARE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const record = (id: number, keys: number, full: boolean): CheckpointRecord => {
  const upserts: Array<readonly [string, unknown]> = []
  // a full snapshot holds every key; an incremental one the 1 % that changed
  for (let i = 0; i < keys; i += full ? 1 : 100) upserts.push([`customer-${i}`, { count: i + id, total: (i * 7) % 1000 }])
  return {
    format: 1,
    workflow: "measure",
    id,
    startedAt: 0,
    completedAt: 1,
    full,
    positions: [{ node: "src", instance: 0, position: id }],
    operators: [{ node: "agg", instance: 0, version: 1, full, upserts, deletes: [] }],
    final: false
  }
}

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const time = async (f: () => Promise<unknown>) => {
  const cpu = process.cpuUsage()
  const t = performance.now()
  await f()
  const u = process.cpuUsage(cpu)
  return { ms: performance.now() - t, cpuMs: (u.user + u.system) / 1000 }
}

const measure = async (label: string, backend: Backend, keys: number) => {
  const full: Array<{ ms: number; cpuMs: number }> = []
  const incr: Array<{ ms: number; cpuMs: number }> = []
  const restore: Array<{ ms: number; cpuMs: number }> = []
  let id = 0
  for (let r = 0; r < reps; r++) {
    const f = record(++id, keys, true)
    full.push(await time(() => Effect.runPromise(backend.write(f))))
    const i = record(++id, keys, false)
    incr.push(await time(() => Effect.runPromise(backend.write(i))))
    restore.push(await time(() => Effect.runPromise(backend.latest("measure"))))
  }
  const bytes = JSON.stringify(record(1, keys, true)).length
  const fmt = (xs: Array<{ ms: number; cpuMs: number }>) =>
    `${median(xs.map((x) => x.ms)).toFixed(0)} ms (cpu ${median(xs.map((x) => x.cpuMs)).toFixed(0)} ms)`
  console.log(`| ${label} | ${keys.toLocaleString("en")} | ${(bytes / 1e6).toFixed(1)} MB | ${fmt(full)} | ${fmt(incr)} | ${fmt(restore)} |`)
  await Effect.runPromise(backend.clear("measure"))
}

console.log(`node ${process.version}, ${os.cpus().length} cpus, ${reps} reps, medians`)
console.log("| backend | keys | full record | full write | incremental write (1 %) | restore (full + incr) |")
console.log("|---|---|---|---|---|---|")
const base = process.env.DATAFLARE_MEASURE_DIR ?? "/dev/shm"
const dir = await fs.mkdtemp(path.join(base, "dataflare-measure-"))
const schema = `measure_${process.pid}`
const scope = Effect.runSync(Scope.make())
try {
  const which = (process.env.DATAFLARE_MEASURE_BACKENDS ?? "file,postgres").split(",")
  const file = FileBackend.make({ directory: path.join(dir, "state") })
  const postgres = which.includes("postgres")
    ? await Effect.runPromise(Scope.provide(scope)(PostgresBackend.make({ url: PG_URL, schema })))
    : undefined
  for (const keys of keysList) {
    if (which.includes("file")) await measure(`file (${base}, fsync)`, file, keys)
    if (postgres !== undefined) await measure("postgres", postgres, keys)
  }
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await fs.rm(dir, { recursive: true, force: true })
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
  await client.end()
}
