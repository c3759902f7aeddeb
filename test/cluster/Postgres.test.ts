// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} and ${env:VAR} references
/**
 * A PostgreSQL table distributed by key ranges into a shared exactly-once PostgreSQL sink, with
 * real runner processes on loopback: three runners, a 2 M-row table (generate_series), one runner
 * killed with `kill -9` while its part writes; the parts end on the two runners left and the
 * target holds every source row exactly once (count and md5 of the ordered rows compared with the
 * source's).
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
  keepRunners,
  killDuringRun,
  partUnderWay,
  type RunnerProcess,
  run,
  startRunners,
  stopAll,
  stopRunner,
  tableCopy,
  URL,
  waitFor,
  waitForPublishedShards,
  withPg
} from "./support.ts"

const ROWS = 2_000_000

const prefix = freshPrefix()
const database = `cluster_${prefix}`
const dataUrl = `postgres://postgres@127.0.0.1:5432/${database}`
/** The runners' credentials (the local server trusts loopback: the password is only carried). */
const SECRET = "s3cr3t-cluster-pw"
const secretEnv = { CLUSTER_PG_SECRET_URL: `postgres://postgres:${SECRET}@127.0.0.1:5432/${database}` }
/** The runners' environment: the credentials above, and examples/cluster/table-copy.yaml's PG_URL. */
const runnerEnv = { ...secretEnv, PG_URL: dataUrl }
const runners: Array<RunnerProcess> = []
let dir = ""

const admin = withPg

/** The 2 M-row table into `target`, exactly-once (the sink's default), in small batches. */
const copy = (name: string, target: string) => tableCopy(name, "postgres", dataUrl, dataUrl, target)

/** count and md5 of a table's rows in key order. */
const digest = (table: string) =>
  admin(dataUrl, async (c) => {
    const r = await c.query(`SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY id)) AS h FROM ${table} t`)
    return r.rows[0] as { n: number; h: string }
  })

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-cluster-pg-"))
  await admin(URL, (c) => c.query(`CREATE DATABASE ${database}`))
  await admin(dataUrl, async (c) => {
    await c.query("CREATE TABLE src (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) NOT NULL, at timestamptz NOT NULL)")
    await c.query(
      `INSERT INTO src SELECT i, 'name ' || i, (i % 1000) / 4.0, timestamptz '2026-01-01' + i * interval '1 second' FROM generate_series(1, ${ROWS}) AS i`
    )
    // no key on the target: a row written twice would be there twice
    // examples/cluster/table-copy.yaml's tables
    await c.query("CREATE TABLE orders AS SELECT i AS id, 'c' || i % 97 AS customer, (i % 500)::int AS amount FROM generate_series(1, 20000) i")
    await c.query("ALTER TABLE orders ADD PRIMARY KEY (id)")
    await c.query("CREATE TABLE orders_copy (id int, customer text, amount int, gross numeric)")
    await c.query("CREATE TABLE small (id int PRIMARY KEY, v text NOT NULL)")
    await c.query("INSERT INTO small SELECT i, 'v' || i FROM generate_series(1, 10000) AS i")
    await c.query("CREATE TABLE small_dst (id int NOT NULL, v text NOT NULL)")
    await c.query("CREATE TABLE dst (id bigint NOT NULL, name text NOT NULL, amount numeric(12,2) NOT NULL, at timestamptz NOT NULL)")
    await c.query("CREATE TABLE dst_term (LIKE dst)")
  })
}, 300_000)

afterAll(async () => {
  await stopAll(runners)
  await dropPrefix(prefix)
  await admin(URL, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
  await rm(dir, { recursive: true, force: true })
})

describe("dataflare cluster: a PostgreSQL table into a shared exactly-once PostgreSQL sink", () => {
  it("survives kill -9 of a runner: every source row is in the target exactly once", async () => {
    runners.push(...(await startRunners(prefix, dir, 3, runnerEnv)))
    const name = `cluster-pg-${prefix}`
    await writeFile(join(dir, "pg.yaml"), copy(name, "dst"))
    const started = Date.now()
    const submitted = run(["submit", "pg.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "6"], dir)
    const killed = await killDuringRun(prefix, name, runners, submitted)
    console.log(`${ROWS} rows in ${Date.now() - started} ms on the cluster (one runner killed)`)
    expect(killed.result.stdout).toContain(`${name}: 6 parts done`)
    expect(killed.result.status).toBe(0)
    expectMoved(killed, 6, "done")
    // every row once: the same count and the same rows as the source
    const [source, target] = [await digest("src"), await digest("dst")]
    expect(source.n).toBe(ROWS)
    expect(target).toEqual(source)
  }, 900_000)

  it("keeps credentials out of the cluster's tables: ${NAME} is resolved on the runners, a password in clear is refused", async () => {
    await keepRunners(runners, prefix, dir, 2, runnerEnv)
    const workflow = (name: string, url: string) => `name: ${name}
sources:
  small:
    type: postgres
    config:
      connection_string: ${url}
      table: small
transformations:
  tagged:
    type: map
    inputs: [small]
    config:
      fields:
        v: "v + '!'"
destinations:
  out:
    type: postgres
    inputs: [tagged]
    config:
      connection_string: ${url}
      table: small_dst
`
    // a password in clear: refused before anything is stored
    const clear = `cluster-clear-${prefix}`
    await writeFile(join(dir, "clear.yaml"), workflow(clear, secretEnv.CLUSTER_PG_SECRET_URL))
    const refused = await run(["submit", "clear.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir)
    expect(refused.stderr).toContain("node 'small' config.connection_string, node 'out' config.connection_string holds a credential in clear")
    expect(refused.stderr).not.toContain(SECRET)
    expect(refused.status).toBe(1)

    // a reference: resolved by submit (to check) and by each runner (to run), stored as a reference
    const name = `cluster-secret-${prefix}`
    await writeFile(join(dir, "secret.yaml"), workflow(name, "${CLUSTER_PG_SECRET_URL}"))
    const result = await run(["submit", "secret.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "3"], dir, 300_000, secretEnv)
    expect(result.stdout).toContain(`${name}: 3 parts done`)
    expect(result.status).toBe(0)
    const rows = await admin(dataUrl, (c) => c.query("SELECT count(*)::int AS n, count(*) FILTER (WHERE v = 'v' || id || '!')::int AS ok FROM small_dst"))
    expect(rows.rows[0]).toEqual({ n: 10000, ok: 10000 })
    const stored = await admin(URL, async (c) => {
      const messages = `${prefix}_messages`
      const r = await c.query(
        `SELECT count(*) FILTER (WHERE payload LIKE $1)::int AS secret, count(*) FILTER (WHERE payload LIKE $2)::int AS reference FROM ${pg.escapeIdentifier(messages)}`,
        [`%${SECRET}%`, "%${env:CLUSTER_PG_SECRET_URL}%"]
      )
      const parts = await c.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(`${prefix}_parts`)} WHERE workflow = $1`, [clear])
      return { ...(r.rows[0] as { secret: number; reference: number }), refusedParts: (parts.rows[0] as { n: number }).n }
    })
    expect(stored).toEqual({ secret: 0, reference: 3, refusedParts: 0 })
  }, 600_000)

  it("runs examples/cluster/table-copy.yaml: every row of the table copied once, mapped", async () => {
    await keepRunners(runners, prefix, dir, 2, runnerEnv)
    const example = join(import.meta.dirname, "../../examples/cluster/table-copy.yaml")
    const submitted = await run(["submit", example, "--cluster", URL, "--prefix", prefix, "--parts", "3"], dir, 300_000, { PG_URL: dataUrl })
    expect(submitted.stdout).toContain("cluster-table-copy: 3 parts done")
    expect(submitted.status).toBe(0)
    const check = await admin(dataUrl, async (c) => {
      const source = await c.query("SELECT count(*)::int AS n, md5(string_agg(id || ',' || customer || ',' || amount, '|' ORDER BY id)) AS h FROM orders")
      const copy = await c.query(
        "SELECT count(*)::int AS n, md5(string_agg(id || ',' || customer || ',' || amount, '|' ORDER BY id)) AS h, count(*) FILTER (WHERE abs(gross - amount * 1.2) > 1e-9)::int AS wrong FROM orders_copy"
      )
      return { source: source.rows[0] as { n: number; h: string }, copy: copy.rows[0] as { n: number; h: string; wrong: number } }
    })
    expect(check.source.n).toBe(20000)
    expect(check.copy).toEqual({ ...check.source, wrong: 0 })
  }, 600_000)

  it("hands parts over when a runner stops gracefully (SIGTERM): every source row once in the target", async () => {
    await keepRunners(runners, prefix, dir, 2, runnerEnv)
    await waitForPublishedShards(prefix, 2)
    const name = `cluster-pg-term-${prefix}`
    await writeFile(join(dir, "term.yaml"), copy(name, "dst_term"))
    const submitted = run(["submit", "term.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "4"], dir)
    const busy = await partUnderWay(prefix, name)
    const leaving = runners.find((r) => r.address === busy.runner)!
    await stopRunner(leaving, "SIGTERM")
    // the runner ended by itself (it did not need the SIGKILL stopRunner sends after 20 s)
    expect(leaving.child.signalCode).not.toBe("SIGKILL")
    const result = await submitted
    expect(result.stdout).toContain(`${name}: 4 parts done`)
    expect(result.status).toBe(0)
    const own = (await waitFor(prefix, "the parts", () => true)).parts.filter((p) => p.workflow === name)
    expectMoved({ busy, own, victim: leaving }, 4, "done")
    expect(await digest("dst_term")).toEqual(await digest("src"))
  }, 600_000)
})
