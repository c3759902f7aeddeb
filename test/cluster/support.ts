/**
 * Real runner processes for the cluster tests: `bin/dataflare runner` children on loopback, a
 * table prefix of their own in the local PostgreSQL (dropped afterwards), the CLI's other
 * commands, and the cluster's status read through the library.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { readdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import pg from "pg"
import { expect } from "vitest"
import * as Cluster from "../../src/cluster/Cluster.ts"
import { bin } from "../cli/support.ts"
import { dropPrefix, freePort, URL } from "./runners.ts"

export { dropPrefix, freePort, ordersWorkflow, URL } from "./runners.ts"

/** A fresh table prefix. */
export const freshPrefix = () => `dfcl_${Math.random().toString(36).slice(2, 10)}`

/**
 * Calls `probe` every 250 ms until it returns a value (not `undefined`), and returns that; fails
 * after `timeoutMs`, with `what` and the last thing `seen` describes.
 */
const poll = async <A>(what: string, timeoutMs: number, probe: () => Promise<A | undefined>, seen: () => unknown): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await probe()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen())}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** A runner process. */
export interface RunnerProcess {
  readonly address: string
  readonly child: ChildProcess
  readonly output: () => string
}

/** Starts `dataflare runner` on a free port (with `env` added to the environment, and `args` to its flags). */
export const startRunner = async (
  prefix: string,
  cwd: string,
  env: Record<string, string> = {},
  args: ReadonlyArray<string> = []
): Promise<RunnerProcess> => {
  const port = await freePort()
  const address = `127.0.0.1:${port}`
  const child = spawn(bin, ["runner", "--cluster", URL, "--listen", address, "--prefix", prefix, ...args], {
    cwd,
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (d) => (output += String(d)))
  child.stderr?.on("data", (d) => (output += String(d)))
  return { address, child, output: () => output }
}

/** Ends a runner (SIGKILL when `kill9`, else SIGTERM) and waits for it to exit. */
export const stopRunner = (runner: RunnerProcess, signal: "SIGKILL" | "SIGTERM") =>
  new Promise<void>((resolve) => {
    if (runner.child.exitCode !== null || runner.child.signalCode !== null) return resolve()
    const timer = setTimeout(() => runner.child.kill("SIGKILL"), 20_000)
    runner.child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    runner.child.kill(signal)
  })

/**
 * The reference a cluster run is compared with: writes `yaml` as `dir/file` and runs it with
 * `dataflare run` to its end (one process, no cluster), failing the set-up when it fails.
 */
export const runLocal = async (dir: string, file: string, yaml: string): Promise<void> => {
  await writeFile(join(dir, file), yaml)
  const local = await run(["run", file, "--quiet"], dir)
  if (local.status !== 0) throw new Error(`the local run failed: ${local.stderr}`)
}

/** A test file's clean-up: kills its runners, drops its cluster tables and removes its directory. */
export const tearDown = async (runners: ReadonlyArray<RunnerProcess>, prefix: string, dir: string): Promise<void> => {
  await stopAll(runners)
  await dropPrefix(prefix)
  await rm(dir, { recursive: true, force: true })
}

/** Runs the CLI to its end (with `env` added to the environment). */
export const run = (args: ReadonlyArray<string>, cwd: string, timeout = 300_000, env: Record<string, string> = {}) =>
  new Promise<{ readonly status: number; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(bin, [...args], { cwd, env: { ...process.env, ...env, NO_COLOR: "1" }, timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      resolve({ status, stdout: String(stdout), stderr: String(stderr) })
    })
  })

/** The cluster's runners and parts. */
export const status = (prefix: string, workflow?: string) => Effect.runPromise(Cluster.status({ url: URL, prefix, workflow }))

/** Polls until `ok` holds of the status (or fails after `timeoutMs`). */
export const waitFor = async (
  prefix: string,
  what: string,
  ok: (s: Awaited<ReturnType<typeof status>>) => boolean,
  timeoutMs = 120_000
) => {
  let last: Awaited<ReturnType<typeof status>> | undefined
  return poll(
    what,
    timeoutMs,
    async () => {
      last = await status(prefix)
      return ok(last) ? last : undefined
    },
    () => last
  )
}

/** Whether a runner process is still alive. */
const alive = (r: RunnerProcess) => r.child.exitCode === null && r.child.signalCode === null

/** Starts `n` runners (with `env` added to their environment) and waits until `n` of the prefix's runners are healthy. */
export const startRunners = async (prefix: string, cwd: string, n: number, env: Record<string, string> = {}) => {
  const started: Array<RunnerProcess> = []
  for (let i = 0; i < n; i++) started.push(await startRunner(prefix, cwd, env))
  await waitFor(prefix, `${n} runners`, (s) => s.runners.filter((r) => r.healthy).length === n)
  return started
}

/** Starts runners into `runners` until at least `n` of them are alive (a test before may have killed some). */
export const keepRunners = async (runners: Array<RunnerProcess>, prefix: string, cwd: string, n: number, env: Record<string, string> = {}) => {
  while (runners.filter(alive).length < n) runners.push(await startRunner(prefix, cwd, env))
}

/** Kills every runner with SIGKILL and waits for them to exit. */
export const stopAll = (runners: ReadonlyArray<RunnerProcess>) => Promise.all(runners.map((r) => stopRunner(r, "SIGKILL")))

/** The non-empty lines of a text. */
export const lines = (text: string) => text.split("\n").filter((l) => l.length > 0)

/** The lines of each part's file `<base>.part-<n>.ndjson` in `folder`, a list per file. */
export const partLines = async (folder: string, base: string) => {
  const files = (await readdir(folder)).filter((f) => new RegExp(`^${base}\\.part-\\d+\\.ndjson$`).test(f))
  return Promise.all(files.map(async (f) => lines(await readFile(join(folder, f), "utf8"))))
}

/** Waits until a part of `workflow` is under way (running, with a checkpoint, and `which` holds of it) and returns it. */
export const partUnderWay = async (prefix: string, workflow: string, which: (part: Cluster.PartRow) => boolean = () => true) => {
  const underWay = (p: Cluster.PartRow) => p.workflow === workflow && p.status === "running" && p.checkpoint !== null && which(p)
  return (await waitFor(prefix, "a part under way", (s) => s.parts.some(underWay))).parts.find(underWay)!
}

/** effect/cluster's advisory-lock namespace of a prefix (its FNV-1a hash of `effect-cluster:<prefix>`). */
const lockNamespace = (prefix: string): number => {
  const bytes = new TextEncoder().encode(`effect-cluster:${prefix}`)
  let hash = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193)
  return hash >>> 0
}

/**
 * Waits until the shards are spread over `runners` runners (each holds at least a sixth of its
 * share of the shard locks): runners that just joined get their shards some seconds after they
 * register, and parts sent before run on the runners that were there.
 */
export const waitForShards = (prefix: string, runners: number, timeoutMs = 120_000) =>
  withPg(URL, async (client) => {
    let held: Array<number> = []
    return poll(
      `the shards on ${runners} runners`,
      timeoutMs,
      async () => {
        const r = await client.query(
          "SELECT pid, count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objsubid = 2 GROUP BY pid",
          [lockNamespace(prefix)]
        )
        held = (r.rows as Array<{ n: number }>).map((row) => row.n)
        const total = held.reduce((a, b) => a + b, 0)
        return held.length === runners && held.every((n) => n >= total / runners / 6) ? held : undefined
      },
      () => held
    )
  })

/** Waits until `runners` healthy runners have published the shards they hold, all of them between them. */
export const waitForPublishedShards = (prefix: string, runners: number, timeoutMs = 120_000) =>
  withPg(URL, async (client) => {
    let s = { runners: 0, shards: 0 }
    await poll(
      `${runners} runners to publish their shards`,
      timeoutMs,
      async () => {
        const r = await client.query(
          `SELECT count(*)::int AS runners, coalesce(sum(cardinality(s.shards)), 0)::int AS shards FROM ${pg.escapeIdentifier(`${prefix}_shards`)} s
         JOIN ${pg.escapeIdentifier(`${prefix}_runners`)} r ON r.address = s.runner WHERE r.healthy AND s.updated_at > now() - interval '10 seconds'`
        ).catch(() => ({ rows: [{ runners: 0, shards: 0 }] }))
        s = r.rows[0] as { runners: number; shards: number }
        return s.runners === runners && s.shards === 300 ? true : undefined
      },
      () => s
    )
  })

/**
 * Waits until at least `n` sessions of the database at `url` wait for a lock on `table` (a part of
 * a postgres sink blocks there applying a checkpoint while a test holds the table locked), and
 * returns how many.
 */
export const waitForLockWaiters = (url: string, table: string, n: number, timeoutMs = 300_000) =>
  withPg(url, async (client) => {
    let waiting = 0
    return poll(
      `${n} sessions waiting for a lock on ${table}`,
      timeoutMs,
      async () => {
        const r = await client.query(
          "SELECT count(DISTINCT pid)::int AS n FROM pg_locks WHERE relation = $1::regclass AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND NOT granted",
          [table]
        )
        waiting = (r.rows[0] as { n: number }).n
        return waiting >= n ? waiting : undefined
      },
      () => waiting
    )
  })

/**
 * Waits until `runner` no longer publishes the shard of some part of `workflow` (it has started
 * letting it go: the part there is interrupted, and starts again on the shard's next holder), and
 * returns those parts' numbers. Each part's shard is its request's in effect/cluster's message table.
 *
 * Which shards a joining runner takes is the hash ring's choice: each part's shard stays on
 * `runner` with a chance of its share. When the shards have settled with every part's still there
 * (the `runners()` runners all publish shards, together all 300, `runner` those of every part),
 * `join` is called to start one more runner (at most `joins` times, then it fails), which takes
 * its share.
 */
export const partsLeaving = (
  prefix: string,
  workflow: string,
  runner: string,
  more: { readonly runners: () => number; readonly join: () => Promise<void>; readonly joins: number },
  timeoutMs = 300_000
) =>
  withPg(URL, async (client) => {
    let seen: unknown
    let joined = 0
    return poll(
      `a part of ${workflow} leaving ${runner}`,
      timeoutMs,
      async () => {
        const requests = await client.query(
          `SELECT entity_id, shard_id FROM ${pg.escapeIdentifier(`${prefix}_messages`)} WHERE entity_type = 'DataflarePart' AND left(entity_id, length($1) + 1) = $1 || '/'`,
          [workflow]
        )
        const published = await client.query(
          `SELECT runner, shards FROM ${pg.escapeIdentifier(`${prefix}_shards`)} WHERE updated_at > now() - interval '10 seconds'`
        )
        const rows = published.rows as Array<{ runner: string; shards: ReadonlyArray<number> }>
        const held = new Set((rows.find((r) => r.runner === runner)?.shards ?? []).map(Number))
        const parts = (requests.rows as Array<{ entity_id: string; shard_id: string }>).map((r) => ({
          part: Number(r.entity_id.slice(workflow.length + 1).split("~")[0]),
          shard: Number(r.shard_id.slice(r.shard_id.lastIndexOf(":") + 1))
        }))
        const all = new Set(rows.flatMap((r) => r.shards.map(Number)))
        seen = { parts, held: held.size, published: rows.map((r) => [r.runner, r.shards.length]), joined }
        const leaving = parts.filter((p) => !held.has(p.shard)).map((p) => p.part)
        if (held.size > 0 && parts.length > 0 && leaving.length > 0) return leaving
        const settled = parts.length > 0 && rows.length === more.runners() && rows.every((r) => r.shards.length > 0) && all.size === 300
        if (settled && joined >= more.joins) throw new Error(`no part of ${workflow} left ${runner} with ${rows.length} runners: ${JSON.stringify(seen)}`)
        if (settled) {
          joined++
          await more.join()
        }
        return undefined
      },
      () => seen
    )
  })

/** The row count and the md5 of the rows in key (`id`) order of a table of the database at `url`. */
export const tableDigest = (url: string, table: string) =>
  withPg(url, async (client) => {
    const r = await client.query(`SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY id)) AS h FROM ${pg.escapeIdentifier(table)} t`)
    return r.rows[0] as { n: number; h: string }
  })

/** Runs `f` on a connection to the PostgreSQL database at `url`, closed afterwards. */
export const withPg = async <A>(url: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** What {@link killDuringRun} saw: submit's result, the workflow's parts at the end, the part whose runner was killed, and that runner. */
export interface KilledRun {
  readonly result: Awaited<ReturnType<typeof run>>
  readonly own: ReadonlyArray<Cluster.PartRow>
  readonly busy: Cluster.PartRow
  readonly victim: RunnerProcess
  /** The parts the killed runner had finished before it was killed (they stay recorded on it). */
  readonly doneBeforeKill: ReadonlySet<number>
}

/**
 * While `submitted` (the CLI's submit, following `workflow`) runs: kills with `kill -9` the runner
 * of a part under way (running, with a checkpoint, and `which` holds of it), waits for that part
 * to start again on another runner (printing how long it took), runs `beforeEnd` (a workflow that
 * never ends is stopped there), then waits for submit to end and returns the workflow's parts.
 */
export const killDuringRun = async (
  prefix: string,
  workflow: string,
  runners: ReadonlyArray<RunnerProcess>,
  submitted: ReturnType<typeof run>,
  beforeEnd: () => Promise<void> = async () => {},
  which: (part: Cluster.PartRow) => boolean = () => true
): Promise<KilledRun> => {
  const busy = await partUnderWay(prefix, workflow, which)
  const victim = runners.find((r) => r.address === busy.runner)!
  const killedAt = Date.now()
  await stopRunner(victim, "SIGKILL")
  // `attempts` counts the part's starts
  const restarted = (p: Cluster.PartRow) => p.workflow === workflow && p.part === busy.part && p.attempts > busy.attempts
  const after = await waitFor(prefix, "the part restarted", (s) => s.parts.some(restarted))
  console.log(`${workflow}: part ${busy.part} restarted ${Date.now() - killedAt} ms after kill -9 of its runner`)
  // (by now whatever the dead runner had sent has landed: a part done on it ended before the kill)
  const doneBeforeKill = new Set(after.parts.filter((p) => p.workflow === workflow && p.status === "done" && p.runner === victim.address).map((p) => p.part))
  await beforeEnd()
  const result = await submitted
  const own = (await waitFor(prefix, "the parts", () => true)).parts.filter((p) => p.workflow === workflow)
  return { result, own, busy, victim, doneBeforeKill }
}

/**
 * Checks a run {@link killDuringRun} killed a runner of (or one whose runner stopped): its `parts` parts all ended `status` on
 * runners still alive, and the killed runner's part started again, from the checkpoint it had
 * taken there (or a later one), not from the beginning.
 */
export const expectMoved = (
  { busy, doneBeforeKill, own, victim }: Pick<KilledRun, "busy" | "own" | "victim"> & { readonly doneBeforeKill?: ReadonlySet<number> },
  parts: number,
  status: "done" | "stopped"
) => {
  expect(own).toHaveLength(parts)
  expect(doneBeforeKill?.has(busy.part) ?? false).toBe(false)
  for (const p of own) {
    expect(p.status).toBe(status)
    if (doneBeforeKill?.has(p.part) !== true) expect(p.runner).not.toBe(victim.address)
  }
  const moved = own.find((p) => p.part === busy.part)!
  expect(moved.attempts).toBeGreaterThan(busy.attempts)
  expect(moved.resumedFrom).toBeGreaterThanOrEqual(busy.checkpoint!)
}

/**
 * A workflow copying table `src` of a PostgreSQL or MySQL database into table `target` of a
 * PostgreSQL database, exactly-once (the sink's default), in batches of 2,000 with a checkpoint
 * every 300 ms.
 */
export const tableCopy = (name: string, source: "postgres" | "mysql", sourceUrl: string, targetUrl: string, target: string) => `name: ${name}
execution:
  batch_size: 2000
  checkpoint_interval: 300ms
sources:
  src:
    type: ${source}
    config:
      connection_string: ${sourceUrl}
      table: src
destinations:
  dst:
    type: postgres
    inputs: [src]
    config:
      connection_string: ${targetUrl}
      table: ${target}
`
