/**
 * Many small workflows on three real runner processes: submitted in one batch
 * (`Cluster.submitAll`), every one completes, each part on one of the runners, each output file
 * exactly the records it should hold. The issue asks for 10,000; this test runs
 * `CLUSTER_WORKFLOWS` (default {@link DEFAULT_WORKFLOWS}, to keep CI under a few minutes on two
 * cores) and prints the time; `node bench/cluster.ts --many 10000` runs the full count.
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Builtins from "../../src/Builtins.ts"
import * as Cluster from "../../src/cluster/Cluster.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"
import { freshPrefix, run, type RunnerProcess, startRunners, tearDown, URL, waitFor, waitForPublishedShards, waitForShards } from "./support.ts"

const DEFAULT_WORKFLOWS = 1000
const WORKFLOWS = Number(process.env.CLUSTER_WORKFLOWS ?? DEFAULT_WORKFLOWS)

const prefix = freshPrefix()

/** A workflow copying in.csv to the ndjson file `out`, unchanged. */
const copy = (name: string, out: string) => `name: ${name}
sources:
  in:
    type: csv
    config:
      path: in.csv
      columns: { id: integer, amount: integer }
destinations:
  out:
    type: ndjson
    inputs: [in]
    config:
      path: ${out}
`

const runners: Array<RunnerProcess> = []
let dir = ""

/** Workflow `i`: the 10-row file, rows with amount >= 3 (7 of them) tagged with `i`, into its own file. */
const small = (i: number) =>
  WorkflowGraph.make({
    name: `cluster-many-${i}`,
    execution: { checkpoint_interval: "1s" },
    nodes: [
      { kind: "source", id: "in", type: "csv", config: { path: "in.csv", columns: { id: "integer", amount: "integer" } }, inputs: [] },
      { kind: "processor", id: "big", type: "filter", config: { condition: "amount >= 3" }, inputs: ["in"] },
      { kind: "processor", id: "tag", type: "map", config: { fields: { workflow: `${i}` } }, inputs: ["big"] },
      { kind: "sink", id: "out", type: "ndjson", config: { path: `out/w${i}.ndjson` }, inputs: ["tag"] }
    ]
  })

const counts = async () => {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  try {
    const r = await client.query(
      `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(DISTINCT runner)::int AS runners, min(message) AS message
       FROM ${pg.escapeIdentifier(`${prefix}_parts`)}`
    )
    return r.rows[0] as { done: number; failed: number; runners: number; message: string | null }
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-cluster-many-"))
  const rows = ["id,amount"]
  for (let i = 0; i < 10; i++) rows.push(`${i},${i}`)
  await writeFile(join(dir, "in.csv"), `${rows.join("\n")}\n`)
  await mkdir(join(dir, "out"))
})

afterAll(() => tearDown(runners, prefix, dir))

describe("dataflare cluster: many small workflows", () => {
  it(`runs ${WORKFLOWS} small workflows submitted at once across three runners, every one to its end`, async () => {
    runners.push(...(await startRunners(prefix, dir, 3)))
    console.log(`shard locks per runner: ${(await waitForShards(prefix, 3)).join(", ")}`)
    // the runners have published their shards: submit spreads the parts evenly
    await waitForPublishedShards(prefix, 3)
    const started = Date.now()
    const graphs = Array.from({ length: WORKFLOWS }, (_, i) => small(i))
    await Effect.runPromise(Cluster.submitAll(graphs, { url: URL, prefix, parts: 1, cwd: dir }).pipe(Effect.provide(Builtins.layer)))
    const submitted = Date.now()
    let last = await counts()
    while (last.done < WORKFLOWS && last.failed === 0) {
      await new Promise((r) => setTimeout(r, 1000))
      last = await counts()
    }
    const ended = Date.now()
    console.log(
      `${WORKFLOWS} workflows: submitted in ${submitted - started} ms, all done ${ended - started} ms after the submit began ` +
        `(${Math.round((WORKFLOWS * 1000) / (ended - started))} workflows/s on 3 runners)`
    )
    expect(last).toEqual({ done: WORKFLOWS, failed: 0, runners: 3, message: null })
    // every workflow wrote its 7 records, tagged with its own number
    for (let i = 0; i < WORKFLOWS; i++) {
      const lines = (await readFile(join(dir, "out", `w${i}.part-0.ndjson`), "utf8")).split("\n").filter((l) => l.length > 0)
      expect(lines.map((l) => JSON.parse(l) as { id: number; workflow: number })).toEqual([3, 4, 5, 6, 7, 8, 9].map((id) => ({ id, amount: id, workflow: i })))
    }
  }, 1_800_000)

  it("dataflare submit with several files submits them in one batch and follows them together", async () => {
    const files: Array<string> = []
    for (let i = 0; i < 5; i++) {
      const file = `batch-${i}.yaml`
      await writeFile(join(dir, file), copy(`cluster-batch-${i}`, `out/batch-${i}.ndjson`))
      files.push(file)
    }
    const result = await run(["submit", ...files, "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir)
    expect(result.stderr).toContain("submitted 5 workflows: 2 parts each")
    expect(result.stdout).toContain("5 workflows done")
    expect(result.status).toBe(0)
    for (let i = 0; i < 5; i++) {
      const union = await Promise.all([0, 1].map((part) => readFile(join(dir, "out", `batch-${i}.part-${part}.ndjson`), "utf8")))
      expect(union.join("").split("\n").filter((l) => l.length > 0)).toHaveLength(10)
    }
    // the same files again: they ran to their end, the batch is refused and nothing is submitted
    const again = await run(["submit", ...files, "--cluster", URL, "--prefix", prefix, "--parts", "2"], dir)
    expect(again.stderr).toContain("already ran to its end")
    expect(again.status).toBe(1)
  }, 600_000)

  it("a part whose runner lacks an environment variable fails, naming it (submit had it)", async () => {
    await writeFile(
      join(dir, "env.yaml"),
      `name: cluster-env-${prefix}
sources:
  in:
    type: csv
    config:
      path: in.csv
      columns: { id: integer, amount: integer }
transformations:
  tagged:
    type: map
    inputs: [in]
    config:
      fields:
        tag: "'\${CLUSTER_TAG}'"
destinations:
  out:
    type: ndjson
    inputs: [tagged]
    config:
      path: out/env.ndjson
`
    )
    const result = await run(["submit", "env.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "1"], dir, 300_000, { CLUSTER_TAG: "x" })
    expect(result.stderr).toContain("node 'tagged' config.fields.tag: environment variable CLUSTER_TAG is not set")
    expect(result.status).toBe(3)
  }, 600_000)

  it("spreads a workflow's parts evenly: six parts, two on each of the three runners", async () => {
    await waitForPublishedShards(prefix, 3)
    const name = `cluster-spread-${prefix}`
    await writeFile(join(dir, "spread.yaml"), copy(name, "out/spread.ndjson"))
    const result = await run(["submit", "spread.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "6"], dir)
    expect(result.stdout).toContain(`${name}: 6 parts done`)
    const { parts } = await waitFor(prefix, "the parts", () => true)
    const perRunner = new Map<string, number>()
    for (const p of parts.filter((q) => q.workflow === name)) perRunner.set(p.runner!, (perRunner.get(p.runner!) ?? 0) + 1)
    expect([...perRunner.values()]).toEqual([2, 2, 2])
  }, 600_000)
})
