// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow texts contain ${VAR} references
/**
 * Broker sources as cluster parts, with real runner processes on loopback: a `redis-streams`
 * stream read by three parts (consumers `<consumer>-<i>` of one group; the workflow is
 * examples/cluster/stream-upsert.yaml) and a `rabbitmq` queue read by three parts (three
 * consumers of the queue), into idempotent PostgreSQL `upsert` sinks, with entries still being
 * added while one runner is killed with `kill -9`. The sources never end: the parts follow them
 * until `dataflare stop`, then `submit` reports the workflow stopped. Every entry is in the target
 * once (the upsert's key), none is lost, and none is left unacknowledged.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import amqp from "amqplib"
import { createClient } from "redis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dropPrefix, expectMoved, freshPrefix, killDuringRun, run, type RunnerProcess, keepRunners, stopAll, URL, waitFor, waitForPublishedShards, withPg } from "./support.ts"

/** Entries added in all, in chunks, while the parts read and one runner dies. */
const ENTRIES = 120_000
const CHUNK = 4_000

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const RABBIT_URL = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672"

const prefix = freshPrefix()
const database = `cluster_${prefix}`
const dataUrl = `postgres://postgres@127.0.0.1:5432/${database}`
const stream = `dataflare-cluster-${prefix}`
const queue = `dataflare-cluster-${prefix}`
/**
 * The runners' (and submit's) environment: the RabbitMQ URL with its password, a reference in the
 * workflow, and examples/cluster/stream-upsert.yaml's variables.
 */
const runnerEnv = { CLUSTER_RABBIT_URL: RABBIT_URL, REDIS_URL, STREAM: stream, PG_URL: dataUrl, TARGET_TABLE: "redis_dst" }
const runners: Array<RunnerProcess> = []
let dir = ""

const redis = createClient({ url: REDIS_URL })
redis.on("error", () => {})

const targetCount = (table: string) =>
  withPg(dataUrl, async (c) => {
    const r = await c.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE v = 'v' || id)::int AS intact, min(id::bigint)::int AS lo, max(id::bigint)::int AS hi FROM ${table}`)
    return r.rows[0] as { n: number; intact: number; lo: number | null; hi: number | null }
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Adds entries 1..ENTRIES in chunks of CHUNK, `add` doing one chunk, with a pause between chunks. */
const produce = async (add: (from: number, to: number) => Promise<void>) => {
  for (let from = 1; from <= ENTRIES; from += CHUNK) {
    await add(from, Math.min(ENTRIES, from + CHUNK - 1))
    await sleep(150)
  }
}

/**
 * Three runners (started as needed); the workflow submitted in 3 parts while `add` produces; the
 * runner of a part under way killed with `kill -9` while entries are still added; then waits for
 * every entry in `table`, stops the workflow and returns what submit printed.
 */
const killMidStream = async (name: string, file: string, table: string, add: (from: number, to: number) => Promise<void>) => {
  await keepRunners(runners, prefix, dir, 3, runnerEnv)
  await waitFor(prefix, "three runners", (s) => s.runners.filter((r) => r.healthy).length >= 3)
  // the shards settled on the three (a runner that just joined takes its shards some seconds later,
  // moving the parts on them): the part that restarts is the killed runner's
  await waitForPublishedShards(prefix, 3)
  const submitted = run(["submit", file, "--cluster", URL, "--prefix", prefix, "--parts", "3"], dir, 600_000, runnerEnv)
  const producing = produce(add)
  // a quarter of the entries written: the runner dies mid-stream, with more still being added
  for (let deadline = Date.now() + 120_000; (await targetCount(table)).n < ENTRIES / 4 && Date.now() < deadline;) await sleep(100)
  return killDuringRun(prefix, name, runners, submitted, async () => {
    await producing
    // the parts follow the source: every entry reaches the target, then they are stopped
    const deadline = Date.now() + 300_000
    while ((await targetCount(table)).n < ENTRIES && Date.now() < deadline) await sleep(500)
    const stopped = await run(["stop", name, "--cluster", URL, "--prefix", prefix], dir)
    expect(stopped.status).toBe(0)
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-cluster-brokers-"))
  await redis.connect()
  await withPg(URL, (c) => c.query(`CREATE DATABASE ${database}`))
  await withPg(dataUrl, async (c) => {
    // keyed by the entry id (examples/cluster/stream-upsert.yaml's upsert key); `id` unique too: each entry once
    await c.query("CREATE TABLE redis_dst (entry_id text PRIMARY KEY, id text NOT NULL UNIQUE, v text NOT NULL)")
    await c.query("CREATE TABLE rabbit_dst (id bigint PRIMARY KEY, v text NOT NULL)")
  })
  const conn = await amqp.connect(RABBIT_URL)
  const ch = await conn.createChannel()
  await ch.assertQueue(queue, { durable: true })
  await conn.close()
}, 120_000)

afterAll(async () => {
  await stopAll(runners)
  await dropPrefix(prefix)
  await withPg(URL, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
  await redis.del(stream).catch(() => undefined)
  await redis.quit().catch(() => undefined)
  const conn = await amqp.connect(RABBIT_URL)
  const ch = await conn.createChannel()
  await ch.deleteQueue(queue)
  await conn.close()
  await rm(dir, { recursive: true, force: true })
})

describe("dataflare cluster: broker sources as parts, into idempotent PostgreSQL sinks", () => {
  it("redis-streams: three consumers of one group, a runner killed mid-stream, every entry once, none pending", async () => {
    // examples/cluster/stream-upsert.yaml, its stream and tables from the environment (runnerEnv)
    const name = "cluster-stream-upsert"
    const example = join(import.meta.dirname, "../../examples/cluster/stream-upsert.yaml")
    const add = async (from: number, to: number) => {
      const sent: Array<Promise<unknown>> = []
      for (let i = from; i <= to; i++) sent.push(redis.sendCommand(["XADD", stream, "*", "id", String(i), "v", `v${i}`]))
      await Promise.all(sent)
    }
    const killed = await killMidStream(name, example, "redis_dst", add)
    expect(killed.result.stderr).toContain("which never ends: they run until `dataflare stop")
    expect(killed.result.stdout).toContain(`${name}: stopped (3 of 3 parts stopped at a checkpoint)`)
    expect(killed.result.status).toBe(0)
    expectMoved(killed, 3, "stopped")
    expect(await targetCount("redis_dst")).toEqual({ n: ENTRIES, intact: ENTRIES, lo: 1, hi: ENTRIES })
    // the parts were the group's consumers `part-<i>`, and every entry is acknowledged
    const consumers = (await redis.sendCommand(["XINFO", "CONSUMERS", stream, "dataflare"])) as ReadonlyArray<{ readonly name: string }>
    // (and `<consumer>:claimed`, the consumers the parts claim dead consumers' entries as)
    expect(consumers.map((c) => c.name).filter((n) => !n.endsWith(":claimed")).sort()).toEqual(["part-0", "part-1", "part-2"])
    const pending = (await redis.sendCommand(["XPENDING", stream, "dataflare"])) as ReadonlyArray<unknown>
    expect(Number(pending[0])).toBe(0)
  }, 900_000)

  it("rabbitmq: three consumers of one queue, a runner killed mid-stream, every message once, none left", async () => {
    const name = `cluster-rabbit-${prefix}`
    await writeFile(
      join(dir, "rabbit.yaml"),
      `name: ${name}
execution:
  checkpoint_interval: 300ms
sources:
  orders:
    type: rabbitmq
    config:
      url: \${CLUSTER_RABBIT_URL}
      queue: ${queue}
      prefetch: 2000
destinations:
  out:
    type: postgres
    inputs: [orders]
    config:
      connection_string: ${dataUrl}
      table: rabbit_dst
      mode: upsert
      key: [id]
`
    )
    const conn = await amqp.connect(RABBIT_URL)
    const ch = await conn.createConfirmChannel()
    const add = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) ch.sendToQueue(queue, Buffer.from(JSON.stringify({ id: i, v: `v${i}` })), { persistent: true })
      await ch.waitForConfirms()
    }
    try {
      // an insert (exactly-once by the part's own marks) sink is refused, naming the node, nothing submitted
      const upsert = await readFile(join(dir, "rabbit.yaml"), "utf8")
      await writeFile(join(dir, "rabbit-insert.yaml"), upsert.replace("      mode: upsert\n      key: [id]\n", ""))
      const refused = await run(["submit", "rabbit-insert.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "3"], dir, 120_000, runnerEnv)
      expect(refused.stderr).toContain("sink 'out' (postgres) writes in insert mode")
      expect(refused.stderr).toContain("source 'orders' (rabbitmq)")
      expect(refused.status).toBe(1)

      const killed = await killMidStream(name, "rabbit.yaml", "rabbit_dst", add)
      expect(killed.result.stdout).toContain(`${name}: stopped (3 of 3 parts stopped at a checkpoint)`)
      expect(killed.result.status).toBe(0)
      expectMoved(killed, 3, "stopped")
      expect(await targetCount("rabbit_dst")).toEqual({ n: ENTRIES, intact: ENTRIES, lo: 1, hi: ENTRIES })
      // every message acknowledged: none ready once the consumers are gone (unacknowledged ones are requeued)
      const check = await ch.checkQueue(queue)
      expect(check).toMatchObject({ messageCount: 0, consumerCount: 0 })
    } finally {
      await conn.close().catch(() => undefined)
    }
  }, 900_000)
})
