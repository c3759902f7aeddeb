/**
 * `dataflare run` and `dataflare validate` end to end, as a real process on generated files:
 * CSV → filter → NDJSON, the printed per-node counts, the exit codes of a failing run.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const write = (path: string, text: string) => Effect.promise(() => writeFile(path, text))
const read = (path: string) => Effect.promise(() => readFile(path, "utf8"))

interface Order {
  readonly id: number
  readonly customer: string
  readonly status: string
  readonly amount: number
}

const orders = (n: number): ReadonlyArray<Order> =>
  Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    customer: `customer "${i % 17}", inc`,
    status: i % 3 === 0 ? "inactive" : "active",
    amount: ((i * 37) % 500) + 0.25
  }))

const csv = (rows: ReadonlyArray<Order>): string =>
  "id,customer,status,amount\n" +
  rows.map((r) => `${r.id},"${r.customer.replaceAll("\"", "\"\"")}",${r.status},${r.amount}`).join("\n") + "\n"

const workflow = `name: filter-orders
execution:
  batch_size: 256
sources:
  orders:
    type: csv
    config:
      path: in/orders.csv
      columns: { id: integer, amount: number }
transformations:
  large_active:
    type: filter
    inputs: [orders]
    config:
      condition: "status == 'active' && amount >= 250"
destinations:
  out:
    type: ndjson
    inputs: [large_active]
    config:
      path: out.ndjson
`

/** The summary table's rows: node id → [records in, records out]. */
const counts = (stdout: string): Map<string, readonly [number, number]> => {
  const rows = new Map<string, readonly [number, number]>()
  for (const line of stdout.split("\n")) {
    const m = /^(\S+)\s+(source|processor|sink)\s+\S+\s+([\d,]+)\s+([\d,]+)$/.exec(line)
    if (m !== null) rows.set(m[1], [Number(m[3].replaceAll(",", "")), Number(m[4].replaceAll(",", ""))])
  }
  return rows
}

describe("dataflare run (process)", () => {
  it.live("runs CSV → filter → NDJSON, writes the expected records and prints per-node counts", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const input = orders(3000)
      yield* Effect.promise(() => import("node:fs/promises").then((fs) => fs.mkdir(join(dir, "in"))))
      yield* write(join(dir, "in/orders.csv"), csv(input))
      yield* write(join(dir, "wf.yaml"), workflow)

      const validated = yield* cli(["validate", "wf.yaml"], { cwd: dir })
      assert.strictEqual(validated.stderr, "")
      assert.strictEqual(validated.stdout, "ok: wf.yaml (3 nodes)\n")
      assert.strictEqual(validated.status, 0)

      const result = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.stderr, "")
      assert.strictEqual(result.status, 0)
      const expected = input.filter((r) => r.status === "active" && r.amount >= 250)
      assert.isAbove(expected.length, 500)
      const written = (yield* read(join(dir, "out.ndjson"))).split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l))
      assert.deepStrictEqual(written, expected)
      const rows = counts(result.stdout)
      assert.deepStrictEqual([...rows.entries()], [
        ["orders", [0, 3000]],
        ["large_active", [3000, expected.length]],
        ["out", [expected.length, expected.length]]
      ])
      assert.match(result.stdout, /\nfilter-orders: 3,000 records in [\d.]+ m?s \([\d,]+ records\/s\)\n$/)
    }))

  it.live("--quiet prints nothing on success; the workflow file can be given from another directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => import("node:fs/promises").then((fs) => fs.mkdir(join(dir, "in"))))
      yield* write(join(dir, "in/orders.csv"), csv(orders(10)))
      yield* write(join(dir, "wf.yaml"), workflow)
      const result = yield* cli(["run", join(dir, "wf.yaml"), "--quiet"], { cwd: dir })
      assert.deepStrictEqual([result.status, result.stdout, result.stderr], [0, "", ""])
      const written = (yield* read(join(dir, "out.ndjson"))).split("\n").filter((l) => l.length > 0)
      assert.strictEqual(written.length, orders(10).filter((r) => r.status === "active" && r.amount >= 250).length)
    }))

  it.live("a failing run exits 3 and names the node, without a stack trace", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => import("node:fs/promises").then((fs) => fs.mkdir(join(dir, "in"))))
      yield* write(join(dir, "in/orders.csv"), "id,customer,status,amount\n1,a,active,300\n2,b,active,lots\n")
      yield* write(join(dir, "wf.yaml"), workflow)
      const result = yield* cli(["run", "wf.yaml"], { cwd: dir })
      assert.strictEqual(result.status, 3)
      assert.strictEqual(result.stdout, "")
      assert.match(result.stderr, /^error: node 'orders' failed: .*in\/orders\.csv:3/)
      assert.notMatch(result.stderr, /\n\s+at /)
    }))

  it.live("plan prints the tasks, fused chains and guarantee, as text or Mermaid", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "wf.yaml"), workflow.replace("    inputs: [orders]\n", "    inputs: [orders]\n    parallelism: 2\n"))
      const [text, mermaid] = yield* Effect.all([
        cli(["plan", "wf.yaml"], { cwd: dir }),
        cli(["plan", "wf.yaml", "--format", "mermaid"], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(text.status, 0, text.stderr)
      assert.match(text.stdout, /^workflow filter-orders: 3 nodes, 3 tasks, batch size 256\n/)
      assert.match(text.stdout, /\n {2}stateless: large_active \(filter\), parallelism 2, reads orders/)
      assert.match(text.stdout, /\n {2}sink: out \(ndjson\), parallelism 1, reads large_active/)
      assert.strictEqual(mermaid.status, 0, mermaid.stderr)
      assert.match(mermaid.stdout, /^flowchart LR\n/)
      assert.match(mermaid.stdout, /\n {2}n_orders --> n_large__active\n/)
    }))

  it.live("a registry-level definition error exits 1 with the YAML location", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* write(join(dir, "wf.yaml"), workflow.replace("type: ndjson", "type: ndjsn").replace("inputs: [orders]", "inputs: [ordres]"))
      const results = yield* Effect.all([cli(["validate", "wf.yaml"], { cwd: dir }), cli(["run", "wf.yaml"], { cwd: dir })], {
        concurrency: 2
      })
      for (const result of results) {
        assert.strictEqual(result.status, 1)
        assert.strictEqual(result.stdout, "")
        const lines = result.stderr.split("\n")
        assert.deepStrictEqual(lines.slice(0, 3), [
          "wf.yaml:5:3 sources.orders: nothing reads the output of source 'orders'",
          "wf.yaml:13:14 transformations.large_active.inputs[0]: unknown input 'ordres' (did you mean 'orders'?)",
          lines[2].startsWith("wf.yaml:18:5 destinations.out.type: unknown destination type 'ndjsn' (did you mean 'ndjson'?); known: ")
            ? lines[2]
            : "wf.yaml:18:5 destinations.out.type: unknown destination type 'ndjsn' (did you mean 'ndjson'?); known: ..."
        ])
        assert.match(lines[2], /; known: .*\bndjson\b/)
        assert.strictEqual(lines[3], "invalid: wf.yaml (3 problems)")
      }
    }))
})
