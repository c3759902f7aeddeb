/**
 * Keyed operators on the cluster, with real runner processes on loopback: a CSV file through a
 * filter into `aggregate` (count and sum per customer, 20,000 customers) or `dedupe`, into the
 * exactly-once PostgreSQL sink, on three runners — stage-1 parts (the file's byte ranges) write
 * the records by key group into the durable exchange table, stage-2 parts (one per key-group
 * range) aggregate them. One runner is killed with `kill -9` while it holds a stage-2 part (in
 * another case a stage-1 part); the target then holds exactly the rows of a local `dataflare run`
 * of the same workflow (every row compared), and the exchange is left empty. The same for a
 * windowed aggregate (the producers' event-time clocks travel with the rows), for dedupe then
 * aggregate in three stages (a middle-stage runner killed; examples/cluster/dedupe-then-totals.yaml
 * with hourly windows behind the dedupe), for `key_by` (equal to a local run with that node's
 * parallelism), and for a workflow stopped mid-run and submitted again.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  dropPrefix,
  expectMoved,
  freshPrefix,
  killDuringRun,
  partUnderWay,
  run,
  type RunnerProcess,
  startRunner,
  stopRunner,
  URL,
  waitFor,
  status,
  waitForLockWaiters,
  waitForPublishedShards,
  withPg
} from "./support.ts"

const ROWS = 250_000
const CUSTOMERS = 20_000
const DUPLICATED = 100_000
const PARTS = 3

const prefix = freshPrefix()
/**
 * examples/cluster/customer-totals.yaml's database, its own: the example's workflow name is fixed,
 * and its sinks' checkpoint marks (in the database's `dataflare_checkpoints`) must not outlive the run.
 */
const database = `keyed_${prefix}`
const exampleUrl = `postgres://postgres@127.0.0.1:5432/${database}`
/** The environment of the runners and of the local runs: the example's variables. */
const exampleEnv = (totals: string) => ({ PG_URL: exampleUrl, ORDERS_TABLE: "orders", TOTALS_TABLE: totals })
const runners: Array<RunnerProcess> = []
const example = join(import.meta.dirname, "../../examples/cluster/customer-totals.yaml")
let dir = ""

const table = (name: string) => `${prefix}_${name}`

/** csv → filter → aggregate per customer → map → the exactly-once postgres sink. */
const aggregate = (name: string, target: string) => `name: ${name}
execution:
  batch_size: 500
  checkpoint_interval: 300ms
sources:
  orders:
    type: csv
    config:
      path: orders.csv
      columns:
        id: integer
        amount: integer
transformations:
  big:
    type: filter
    inputs: [orders]
    config:
      condition: "amount >= 100"
  per_customer:
    type: aggregate
    inputs: [big]
    config:
      group_by: [customer]
      aggregates:
        n: { op: count }
        total: { op: sum, field: amount }
  shaped:
    type: map
    inputs: [per_customer]
    config:
      fields:
        mean: "total / n"
destinations:
  out:
    type: postgres
    inputs: [shaped]
    config:
      connection_string: ${URL}
      table: ${target}
`

/** The events (every record twice, far apart) deduplicated by id: the head both workflows below share. */
const dedupedEvents = (name: string) => `name: ${name}
execution:
  batch_size: 500
  checkpoint_interval: 300ms
sources:
  events:
    type: csv
    config:
      path: events.csv
      columns:
        id: integer
        v: integer
transformations:
  once:
    type: dedupe
    inputs: [events]
    config:
      key: [id]
`

/** The exactly-once postgres sink `out` reading `input`. */
const postgresOut = (input: string, target: string) => `destinations:
  out:
    type: postgres
    inputs: [${input}]
    config:
      connection_string: ${URL}
      table: ${target}
`

/** csv (every record twice, far apart) → dedupe by id → the exactly-once postgres sink. */
const dedupe = (name: string, target: string) => `${dedupedEvents(name)}${postgresOut("once", target)}`

/** csv with event times → per customer per 5 s tumbling window (epoch ms bounds) → the exactly-once postgres sink. */
const windowed = (name: string, target: string) => `name: ${name}
execution:
  batch_size: 500
  checkpoint_interval: 300ms
sources:
  ticks:
    type: csv
    config:
      path: timed.csv
      columns:
        id: integer
        at: integer
        amount: integer
transformations:
  per_window:
    type: aggregate
    inputs: [ticks]
    config:
      group_by: [customer]
      time_field: at
      window: { type: tumbling, size: 5s }
      max_out_of_orderness: 100ms
      window_format: epoch_ms
      aggregates:
        n: { op: count }
        total: { op: sum, field: amount }
destinations:
  out:
    type: postgres
    inputs: [per_window]
    config:
      connection_string: ${URL}
      table: ${target}
`

/** csv (every record twice) → dedupe by id → aggregate per tag → the exactly-once postgres sink: three stages. */
const chained = (name: string, target: string) => `${dedupedEvents(name)}  per_tag:
    type: aggregate
    inputs: [once]
    config:
      group_by: [tag]
      aggregates:
        n: { op: count }
        total: { op: sum, field: v }
        largest: { op: max, field: v }
${postgresOut("per_tag", target)}`

const aggregateColumns = "(customer text NOT NULL, n bigint NOT NULL, total bigint NOT NULL, mean double precision NOT NULL)"
const dedupeColumns = "(id bigint NOT NULL, v bigint NOT NULL, tag text NOT NULL)"
const chainedColumns = "(tag text NOT NULL, n bigint NOT NULL, total bigint NOT NULL, largest bigint NOT NULL)"
const windowedColumns = "(customer text NOT NULL, window_start bigint NOT NULL, window_end bigint NOT NULL, n bigint NOT NULL, total bigint NOT NULL)"
/** Rows of timed.csv: 10 ms apart, up to 40 ms out of order (within max_out_of_orderness), 50 customers. */
const TIMED = 200_000

/** The rows of `a` not in `b` and of `b` not in `a` (as multisets), and the counts of both. */
const difference = (a: string, b: string, url = URL) =>
  withPg(url, async (c) => {
    const [ta, tb] = [pg.escapeIdentifier(a), pg.escapeIdentifier(b)]
    const r = await c.query(
      `SELECT (SELECT count(*)::int FROM ${ta}) AS a, (SELECT count(*)::int FROM ${tb}) AS b,
              (SELECT count(*)::int FROM (SELECT * FROM ${ta} EXCEPT ALL SELECT * FROM ${tb}) x) AS only_a,
              (SELECT count(*)::int FROM (SELECT * FROM ${tb} EXCEPT ALL SELECT * FROM ${ta}) x) AS only_b`
    )
    return r.rows[0] as { a: number; b: number; only_a: number; only_b: number }
  })

/** The exchange rows a workflow left behind. */
const exchangeRows = (workflow: string) =>
  withPg(URL, async (c) => {
    const r = await c.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(table("exchange"))} WHERE workflow = $1`, [workflow])
    return (r.rows[0] as { n: number }).n
  })

/** Three live runners, their shards published (so a batch's parts are spread over them). */
const threeRunners = async () => {
  while (runners.filter((r) => r.child.exitCode === null && r.child.signalCode === null).length < 3) runners.push(await startRunner(prefix, dir, exampleEnv("totals")))
  const live = runners.filter((r) => r.child.exitCode === null && r.child.signalCode === null)
  await waitFor(prefix, "three runners", (s) => s.runners.filter((r) => r.healthy && live.some((l) => l.address === r.address)).length === 3)
  await waitForPublishedShards(prefix, 3)
  return live
}

/**
 * Submits `workflow` (file `file`, written by `text` with its target) in {@link PARTS} parts of
 * each stage, kills the runner of a part `which` picks while it runs, and checks the target
 * against the local run's.
 */
const killedRun = async (
  label: string,
  text: (name: string, target: string) => string,
  columns: string,
  local: string,
  which: (part: number) => boolean,
  /** Kill only once the part has read records (a stage-2 part: it then has operator state to restore). */
  reading = true,
  /** Stages: one more than the workflow has keyed operators. */
  stages = 2
) => {
  const live = await threeRunners()
  const name = `cluster-keyed-${label}-${prefix}`
  const target = table(label)
  await withPg(URL, (c) => c.query(`CREATE TABLE ${pg.escapeIdentifier(target)} ${columns}`))
  await writeFile(join(dir, `${label}.yaml`), text(name, target))
  const started = Date.now()
  const submitted = run(["submit", `${label}.yaml`, "--cluster", URL, "--prefix", prefix, "--parts", String(PARTS)], dir)
  const killed = await killDuringRun(prefix, name, live, submitted, async () => {}, (p) => which(p.part) && (!reading || p.recordsIn > 0))
  console.log(`${name}: ${Date.now() - started} ms in all`)
  expect(killed.result.stdout).toContain(`${name}: ${stages * PARTS} parts done`)
  expect(killed.result.status).toBe(0)
  expectMoved(killed, stages * PARTS, "done")
  // parts 0 … n-1 read the file's ranges, each later stage's n parts a range of the 128 key groups each
  const roles = Array.from({ length: stages }, (_, s) =>
    (s === 0 ? ["range 0 of 3", "range 1 of 3", "range 2 of 3"] : ["key groups 0-42", "key groups 43-85", "key groups 86-127"])
      .map((reads) => `stage ${s + 1}: ${reads}${s + 1 < stages ? " → exchange" : ""}`)).flat()
  expect(killed.own.map((p) => p.role)).toEqual(roles)
  const status = await run(["status", "--cluster", URL, "--prefix", prefix, "--workflow", name], dir)
  expect(status.stdout).toContain(`part ${PARTS} (${roles[PARTS]})  done`)
  const diff = await difference(local, target)
  expect(diff.a).toBeGreaterThan(0)
  expect(diff).toEqual({ a: diff.a, b: diff.a, only_a: 0, only_b: 0 })
  expect(await exchangeRows(name)).toBe(0)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-cluster-keyed-"))
  const orders = ["id,customer,amount"]
  for (let i = 0; i < ROWS; i++) orders.push(`${i},c${(i * 7919) % CUSTOMERS},${i % 1000}`)
  await writeFile(join(dir, "orders.csv"), `${orders.join("\n")}\n`)
  // every record twice, a whole file's half apart: the two copies are in different byte ranges
  const events = ["id,v,tag"]
  for (let copy = 0; copy < 2; copy++) for (let i = 0; i < DUPLICATED; i++) events.push(`${i},${(i * 31) % 977},t${i % 13}`)
  await writeFile(join(dir, "events.csv"), `${events.join("\n")}\n`)
  const timed = ["id,customer,at,amount"]
  for (let i = 0; i < TIMED; i++) timed.push(`${i},c${(i * 7) % 50},${1_700_000_000_000 + i * 10 - ((i * 13) % 5) * 10},${i % 100}`)
  await writeFile(join(dir, "timed.csv"), `${timed.join("\n")}\n`)
  // the references: the same workflows run locally, uninterrupted
  await withPg(URL, async (c) => {
    await c.query(`CREATE TABLE ${pg.escapeIdentifier(table("local_agg"))} ${aggregateColumns}`)
    await c.query(`CREATE TABLE ${pg.escapeIdentifier(table("local_dedupe"))} ${dedupeColumns}`)
    await c.query(`CREATE TABLE ${pg.escapeIdentifier(table("local_windowed"))} ${windowedColumns}`)
    await c.query(`CREATE TABLE ${pg.escapeIdentifier(table("local_chained"))} ${chainedColumns}`)
    await c.query(`CREATE DATABASE ${database}`)
  })
  // examples/cluster/customer-totals.yaml's tables
  await withPg(exampleUrl, async (c) => {
    await c.query("CREATE TABLE orders AS SELECT i AS id, 'c' || i % 9973 AS customer, (i % 500)::int AS amount FROM generate_series(1, 200000) i")
    await c.query("ALTER TABLE orders ADD PRIMARY KEY (id)")
    for (const t of ["totals", "local_totals"]) {
      await c.query(`CREATE TABLE ${t} (customer text NOT NULL, orders bigint NOT NULL, amount bigint NOT NULL, largest int NOT NULL)`)
    }
  })
  const localExample = await run(["run", example, "--quiet"], dir, 300_000, exampleEnv("local_totals"))
  expect(localExample.stderr).toBe("")
  expect(localExample.status).toBe(0)
  await writeFile(join(dir, "local-agg.yaml"), aggregate(`keyed-local-agg-${prefix}`, table("local_agg")))
  await writeFile(join(dir, "local-dedupe.yaml"), dedupe(`keyed-local-dedupe-${prefix}`, table("local_dedupe")))
  await writeFile(join(dir, "local-windowed.yaml"), windowed(`keyed-local-windowed-${prefix}`, table("local_windowed")))
  await writeFile(join(dir, "local-chained.yaml"), chained(`keyed-local-chained-${prefix}`, table("local_chained")))
  for (const file of ["local-agg.yaml", "local-dedupe.yaml", "local-windowed.yaml", "local-chained.yaml"]) {
    const local = await run(["run", file, "--quiet"], dir)
    expect(local.stderr).toBe("")
    expect(local.status).toBe(0)
  }
}, 300_000)

afterAll(async () => {
  await Promise.all(runners.map((r) => stopRunner(r, "SIGKILL")))
  await dropPrefix(prefix)
  await withPg(URL, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
  await rm(dir, { recursive: true, force: true })
})

describe("dataflare cluster: keyed operators over the durable exchange", () => {
  it("aggregate: kill -9 of the runner of a stage-2 part — the target equals a local run's", async () => {
    // parts PARTS … 2·PARTS-1 are stage 2 (a key-group range each)
    await killedRun("agg2", aggregate, aggregateColumns, table("local_agg"), (part) => part >= PARTS)
  }, 300_000)

  it("aggregate: kill -9 of the runner of a stage-1 part — the target equals a local run's", async () => {
    await killedRun("agg1", aggregate, aggregateColumns, table("local_agg"), (part) => part < PARTS, false)
  }, 300_000)

  it("dedupe: kill -9 of the runner of a stage-2 part — the target equals a local run's", async () => {
    await killedRun("dedupe2", dedupe, dedupeColumns, table("local_dedupe"), (part) => part >= PARTS)
  }, 300_000)

  it("windowed aggregate: kill -9 of the runner of a stage-2 part — every window equals a local run's", async () => {
    // (the producers' event-time clocks travel with the rows; a window fires once all have passed it)
    await killedRun("windowed2", windowed, windowedColumns, table("local_windowed"), (part) => part >= PARTS)
    // every 5 s window of every customer, none cut short or dropped as late
    const windows = await withPg(URL, async (c) =>
      (await c.query(`SELECT count(*)::int AS n, sum(n)::int AS records FROM ${pg.escapeIdentifier(table("windowed2"))}`)).rows[0]
    )
    expect(windows).toEqual({ n: windows.n, records: TIMED })
  }, 300_000)

  it("dedupe then aggregate (three stages): kill -9 of the runner of a middle-stage part — the target equals a local run's", async () => {
    // parts 3-5 run the dedupe on a key-group range of edge 1 and write its output into edge 2
    await killedRun("chained2", chained, chainedColumns, table("local_chained"), (part) => part >= PARTS && part < 2 * PARTS, true, 3)
    const totals = await withPg(URL, async (c) => (await c.query(`SELECT sum(n)::int AS n FROM ${pg.escapeIdentifier(table("chained2"))}`)).rows[0])
    // each id once, though every record came twice
    expect(totals).toEqual({ n: DUPLICATED })
  }, 300_000)

  it("runs examples/cluster/dedupe-then-totals.yaml: events counted once per id, totalled per customer per hour, equal to a local run", async () => {
    await threeRunners()
    const chainedExample = join(import.meta.dirname, "../../examples/cluster/dedupe-then-totals.yaml")
    // 60,000 events a minute apart, pairs swapped (a minute out of order), every third delivered
    // again two events later
    const events = ["id,customer,at,amount"]
    const again: Array<string> = []
    for (let i = 0; i < 60_000; i++) {
      const line = `${i},c${i % 37},${new Date(Date.UTC(2026, 0, 1) + (i ^ 1) * 60_000).toISOString()},${(i * 7) % 100}`
      events.push(line)
      if (again.length > 2) events.push(again.shift()!)
      if (i % 3 === 0) again.push(line)
    }
    events.push(...again)
    await writeFile(join(dir, "order_events.csv"), `${events.join("\n")}\n`)
    // (the example's database, as for customer-totals.yaml: its workflow name, and so its sink's marks, are fixed)
    // (the runners resolve what submit leaves unset: the example's defaults, order_events.csv in
    // their directory and the table hourly_totals; the local run writes local_hourly)
    const columns = "(customer text NOT NULL, window_start text NOT NULL, window_end text NOT NULL, orders bigint NOT NULL, amount bigint NOT NULL)"
    for (const t of ["hourly_totals", "local_hourly"]) await withPg(exampleUrl, (c) => c.query(`CREATE TABLE ${t} ${columns}`))
    const local = await run(["run", chainedExample, "--quiet"], dir, 300_000, { PG_URL: exampleUrl, HOURLY_TABLE: "local_hourly" })
    expect(local.stderr).toBe("")
    expect(local.status).toBe(0)
    const submitted = await run(["submit", chainedExample, "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir, 300_000, { PG_URL: exampleUrl })
    expect(submitted.stderr).toContain(
      "submitted cluster-dedupe-then-totals: 6 parts — 2 source ranges writing the keyed exchange, 2 key-group ranges running dedupe 'once' → exchange, 2 key-group ranges running aggregate 'hourly'"
    )
    expect(submitted.stdout).toContain("cluster-dedupe-then-totals: 6 parts done")
    expect(submitted.status).toBe(0)
    const diff = await difference("local_hourly", "hourly_totals", exampleUrl)
    expect(diff.a).toBeGreaterThan(1000)
    // what the last stage's parts wrote into the sink (the stages before wrote the exchange)
    expect(submitted.stdout).toContain(`cluster-dedupe-then-totals: 6 parts done, ${diff.a} records written`)
    expect(diff).toEqual({ a: diff.a, b: diff.a, only_a: 0, only_b: 0 })
    const counted = await withPg(exampleUrl, async (c) => (await c.query(`SELECT sum(orders)::int AS n FROM hourly_totals`)).rows[0])
    expect(counted).toEqual({ n: 60_000 })
  }, 300_000)

  it("key_by: records travel by the node's key_by — the target equals a local run with that node's parallelism at the number of parts", async () => {
    await threeRunners()
    // key_by id (finer than group_by customer): a customer's records reach several instances, each
    // emitting its own partial totals — the local run's instances own the same key-group ranges
    const keyBy = (text: string) => text.replace("    inputs: [big]\n    config:\n      group_by", "    inputs: [big]\n    key_by: id\n    config:\n      group_by")
    const name = `cluster-keyed-by-${prefix}`
    for (const t of ["key_by", "local_key_by"]) await withPg(URL, (c) => c.query(`CREATE TABLE ${pg.escapeIdentifier(table(t))} ${aggregateColumns}`))
    await writeFile(join(dir, "local-key-by.yaml"), keyBy(aggregate(`keyed-local-by-${prefix}`, table("local_key_by"))).replace("    key_by: id\n", `    key_by: id\n    parallelism: ${PARTS}\n`))
    const local = await run(["run", "local-key-by.yaml", "--quiet"], dir)
    expect(local.stderr).toBe("")
    expect(local.status).toBe(0)
    await writeFile(join(dir, "key-by.yaml"), keyBy(aggregate(name, table("key_by"))))
    const submitted = await run(["submit", "key-by.yaml", "--cluster", URL, "--prefix", prefix, "--parts", String(PARTS)], dir)
    expect(submitted.stdout).toContain(`${name}: ${2 * PARTS} parts done`)
    expect(submitted.status).toBe(0)
    const diff = await difference(table("local_key_by"), table("key_by"))
    expect(diff).toEqual({ a: diff.a, b: diff.a, only_a: 0, only_b: 0 })
    // partial totals: more rows than customers (each customer's orders spread over the instances)
    expect(diff.a).toBeGreaterThan(CUSTOMERS)
  }, 300_000)

  it("runs examples/cluster/customer-totals.yaml: a PostgreSQL table aggregated per customer, equal to a local run", async () => {
    await threeRunners()
    const submitted = await run(["submit", example, "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir, 300_000, exampleEnv("totals"))
    expect(submitted.stdout).toContain("cluster-customer-totals: 4 parts done")
    expect(submitted.status).toBe(0)
    const diff = await difference("local_totals", "totals", exampleUrl)
    expect(diff).toEqual({ a: 9973, b: 9973, only_a: 0, only_b: 0 })
  }, 300_000)

  it("dataflare stop mid-run, then submitted again: the stopped parts resume from their checkpoints and the target equals a local run's", async () => {
    await threeRunners()
    const name = `cluster-keyed-stop-${prefix}`
    const target = table("stopped")
    const exchange = table("exchange")
    await withPg(URL, (c) => c.query(`CREATE TABLE ${pg.escapeIdentifier(target)} ${aggregateColumns}`))
    await writeFile(join(dir, "stop.yaml"), aggregate(name, target))
    const submit = () => run(["submit", "stop.yaml", "--cluster", URL, "--prefix", prefix, "--parts", String(PARTS)], dir)
    const submitted = submit()
    // Both stages held where they are: once a stage-1 part has checkpointed (the exchange then
    // exists), the test locks the exchange, so the stage-1 parts' next commits into it and the
    // stage-2 parts' deletes of what their checkpoints cover wait; the stop comes while they wait,
    // and the lock is let go once the parts have had time to see it (polled every 0.5 s). A stage-2
    // part cannot end before every stage-1 part is done, which needs the lock: it stops mid-run,
    // with its operator's state in its checkpoint.
    await partUnderWay(prefix, name, (p) => p.part < PARTS)
    const locker = new pg.Client({ connectionString: URL })
    await locker.connect()
    try {
      await locker.query(`BEGIN; LOCK TABLE ${pg.escapeIdentifier(exchange)} IN EXCLUSIVE MODE`)
      await waitForLockWaiters(URL, exchange, 1)
      const stopped = await run(["stop", name, "--cluster", URL, "--prefix", prefix], dir)
      expect(stopped.stdout).toContain("asked to stop")
      expect(stopped.status).toBe(0)
      await new Promise((r) => setTimeout(r, 3_000))
      await locker.query("COMMIT")
    } finally {
      await locker.end()
    }
    const first = await submitted
    expect(first.stdout).toContain(`${name}: stopped`)
    const before = (await status(prefix, name)).parts.filter((p) => p.workflow === name)
    expect(before).toHaveLength(2 * PARTS)
    // stage-1 parts stopped where they were, or done when they had read their whole range before
    // the stop; the stage-2 parts stopped mid-run, with checkpoints to resume from
    for (const p of before.filter((p) => p.part < PARTS)) expect(["stopped", "done"]).toContain(p.status)
    const stage2 = before.filter((p) => p.part >= PARTS)
    expect(stage2.map((p) => p.status)).toEqual(["stopped", "stopped", "stopped"])
    expect(stage2.some((p) => p.checkpoint !== null)).toBe(true)
    expect(await exchangeRows(name)).toBeGreaterThan(0)

    const resumed = await submit()
    expect(resumed.stdout).toContain(`${name}: ${2 * PARTS} parts done`)
    expect(resumed.status).toBe(0)
    const after = (await status(prefix, name)).parts.filter((p) => p.workflow === name)
    for (const p of after) {
      expect(p.status).toBe("done")
      const was = before.find((b) => b.part === p.part)!
      // a part stopped with a checkpoint resumes from it
      if (was.status === "stopped" && was.checkpoint !== null) expect(p.resumedFrom).toBe(was.checkpoint)
    }
    const diff = await difference(table("local_agg"), target)
    expect(diff.a).toBeGreaterThan(0)
    expect(diff).toEqual({ a: diff.a, b: diff.a, only_a: 0, only_b: 0 })
    expect(await exchangeRows(name)).toBe(0)
  }, 600_000)

  it("refuses what the exchange does not distribute, naming the node, with nothing recorded", async () => {
    // a sink between two keyed operators: only the last stage writes sinks
    const between = `cluster-keyed-between-${prefix}`
    await writeFile(
      join(dir, "between.yaml"),
      `${aggregate(between, table("never")).replace(
        "  shaped:\n    type: map\n    inputs: [per_customer]\n",
        "  once:\n    type: dedupe\n    inputs: [per_customer]\n    config:\n      key: [customer]\n  shaped:\n    type: map\n    inputs: [once]\n"
      )}  early:\n    type: ndjson\n    inputs: [per_customer]\n    config:\n      path: early.ndjson\n`
    )
    const refused = await run(["submit", "between.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir)
    expect(refused.stderr).toContain("node 'early' (ndjson) is not on the one path source → keyed operator 'per_customer' → keyed operator 'once' → sinks")
    expect(refused.status).toBe(1)
    const side = `cluster-keyed-side-${prefix}`
    await writeFile(
      join(dir, "side.yaml"),
      `${aggregate(side, table("never"))}  raw:\n    type: ndjson\n    inputs: [big]\n    config:\n      path: raw.ndjson\n`
    )
    const sideRefused = await run(["submit", "side.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir)
    expect(sideRefused.stderr).toContain("node 'raw' (ndjson) is not on the one path source → keyed operator 'per_customer' → sinks")
    expect(sideRefused.status).toBe(1)
    const parts = await withPg(URL, (c) =>
      // (no parts table at all when this test runs alone: nothing recorded either)
      c.query(
        `SELECT CASE WHEN to_regclass($2) IS NULL THEN 0 ELSE (SELECT count(*)::int FROM ${pg.escapeIdentifier(table("parts"))} WHERE workflow = ANY($1)) END AS n`,
        [[between, side], table("parts")]
      )
    )
    expect(parts.rows[0]).toEqual({ n: 0 })
  }, 120_000)
})
