/**
 * The checkpoint coordinator's runner killed, with real runner processes on loopback: three
 * runners, a CSV file copied (filtered, mapped) in 6 parts into an exactly-once PostgreSQL sink;
 * once the workflow has completed two global checkpoints, the runner holding the coordinator
 * singleton is killed with `kill -9`. The coordinator starts on another runner and continues from
 * the epochs in PostgreSQL (the parts acknowledge global checkpoints triggered after the kill),
 * the killed runner's parts resume on the two left from their last checkpoints, and the target
 * holds exactly the rows of a local `dataflare run` (count and md5, no duplicate).
 */
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Cluster from "../../src/cluster/Cluster.ts"
import {
  freshPrefix,
  ordersWorkflow,
  run,
  runLocal,
  type RunnerProcess,
  startRunners,
  status,
  stopRunner,
  tableDigest,
  tearDown,
  URL,
  waitFor,
  waitForPublishedShards,
  withPg
} from "./support.ts"

const ROWS = 600_000
const PARTS = 6

const prefix = freshPrefix()
const database = `coord_${prefix}`
const dataUrl = `postgres://postgres@127.0.0.1:5432/${database}`
const runners: Array<RunnerProcess> = []
let dir = ""

/**
 * The orders workflow (a csv file → filter → map) into table `table` of the test's database, in
 * batches of `batchSize` (small on the cluster: the run lasts long enough to kill the coordinator's
 * runner and see the checkpoints go on after it).
 */
const workflow = (name: string, table: string, batchSize: number) =>
  `${
    ordersWorkflow({ name, source: "csv", path: "in.csv", out: "unused.ndjson", batchSize, checkpointInterval: "500ms" }).split("destinations:")[0]
  }destinations:
  out:
    type: postgres
    inputs: [shaped]
    config:
      connection_string: ${dataUrl}
      table: ${table}
`

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-coordinator-"))
  const rows = ["id,name,amount"]
  for (let i = 0; i < ROWS; i++) rows.push(`${i},"name ${i}",${i % 1000}`)
  await writeFile(join(dir, "in.csv"), `${rows.join("\n")}\n`)
  await withPg(URL, (c) => c.query(`CREATE DATABASE ${database}`))
  // no key on the tables: a row applied twice would be there twice
  await withPg(dataUrl, async (c) => {
    await c.query("CREATE TABLE dst (id bigint, name text, amount numeric, gross numeric)")
    await c.query("CREATE TABLE expected (LIKE dst)")
  })
  // the reference: the same workflow run locally, uninterrupted
  await runLocal(dir, "local.yaml", workflow("coordinator-local", "expected", 5000))
}, 300_000)

afterAll(async () => {
  await tearDown(runners, prefix, dir)
  await withPg(URL, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
})

describe("the checkpoint coordinator", () => {
  it("survives kill -9 of its runner: the global checkpoints go on from PostgreSQL and the output is exactly the local run's", async () => {
    runners.push(...(await startRunners(prefix, dir, 3)))
    await waitForPublishedShards(prefix, 3)
    const name = `coordinator-kill-${prefix}`
    await writeFile(join(dir, "wf.yaml"), workflow(name, "dst", 5))
    const submittedAt = Date.now()
    const submitted = run(["submit", "wf.yaml", "--cluster", URL, "--prefix", prefix, "--parts", String(PARTS)], dir)

    // two global checkpoints completed, the coordinator ticking (its heartbeat fresh) on a runner of ours
    const fresh = (s: Cluster.Status) => s.coordinator !== undefined && Date.now() - s.coordinator.heartbeat.getTime() < 2000
    const before = await waitFor(prefix, "two global checkpoints", (s) => fresh(s) && (s.workflows.find((w) => w.workflow === name)?.completed ?? 0) >= 2)
    const global = before.workflows.find((w) => w.workflow === name)!
    const victim = runners.find((r) => r.address === before.coordinator!.runner)!
    expect(victim).toBeDefined()
    const ownBefore = before.parts.filter((p) => p.workflow === name)
    // the parts under way on the victim (balanced at submit: each runner holds some)
    const onVictim = ownBefore.filter((p) => p.runner === victim.address && p.status === "running")
    expect(onVictim.length).toBeGreaterThan(0)
    const killedAt = Date.now()
    await stopRunner(victim, "SIGKILL")

    // the coordinator starts on another runner (a new heartbeat there)
    const moved = await waitFor(prefix, "the coordinator on another runner", (s) => fresh(s) && s.coordinator!.runner !== victim.address)
    const movedAfter = Date.now() - killedAt
    // a global checkpoint triggered after the kill (past the last epoch the dead coordinator
    // triggered) is acknowledged by a part's own checkpoint, and completes
    const resumed = await waitFor(prefix, "a global checkpoint after the kill", (s) => {
      const w = s.workflows.find((x) => x.workflow === name)!
      return w.completed > global.epoch && s.parts.some((p) => p.workflow === name && p.ackedEpoch > global.epoch)
    })
    const resumedAfter = Date.now() - killedAt
    console.log(
      `${name}: coordinator moved ${victim.address} → ${moved.coordinator!.runner} ${movedAfter} ms after kill -9; global checkpoint ${global.completed} completed before, ${
        resumed.workflows.find((w) => w.workflow === name)!.completed
      } completed ${resumedAfter} ms after the kill`
    )
    expect(moved.coordinator!.runner).not.toBe(victim.address)
    expect(runners.some((r) => r !== victim && r.address === moved.coordinator!.runner)).toBe(true)

    const result = await submitted
    console.log(`${name}: killed ${killedAt - submittedAt} ms after submit, ended ${Date.now() - submittedAt} ms after submit`)
    expect(result.stdout).toContain(`${name}: ${PARTS} parts done`)
    expect(result.status).toBe(0)
    const after = await status(prefix, name)
    const own = after.parts
    expect(own).toHaveLength(PARTS)
    for (const p of own) {
      expect(p.status).toBe("done")
      expect(p.runner).not.toBe(victim.address)
    }
    // the victim's parts started again elsewhere, from the checkpoint they had there (or a later one)
    for (const busy of onVictim) {
      const p = own.find((q) => q.part === busy.part)!
      expect(p.attempts).toBeGreaterThan(busy.attempts)
      if (busy.checkpoint !== null) expect(p.resumedFrom).toBeGreaterThanOrEqual(busy.checkpoint)
    }
    // the global checkpoints went on past what the killed coordinator had completed
    expect(after.workflows[0]!.completed).toBeGreaterThan(global.epoch)
    // `dataflare status` says where the coordinator runs and the last completed global checkpoint
    const shown = await run(["status", "--cluster", URL, "--prefix", prefix, "--workflow", name], dir)
    expect(shown.status).toBe(0)
    const last = await status(prefix, name)
    expect(shown.stdout).toContain(`checkpoint coordinator on ${last.coordinator!.runner}`)
    expect(shown.stdout).toContain(`${name}  ${PARTS}/${PARTS} parts done  global checkpoint ${last.workflows[0]!.completed}`)
    // every row exactly once in the target: the count and the md5 of the rows in key order
    const [target, reference] = [await tableDigest(dataUrl, "dst"), await tableDigest(dataUrl, "expected")]
    expect(reference.n).toBe(ROWS * 0.7)
    expect(target).toEqual(reference)
  }, 600_000)
})
