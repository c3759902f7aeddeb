/**
 * The cluster end to end with real processes on loopback and PostgreSQL storage: three runners, a
 * workflow split into byte ranges of a CSV file, one runner killed with `kill -9` while it runs
 * parts; the parts move to the two left and resume from their checkpoints, and the union of the
 * parts' outputs is exactly the output of a local `dataflare run` (nothing lost, nothing twice).
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dropPrefix, expectMoved, freshPrefix, keepRunners, killDuringRun, lines, ordersWorkflow, partLines, partsLeaving, run, runLocal, type RunnerProcess, startRunner, startRunners, stopAll, tableDigest, tearDown, URL, waitFor, waitForLockWaiters, waitForPublishedShards, withPg } from "./support.ts"

const ROWS = 400_000
/** The rebalance test's rows, and its parts (all on runner 1 at first). */
const JOIN_ROWS = 200_000
/**
 * With two runners joining, each part's shard stays on runner 1 with a chance of about 1/3 (its
 * share of the hash ring), all of them about (1/3)^8 (then more runners join: see partsLeaving).
 */
const JOIN_PARTS = 8

const workflow = (name: string, extra = "") =>
  ordersWorkflow({ name, source: "csv", path: "in.csv", out: "out/result.ndjson", batchSize: 100, checkpointInterval: "200ms", extra })

let dir = ""
const prefix = freshPrefix()
const runners: Array<RunnerProcess> = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-cluster-"))
  const rows = ["id,name,amount"]
  for (let i = 0; i < ROWS; i++) rows.push(`${i},"name ${i}, the ${i % 7}th",${i % 1000}`)
  await writeFile(join(dir, "in.csv"), `${rows.join("\n")}\n`)
  await mkdir(join(dir, "out"))
  await mkdir(join(dir, "local"))
  // the reference: the same workflow run locally, uninterrupted
  await runLocal(dir, "local.yaml", workflow("cluster-local").replace("out/result.ndjson", "local/result.ndjson"))
}, 300_000)

afterAll(() => tearDown(runners, prefix, dir))

describe("dataflare cluster", () => {
  it("refuses a workflow it cannot distribute yet, before submitting anything", async () => {
    // a stdout sink: every part would write the one terminal of the runner it happens to run on
    const printed = workflow("cluster-printed").replace("    type: ndjson\n    inputs: [shaped]\n    config:\n      path: out/result.ndjson\n", "    type: stdout\n    inputs: [shaped]\n")
    await writeFile(join(dir, "printed.yaml"), printed)
    const result = await run(["submit", "printed.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir)
    expect(result.stderr).toContain("sink 'out' (stdout): the cluster writes file sinks")
    expect(result.status).toBe(1)
    const status = await run(["status", "--cluster", URL, "--prefix", prefix, "--format", "json"], dir)
    expect(JSON.parse(status.stdout).parts).toEqual([])
  }, 120_000)

  it("survives kill -9 of a runner: the parts move, and the output is exactly the local run's", async () => {
    runners.push(...(await startRunners(prefix, dir, 3)))
    const name = `cluster-kill-${prefix}`
    // small batches: the victim's part is far from its end when it is killed
    await writeFile(join(dir, "wf.yaml"), workflow(name).replace("batch_size: 100", "batch_size: 5"))
    const submitted = run(["submit", "wf.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "6"], dir)
    // the victim: a runner in the middle of a part (it has checkpointed, it has not ended); its
    // part starts again on another runner, from a checkpoint taken on the killed runner
    const killed = await killDuringRun(prefix, name, runners, submitted)
    expect(killed.result.stderr + killed.result.stdout).toContain("6 parts done")
    expect(killed.result.status).toBe(0)
    expectMoved(killed, 6, "done")

    // the union of the parts' files is the local run's output, line for line (as multisets)
    const files = await partLines(join(dir, "out"), "result")
    expect(files).toHaveLength(6)
    const union = files.flat()
    const expected = lines(await readFile(join(dir, "local", "result.ndjson"), "utf8"))
    expect(expected.length).toBe(ROWS * 0.7)
    expect(union.length).toBe(expected.length)
    expect([...union].sort()).toEqual([...expected].sort())
  }, 600_000)

  it("rebalances: runners joining mid-run take parts over, which resume from their checkpoints", async () => {
    // a cluster of its own: one runner running every part, two more joining while the parts are
    // held: they write an exactly-once postgres sink whose target the test keeps locked (EXCLUSIVE:
    // reads, such as the staging table's CREATE ... AS SELECT, go on), so no part can apply a
    // checkpoint, nor end, until runner 1 has started handing a part's shard over
    const own = freshPrefix()
    const database = `cluster_${own}`
    const dataUrl = `postgres://postgres@127.0.0.1:5432/${database}`
    const name = `cluster-join-${own}`
    const mine: Array<RunnerProcess> = []
    await withPg(URL, (c) => c.query(`CREATE DATABASE ${database}`))
    const lock = new pg.Client({ connectionString: dataUrl })
    try {
      await withPg(dataUrl, async (c) => {
        // no key on the target: a row applied twice would be there twice
        await c.query("CREATE TABLE dst (id bigint, name text, amount numeric, gross numeric)")
        await c.query("CREATE TABLE expected (LIKE dst)")
        await c.query(
          `INSERT INTO expected SELECT i, 'name ' || i, i % 1000, (i % 1000) * 2 FROM generate_series(0, ${JOIN_ROWS - 1}) AS i WHERE i % 1000 >= 300`
        )
      })
      const rows = ["id,name,amount"]
      for (let i = 0; i < JOIN_ROWS; i++) rows.push(`${i},"name ${i}",${i % 1000}`)
      await writeFile(join(dir, "join.csv"), `${rows.join("\n")}\n`)
      const toTable = `destinations:
  out:
    type: postgres
    inputs: [shaped]
    config:
      connection_string: ${dataUrl}
      table: dst
`
      await writeFile(join(dir, "join.yaml"), `${workflow(name).replace("path: in.csv", "path: join.csv").replace("batch_size: 100", "batch_size: 1000").split("destinations:")[0]}${toTable}`)

      // runner 1 runs every part at once (each gets a checkpoint there) and holds all the shards
      const first = await startRunner(own, dir, {}, ["--max-parts", String(JOIN_PARTS)])
      mine.push(first)
      await waitForPublishedShards(own, 1)
      await lock.connect()
      await lock.query("BEGIN")
      await lock.query("LOCK TABLE dst IN EXCLUSIVE MODE")
      const submittedAt = Date.now()
      const submitted = run(["submit", "join.yaml", "--cluster", URL, "--prefix", own, "--parts", String(JOIN_PARTS)], dir)
      // every part has written a checkpoint record (its commit, which follows, waits for the lock)
      await waitForLockWaiters(dataUrl, "dst", JOIN_PARTS)
      const before = (await waitFor(own, "the parts", () => true)).parts.filter((p) => p.workflow === name)
      expect(before).toHaveLength(JOIN_PARTS)
      expect(before.map((p) => [p.status, p.runner, p.attempts])).toEqual(before.map(() => ["running", first.address, 1]))

      const heldAt = Date.now()
      const connections = await withPg(URL, async (c) => (await c.query("SELECT count(*)::int AS n FROM pg_stat_activity")).rows[0].n)
      mine.push(await startRunner(own, dir), await startRunner(own, dir))
      // runner 1 lets a part's shard go (a joining runner's now): that part is interrupted where it
      // waits, and must start again elsewhere from its checkpoint; only then can the parts go on
      const leaving = await partsLeaving(own, name, first.address, {
        runners: () => mine.length,
        join: async () => {
          console.log(`${name}: no part's shard left runner 1 with ${mine.length} runners, one more joins`)
          mine.push(await startRunner(own, dir))
        },
        joins: 3
      })
      const leftAt = Date.now()
      // the checkpoints the parts have written so far (on runner 1: none of them can go on)
      const written = await withPg(URL, async (c) => {
        const r = await c.query(`SELECT workflow, max(id)::int AS id FROM ${pg.escapeIdentifier(`${own}_state_checkpoints`)} GROUP BY workflow`)
        return new Map((r.rows as Array<{ workflow: string; id: number }>).map((row) => [row.workflow, row.id]))
      })
      await lock.query("COMMIT")
      const result = await submitted
      console.log(
        `${name}: ${JOIN_PARTS} parts held on runner 1 ${heldAt - submittedAt} ms after submit (${connections} connections to the server); parts ${leaving.join(", ")} left it ${leftAt - heldAt} ms after ${mine.length - 1} runners started; done ${Date.now() - leftAt} ms later`
      )
      expect(result.stdout).toContain(`${name}: ${JOIN_PARTS} parts done`)
      expect(result.status).toBe(0)
      const after = (await waitFor(own, "the parts", () => true)).parts.filter((p) => p.workflow === name)
      expect(after).toHaveLength(JOIN_PARTS)
      // the parts that left runner 1 started again (on the shard's next holder: a joining runner,
      // unless the ring gave the shard back as the second runner joined) from the checkpoint they
      // had written there, or a later one
      for (const part of leaving) {
        const p = after.find((q) => q.part === part)!
        expect(p.status).toBe("done")
        expect(p.attempts).toBeGreaterThanOrEqual(2)
        expect(p.resumedFrom).toBeGreaterThanOrEqual(written.get(`${name}/${part}`)!)
      }
      for (const p of after) expect(p.status).toBe("done")
      // every row exactly once in the target: the count and the md5 of the rows in key order
      const [target, reference] = [await tableDigest(dataUrl, "dst"), await tableDigest(dataUrl, "expected")]
      expect(reference.n).toBe(JOIN_ROWS * 0.7)
      expect(target).toEqual(reference)
    } finally {
      await lock.end().catch(() => undefined)
      await stopAll(mine)
      await dropPrefix(own)
      await withPg(URL, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
    }
  }, 600_000)

  it("dataflare stop: running parts checkpoint where they are and end, nothing is written twice", async () => {
    await keepRunners(runners, prefix, dir, 2)
    const name = `cluster-stop-${prefix}`
    await mkdir(join(dir, "stop"))
    // small batches: parts still running when the stop comes
    await writeFile(join(dir, "stop.yaml"), workflow(name).replace("out/result.ndjson", "stop/result.ndjson").replace("batch_size: 100", "batch_size: 5"))
    const submitted = run(["submit", "stop.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "4"], dir)
    await waitFor(prefix, "a part under way", (s) => s.parts.some((p) => p.workflow === name && p.status === "running" && p.recordsOut > 0))
    const stopped = await run(["stop", name, "--cluster", URL, "--prefix", prefix], dir)
    expect(stopped.stdout).toContain("asked to stop")
    expect(stopped.status).toBe(0)
    const result = await submitted
    expect(result.stdout).toContain(`${name}: stopped`)
    expect(result.status).toBe(0)
    const { parts } = await waitFor(prefix, "the parts", () => true)
    const own = parts.filter((p) => p.workflow === name)
    expect(own.every((p) => p.status === "stopped" || p.status === "done")).toBe(true)
    expect(own.some((p) => p.status === "stopped")).toBe(true)
    // what the parts wrote before stopping: records of the local run's output, none twice
    const written = (await partLines(join(dir, "stop"), "result")).flat()
    expect(new Set(written).size).toBe(written.length)
    const expected = new Set(lines(await readFile(join(dir, "local", "result.ndjson"), "utf8")))
    expect(written.filter((line) => !expected.has(line))).toEqual([])
    // a stopped workflow is no longer running: a second stop is refused
    const again = await run(["stop", name, "--cluster", URL, "--prefix", prefix], dir)
    expect(again.status).toBe(3)

    // submitted again, it resumes: the stopped parts start from their checkpoints, the done ones
    // do not run again, and the union of the files is exactly the local run's output
    const stoppedParts = own.filter((p) => p.status === "stopped")
    const resumed = await run(["submit", "stop.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "4"], dir)
    expect(resumed.stdout).toContain(`${name}: 4 parts done`)
    expect(resumed.status).toBe(0)
    const after = (await waitFor(prefix, "the parts", () => true)).parts.filter((p) => p.workflow === name)
    for (const p of after) {
      expect(p.status).toBe("done")
      const before = own.find((b) => b.part === p.part)!
      if (before.status === "stopped") {
        expect(p.attempts).toBe(before.attempts + 1)
        expect(p.resumedFrom).toBe(before.checkpoint)
      } else {
        expect(p.attempts).toBe(before.attempts)
      }
    }
    expect(stoppedParts.length).toBeGreaterThan(0)
    const all = await partLines(join(dir, "stop"), "result")
    expect(all).toHaveLength(4)
    const union = all.flat()
    expect(union.length).toBe(expected.size)
    expect(new Set(union)).toEqual(expected)
    // done: a third submit is refused
    const done = await run(["submit", "stop.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "4"], dir)
    expect(done.stderr).toContain("already ran to its end")
    expect(done.status).toBe(1)
  }, 600_000)

  it("runs examples/cluster/orders.yaml: the union of its parts is the local run's output", async () => {
    await keepRunners(runners, prefix, dir, 2)
    const example = join(import.meta.dirname, "../../examples/cluster/orders.yaml")
    await mkdir(join(dir, "example"))
    const rows = ["id,customer,status,amount"]
    for (let i = 0; i < 5000; i++) rows.push(`${i},c${i % 97},active,${i % 500}`)
    await writeFile(join(dir, "example", "orders.csv"), `${rows.join("\n")}\n`)
    const submitted = await run(["submit", example, "--cluster", URL, "--prefix", prefix, "--parts", "3"], join(dir, "example"))
    expect(submitted.stdout).toContain("cluster-orders: 3 parts done")
    expect(submitted.status).toBe(0)
    const local = await run(["run", example, "--quiet"], join(dir, "example"), 120_000)
    expect(local.status).toBe(0)
    const files = await partLines(join(dir, "example"), "orders-out")
    expect(files).toHaveLength(3)
    const union = files.flat()
    const expected = lines(await readFile(join(dir, "example", "orders-out.ndjson"), "utf8"))
    expect(expected.length).toBe(4000)
    expect([...union].sort()).toEqual([...expected].sort())
  }, 600_000)
})
