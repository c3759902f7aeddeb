/**
 * An NDJSON file distributed by byte ranges, with real runner processes on loopback: three
 * runners, one killed with `kill -9` while it runs a part; the parts move to the two left and
 * resume from their checkpoints, and the union of the parts' output files is exactly the output
 * of a local `dataflare run` (nothing lost, nothing twice).
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectMoved, freshPrefix, killDuringRun, lines, ordersWorkflow, partLines, run, runLocal, type RunnerProcess, startRunners, tearDown, URL } from "./support.ts"

const ROWS = 300_000

const workflow = (name: string, out: string) =>
  ordersWorkflow({ name, source: "ndjson", path: "in.ndjson", out, batchSize: 5, checkpointInterval: "200ms" })

let dir = ""
const prefix = freshPrefix()
const runners: Array<RunnerProcess> = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dataflare-cluster-ndjson-"))
  const rows: Array<string> = []
  // lines of varied lengths and multi-byte text: the cuts fall anywhere in a line
  for (let i = 0; i < ROWS; i++) rows.push(JSON.stringify({ id: i, name: `name ${i} ${"ü名".repeat(i % 9)}`, amount: i % 1000 }))
  await writeFile(join(dir, "in.ndjson"), `${rows.join("\n")}\n`)
  await mkdir(join(dir, "out"))
  await mkdir(join(dir, "local"))
  // the reference: the same workflow run locally, uninterrupted
  await runLocal(dir, "local.yaml", workflow("cluster-ndjson-local", "local/result.ndjson"))
}, 300_000)

afterAll(() => tearDown(runners, prefix, dir))

describe("dataflare cluster: an ndjson file in byte ranges", () => {
  it("survives kill -9 of a runner: the parts move, and the output is exactly the local run's", async () => {
    runners.push(...(await startRunners(prefix, dir, 3)))
    const name = `cluster-ndjson-${prefix}`
    await writeFile(join(dir, "wf.yaml"), workflow(name, "out/result.ndjson"))
    const submitted = run(["submit", "wf.yaml", "--cluster", URL, "--prefix", prefix, "--parts", "6"], dir)
    const killed = await killDuringRun(prefix, name, runners, submitted)
    expect(killed.result.stdout).toContain(`${name}: 6 parts done`)
    expect(killed.result.status).toBe(0)
    expectMoved(killed, 6, "done")

    // each part wrote its own file, none of them empty (the file was split), and their union is
    // the local run's output, line for line (as multisets)
    const each = await partLines(join(dir, "out"), "result")
    expect(each).toHaveLength(6)
    for (const part of each) expect(part.length).toBeGreaterThan(0)
    const union = each.flat()
    const expected = lines(await readFile(join(dir, "local", "result.ndjson"), "utf8"))
    expect(expected.length).toBe(ROWS * 0.7)
    expect(union.length).toBe(expected.length)
    expect([...union].sort()).toEqual([...expected].sort())
  }, 600_000)
})
