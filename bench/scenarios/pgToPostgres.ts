/**
 * Scenario 8: PostgreSQL table → PostgreSQL table through the CLI (a `postgres` source whose only
 * consumer is a `postgres` sink, which hands it the COPY text as it is), vs the psql pipe
 * `psql -c "\copy src to stdout" | psql -c "\copy dst from stdin"`, on the same tables (the
 * target truncated before each run), contenders alternating. Also: exactly-once (staged, the
 * default, and `two_phase: prepared`), and a `map` processor in between (records decoded from the
 * COPY text and encoded again by the sink); and, in this process, what decoding and encoding the
 * records cost, to say where the time of the `map` run goes.
 */
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { decodeRows } from "../../src/connectors/postgres/internal/copyOut.ts"
import { encodeTextRows } from "../../src/connectors/postgres/internal/copyText.ts"
import { decoderOf, OID } from "../../src/connectors/postgres/internal/values.ts"
import { scratchDir } from "../lib/generate.ts"
import { alternate, type Contender, type Result, timeCommand } from "../lib/stats.ts"

const CLI = join(process.cwd(), "bin", "dataflare")
const DB = "dataflare_bench_pg2pg"
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`
const COLUMNS = "(id integer PRIMARY KEY, name text, amount numeric(12,2), qty integer, created timestamptz, active boolean)"

const psql = (db: string, sql: string) => execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAtc", sql], { encoding: "utf8" })

const preparedAvailable = () => Number(psql("postgres", "SHOW max_prepared_transactions").trim()) > 0

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0))

/** Decoding the COPY text of the table into records, and encoding them again as the sink does, in this process. */
const codecCost = (path: string): { decode: number; encode: number; rows: number } => {
  const bytes = readFileSync(path)
  const names = ["id", "name", "amount", "qty", "created", "active"]
  const decoders = [OID.int4, 25, 1700, OID.int4, 1184, OID.bool].map((oid) => decoderOf({ _tag: "Scalar", oid, name: "" }, "bigint"))
  let t = process.hrtime.bigint()
  const rows = decodeRows(bytes, names, decoders)
  const decode = Number(process.hrtime.bigint() - t) / 1e9
  t = process.hrtime.bigint()
  let size = 0
  for (let i = 0; i < rows.length; i += 10_000) {
    size += encodeTextRows(rows, names, names.map(() => "scalar" as const), undefined, false, i, Math.min(rows.length, i + 10_000)).length
  }
  const encode = Number(process.hrtime.bigint() - t) / 1e9
  if (size !== bytes.length) throw new Error(`re-encoded ${size} bytes of ${bytes.length}`)
  return { decode, encode, rows: rows.length }
}

export const pgToPostgres = async (rows: number, rounds: number): Promise<{ markdown: string; results: ReadonlyArray<Result> }> => {
  const dir = scratchDir()
  psql("postgres", `DROP DATABASE IF EXISTS ${DB}`)
  psql("postgres", `CREATE DATABASE ${DB}`)
  psql(DB, `CREATE TABLE src ${COLUMNS}`)
  psql(DB, `CREATE TABLE dst ${COLUMNS}`)
  psql(
    DB,
    `INSERT INTO src SELECT g, 'customer ' || g, (g % 100000) / 100.0, g % 1000, '2024-01-01'::timestamptz + g * interval '1 second', g % 3 = 0 FROM generate_series(1, ${rows}) g`
  )
  psql(DB, "VACUUM ANALYZE src")
  const count = () => Number(psql(DB, "SELECT count(*) FROM dst").trim())
  const truncate = () => psql(DB, "TRUNCATE dst")
  interface Variant {
    readonly name: string
    readonly sink: string
    readonly map?: boolean
  }
  const variants: ReadonlyArray<Variant> = [
    { name: "COPY text passed through, at-least-once", sink: "guarantee: at-least-once" },
    { name: "COPY text passed through, exactly-once (staged, default)", sink: "guarantee: exactly-once" },
    ...(preparedAvailable() ? [{ name: "COPY text passed through, exactly-once, two_phase: prepared", sink: "guarantee: exactly-once, two_phase: prepared" }] : []),
    { name: "map in between (records decoded and encoded), at-least-once", sink: "guarantee: at-least-once", map: true }
  ]
  const loaded: Record<string, number> = {}
  const dataflare = (v: Variant, index: number): Contender => {
    const file = join(dir, `pg-to-postgres-${index}.yaml`)
    writeFileSync(
      file,
      [
        `name: bench-pg-to-postgres-${index}`,
        "execution: { batch_size: 10000 }",
        "sources:",
        `  src: { type: postgres, config: { connection_string: "${URL}", table: src } }`,
        ...(v.map === true ? ["transformations:", `  touch: { type: map, inputs: [src], config: { fields: { qty: "qty" } } }`] : []),
        "destinations:",
        `  dst: { type: postgres, inputs: [${v.map === true ? "touch" : "src"}], config: { connection_string: "${URL}", table: dst, ${v.sink} } }`
      ].join("\n")
    )
    return {
      name: `DataFlare (CLI, ${v.name})`,
      run: async () => {
        truncate()
        // --from-scratch: every round starts over (the sink's checkpoint table holds the last round's)
        const t = timeCommand(CLI, ["run", file, "--quiet", "--from-scratch"])
        loaded[`DataFlare ${v.name}`] = count()
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    }
  }
  const pipe = `psql -h 127.0.0.1 -U postgres -d ${DB} -qc '\\copy src to stdout' | psql -h 127.0.0.1 -U postgres -d ${DB} -qc '\\copy dst from stdin'`
  const contenders: Array<Contender> = [
    {
      name: "psql pipe (\\copy to stdout into \\copy from stdin)",
      run: async () => {
        truncate()
        const t = timeCommand("sh", ["-c", pipe])
        loaded["psql pipe"] = count()
        return { seconds: t.seconds, cpuSeconds: t.cpuSeconds, records: rows }
      }
    },
    ...variants.map(dataflare)
  ]
  const results = await alternate(contenders, rounds)
  // Where the time of the map run goes: the COPY text of the table decoded into records and encoded again.
  const copyFile = join(dir, "pg-to-postgres.copy")
  execFileSync("sh", ["-c", `psql -h 127.0.0.1 -U postgres -d ${DB} -qc '\\copy (SELECT * FROM src ORDER BY id) to stdout' > ${copyFile}`])
  const cost = codecCost(copyFile)
  psql("postgres", `DROP DATABASE IF EXISTS ${DB}`)
  const base = results[0]
  const lines = [
    `### 8. PostgreSQL → PostgreSQL, ${rows.toLocaleString("en")} rows of six columns`,
    "",
    "| contender | rows/s | wall s | client CPU s | ÷ psql pipe |",
    "|---|---:|---:|---:|---:|",
    ...results.map((r) =>
      `| ${r.name} | ${fmt(r.recordsPerSecond)} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${
        r === base ? "—" : (r.recordsPerSecond / base.recordsPerSecond).toFixed(2)
      } |`
    )
  ]
  const check = `rows in the target after each load: ${Object.entries(loaded).map(([k, v]) => `${k} ${v}`).join(", ")}. ` +
    `In this process, decoding the table's COPY text into ${cost.rows.toLocaleString("en")} records took ${cost.decode.toFixed(2)} s ` +
    `and encoding them again as COPY text ${cost.encode.toFixed(2)} s: the CPU a processor in between adds (the passed-through runs do neither). ` +
    "CPU s counts the client processes only; the PostgreSQL backends (one reading, one writing) use the rest."
  return { markdown: `${lines.join("\n")}\n\n${check}`, results }
}
