/**
 * `dataflare checkpoints` end to end, as a real process: after a run with `checkpoint_interval`
 * (default state directory) and with `--state-dir`, it lists the checkpoints newest first — the
 * final one with the source's end position and the dedupe node's state bytes — as text and as
 * JSON, honours `--limit`, says "no checkpoints" before any run, and refuses another workflow's
 * state directory with exit code 3.
 */
import { readdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))

const ROWS = 60_000

/** Ids repeat every 1,000 rows, so dedupe keeps 1,000 keys in its state. */
const csv = (): string => {
  const rows = ["id,amount"]
  for (let i = 0; i < ROWS; i++) rows.push(`${i % 1000},${i}`)
  return rows.join("\n") + "\n"
}

const workflow = (name: string) =>
  `name: ${name}
execution:
  batch_size: 500
  checkpoint_interval: 20ms
sources:
  orders:
    type: csv
    config:
      path: orders.csv
      columns: { id: integer, amount: integer }
transformations:
  unique:
    type: dedupe
    inputs: [orders]
    config:
      key: [id]
destinations:
  out:
    type: ndjson
    inputs: [unique]
    config:
      path: out.ndjson
`

interface Listed {
  readonly id: number
  readonly workflow: string
  readonly startedAt: string
  readonly completedAt: string
  readonly durationMs: number
  readonly full: boolean
  readonly final: boolean
  readonly stateBytes: Record<string, number>
  readonly positions: ReadonlyArray<
    { readonly node: string; readonly instance: number; readonly position: { readonly offset: number; readonly line: number }; readonly input?: unknown }
  >
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe("dataflare checkpoints (process)", () => {
  it.live("lists the checkpoints of a run in the default state directory, newest first, as text and JSON", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const data = csv()
      yield* write(join(dir, "orders.csv"), data)
      yield* write(join(dir, "wf.yaml"), workflow("dedupe-orders"))

      const before = yield* cli(["checkpoints", "wf.yaml"], { cwd: dir })
      assert.strictEqual(before.status, 0, before.stderr)
      assert.strictEqual(before.stdout, "no checkpoints in .dataflare/dedupe-orders\n")

      const run = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir })
      assert.strictEqual(run.status, 0, run.stderr)
      const files = yield* Effect.promise(() => readdir(join(dir, ".dataflare/dedupe-orders")))
      const stored = files.filter((f) => /^chk-\d+\.json$/.test(f)).length
      assert.isTrue(stored >= 1)

      const json = yield* cli(["checkpoints", "wf.yaml", "--format", "json", "--limit", "100"], { cwd: dir })
      assert.strictEqual(json.status, 0, json.stderr)
      const listed = JSON.parse(json.stdout) as ReadonlyArray<Listed>
      assert.strictEqual(listed.length, stored, "every stored checkpoint is listed")
      for (let i = 1; i < listed.length; i++) assert.isTrue(listed[i - 1].id > listed[i].id, "newest first")
      const [last] = listed
      assert.isTrue(last.final)
      assert.strictEqual(last.workflow, "dedupe-orders")
      assert.match(last.completedAt, ISO)
      assert.match(last.startedAt, ISO)
      assert.strictEqual(Date.parse(last.completedAt) - Date.parse(last.startedAt), last.durationMs)
      assert.deepStrictEqual(last.positions.map(({ input: _, ...p }) => p), [{
        node: "orders",
        instance: 0,
        position: { offset: Buffer.byteLength(data), line: ROWS + 2 }
      }])
      // the file's identity is kept with its position (size then, hashes of the bytes read)
      assert.strictEqual((last.positions[0].input as { readonly size: number }).size, Buffer.byteLength(data))
      assert.deepStrictEqual(Object.keys(last.stateBytes), ["unique"], "only the dedupe node has state")
      assert.isTrue(listed.some((c) => (c.stateBytes.unique ?? 0) > 1000), "a checkpoint carries the 1,000 keys")
      assert.isTrue(listed.every((c) => !c.final || c.id === last.id), "only the newest is final")

      const text = yield* cli(["checkpoints", "wf.yaml", "--limit", "1"], { cwd: dir })
      assert.strictEqual(text.status, 0, text.stderr)
      const lines = text.stdout.trimEnd().split("\n")
      assert.strictEqual(lines[0], "dedupe-orders: 1 checkpoint in .dataflare/dedupe-orders, newest first")
      assert.match(
        lines[1],
        new RegExp(`^checkpoint ${last.id} {2}${last.completedAt.replaceAll(".", "\\.")} {2}\\d+ ms {2}(full|incremental) {2}final$`)
      )
      assert.match(lines[2], /^ {2}state: (\d+ B|\d+\.\d KiB) \(unique (\d+ B|\d+\.\d KiB)\)$/)
      assert.strictEqual(lines[3], `  position: orders[0] {"offset":${Buffer.byteLength(data)},"line":${ROWS + 2}}`)
      assert.strictEqual(lines.length, 4)
    }))

  it.live("--state-dir: reads that directory; --limit bounds the list; another workflow's directory exits 3", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "orders.csv"), csv())
      yield* write(join(dir, "wf.yaml"), workflow("orders-a"))
      yield* write(join(dir, "other.yaml"), workflow("orders-b"))
      const run = yield* cli(["run", "wf.yaml", "--quiet", "--state-dir", "state"], { cwd: dir })
      assert.strictEqual(run.status, 0, run.stderr)

      const empty = yield* cli(["checkpoints", "wf.yaml", "--format", "json"], { cwd: dir })
      assert.strictEqual(empty.status, 0, empty.stderr)
      assert.strictEqual(empty.stdout, "[]\n", "nothing in the default directory")

      const all = JSON.parse((yield* cli(["checkpoints", "wf.yaml", "--state-dir", "state", "-f", "json"], { cwd: dir })).stdout) as ReadonlyArray<Listed>
      assert.isTrue(all.length >= 1)
      const one = yield* cli(["checkpoints", "wf.yaml", "--state-dir", "state", "-n", "1", "-f", "json"], { cwd: dir })
      assert.deepStrictEqual(JSON.parse(one.stdout), all.slice(0, 1))

      const other = yield* cli(["checkpoints", "other.yaml", "--state-dir", "state"], { cwd: dir })
      assert.strictEqual(other.status, 3)
      assert.strictEqual(other.stdout, "")
      assert.match(other.stderr, /^error: checkpoint state: .*belongs to workflow 'orders-a', not 'orders-b'/)

      const bad = yield* cli(["checkpoints", "wf.yaml", "--limit", "0"], { cwd: dir })
      assert.strictEqual(bad.status, 2)
    }))
})
