/**
 * `execution.parallelism: auto`, the default: a source that can split its input (a large `csv`
 * file) runs one instance per core, capped by the file's size; every other node, small files,
 * a source whose only consumer takes its encoded bytes and a source feeding a stateful or
 * `ordered` node (which depends on the input's order) run once; `plan` shows the choice; a run
 * produces the records of a serial run; a resumed run keeps the checkpoint's instances.
 */
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import type { Restored } from "../../src/Checkpoint.ts"
import type { SourceCapabilities } from "../../src/Connector.ts"
import { autoSourceInstances, keepRestoredInstances } from "../../src/internal/autoParallelism.ts"
import { plan } from "../../src/internal/planner.ts"
import { prepare } from "../../src/internal/prepare.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import * as Runtime from "../../src/Runtime.ts"
import { tempDir } from "../connectors/csv/support.ts"

/** A CSV of `rows` rows of about 50 bytes; every fifth has a quoted field with a comma and a line break. */
const writeCsv = (path: string, rows: number): void => {
  const fd = openSync(path, "w")
  let chunk = "id,status,amount,note\n"
  for (let i = 0; i < rows; i++) {
    chunk += `${i},${i % 3 === 0 ? "active" : "closed"},${(i * 7919) % 1000}.25,${i % 5 === 0 ? `"a, b\nc ${i}"` : `note-${i}`}\n`
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk)
      chunk = ""
    }
  }
  writeSync(fd, chunk)
  closeSync(fd)
}

const workflow = (input: string, output: string, execution = "", sink = "ndjson") =>
  Yaml.parse(
    `
name: auto-par
${execution}
sources:
  in:
    type: csv
    config: { path: "${input}", columns: { id: integer, amount: number } }
transformations:
  keep:
    type: filter
    inputs: [in]
    config: { condition: "status == 'active' && amount >= 300" }
destinations:
  out:
    type: ${sink}
    inputs: [keep]
    config: { path: "${output}" }
`,
    { file: "auto.yaml", env: {} }
  )

const sourceOf = (p: ReturnType<typeof plan>) => p.tasks.find((t) => t._tag === "Source")!

/** About 11 MiB: two ranges of at least 5 MiB (more on more cores only from 15 MiB). */
const BIG_ROWS = 350_000
/** About 7.5 MiB: under two ranges' worth, read once. */
const MID_ROWS = 240_000
/** The per-range minimum `auto` splits a csv file by (CsvSource's AUTO_RANGE_BYTES). */
const RANGE_BYTES = 5 * 1024 * 1024

describe("execution.parallelism: auto", () => {
  it.effect("a large csv file is read on the cores (up to one range per 5 MiB), a small one once; plan says auto", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = join(dir, "big.csv")
      const mid = join(dir, "mid.csv")
      const small = join(dir, "small.csv")
      writeCsv(big, BIG_ROWS)
      writeCsv(mid, MID_ROWS)
      writeCsv(small, 1000)
      const bigSize = statSync(big).size
      const midSize = statSync(mid).size
      assert.isTrue(bigSize >= 2 * RANGE_BYTES && bigSize < 3 * RANGE_BYTES, `big.csv is ${bigSize} bytes`)
      assert.isTrue(midSize > RANGE_BYTES && midSize < 2 * RANGE_BYTES, `mid.csv is ${midSize} bytes`)
      const bigPlan = plan(yield* prepare(yield* workflow(big, join(dir, "b.ndjson"))))
      const expected = Math.min(availableParallelism(), 2)
      assert.strictEqual(sourceOf(bigPlan).parallelism, expected)
      assert.include(PlanFormat.text(bigPlan), `source: in (csv), parallelism ${expected} (auto)`)
      // the sink and the filter run once (the filter inside the range threads when split)
      assert.strictEqual(bigPlan.tasks.find((t) => t.id === "out")!.parallelism, 1)
      // between one and two ranges' worth: a second thread would cost more than it saves
      assert.strictEqual(sourceOf(plan(yield* prepare(yield* workflow(mid, join(dir, "m.ndjson"))))).parallelism, 1)
      const smallPlan = plan(yield* prepare(yield* workflow(small, join(dir, "s.ndjson"))))
      assert.strictEqual(sourceOf(smallPlan).parallelism, 1)
      assert.include(PlanFormat.text(smallPlan), "source: in (csv), parallelism 1 (auto)")
      // a number in execution.parallelism is used as before, and says nothing of auto
      const fixed = plan(yield* prepare(yield* workflow(big, join(dir, "f.ndjson"), "execution: { parallelism: 1 }")))
      assert.strictEqual(sourceOf(fixed).parallelism, 1)
      assert.notInclude(PlanFormat.text(fixed), "(auto)")
      // auto, written out, is the default
      const written = plan(yield* prepare(yield* workflow(big, join(dir, "w.ndjson"), "execution: { parallelism: auto }")))
      assert.strictEqual(sourceOf(written).parallelism, expected)
    }).pipe(Effect.provide(Builtins.layer))), 120_000)

  it.effect("a run at the default writes the records of a serial run (order within each range kept)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = join(dir, "big.csv")
      writeCsv(big, BIG_ROWS)
      const lines = (p: string) => readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0)
      const auto = yield* Runtime.run(yield* workflow(big, join(dir, "auto.ndjson")))
      const serial = yield* Runtime.run(yield* workflow(big, join(dir, "serial.ndjson"), "execution: { parallelism: 1 }"))
      const a = lines(join(dir, "auto.ndjson"))
      const s = lines(join(dir, "serial.ndjson"))
      assert.strictEqual(a.length, s.length)
      assert.isTrue(a.length > 40_000)
      assert.deepStrictEqual([...a].sort(), [...s].sort())
      // within a range, file order: the ids of each range's records rise
      const ids = a.map((l) => (JSON.parse(l) as { readonly id: number }).id)
      const breaks = ids.filter((id, i) => i > 0 && id < ids[i - 1]).length
      assert.isTrue(breaks < ids.length / 2)
      const counts = (r: Runtime.RunSummary) => r.nodes.map((n) => [n.id, n.recordsIn, n.recordsOut])
      assert.deepStrictEqual(counts(auto), counts(serial))
    }).pipe(Effect.provide(Builtins.layer))), 180_000)

  it("a source's answer applies unless its only consumer takes its bytes; odd answers mean 1; maxParallelism caps", () => {
    const caps = (answer: number, extra: Partial<SourceCapabilities> = {}): SourceCapabilities => ({
      seekable: true,
      unbounded: false,
      autoParallelism: (cores) => Math.min(cores, answer),
      ...extra
    })
    assert.strictEqual(autoSourceInstances(caps(4), [], "in", 8), 4)
    assert.strictEqual(autoSourceInstances(caps(4), [], "in", 2), 2)
    assert.strictEqual(autoSourceInstances(caps(0), [], "in", 8), 1)
    assert.strictEqual(autoSourceInstances(caps(2.5), [], "in", 8), 1)
    assert.strictEqual(autoSourceInstances(caps(4, { maxParallelism: 3 }), [], "in", 8), 3)
    assert.strictEqual(autoSourceInstances({ seekable: true, unbounded: false }, [], "in", 8), 1)
  })

  it.effect("a csv source feeding a sink that takes its bytes stays at 1 (the byte handoff needs it)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = join(dir, "big.csv")
      writeCsv(big, BIG_ROWS)
      const text = `
name: auto-bytes
sources:
  in: { type: csv, config: { path: "${big}" } }
destinations:
  out: { type: postgres, inputs: [in], config: { connection_string: "postgres://postgres@127.0.0.1:5432/test", table: auto_bytes_never_created } }
`
      const p = plan(yield* prepare(yield* Yaml.parse(text, { file: "bytes.yaml", env: {} })))
      assert.strictEqual(sourceOf(p).parallelism, 1)
      assert.strictEqual(sourceOf(p)._tag === "Source" ? sourceOf(p).encoding : undefined, "text/csv")
    }).pipe(Effect.provide(Builtins.layer))), 120_000)

  it.effect("a resumed run keeps the instances of the checkpoint it restores", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = join(dir, "big.csv")
      writeCsv(big, BIG_ROWS)
      const prepared = yield* prepare(yield* workflow(big, join(dir, "r.ndjson")))
      const restored = (instances: number): Restored => ({
        id: 3,
        final: false,
        positions: Array.from({ length: instances }, (_, instance) => ({ node: "in", instance, position: { offset: 22, line: 2 } })),
        operators: new Map()
      })
      const instancesAfter = (r: Restored | undefined) => sourceOf(plan(keepRestoredInstances(prepared, r))).parallelism
      assert.strictEqual(instancesAfter(undefined), Math.min(availableParallelism(), 2))
      assert.strictEqual(instancesAfter(restored(1)), 1)
      assert.strictEqual(instancesAfter(restored(3)), 3)
      // a number the user wrote is never changed: the restore is refused instead (preflight)
      const fixed = yield* prepare(yield* workflow(big, join(dir, "r.ndjson"), "execution: { parallelism: 2 }"))
      assert.strictEqual(sourceOf(plan(keepRestoredInstances(fixed, restored(1)))).parallelism, 2)
    }).pipe(Effect.provide(Builtins.layer))), 120_000)

  it.effect("a source feeding a stateful or ordered node is read in order (one instance) unless its own parallelism splits it", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = join(dir, "big.csv")
      writeCsv(big, BIG_ROWS)
      const text = (execution: string, sourceParallelism: string, node: string) => `
name: in-order
${execution}
sources:
  in: { type: csv, ${sourceParallelism} config: { path: "${big}", columns: { id: integer, amount: number } } }
transformations:
  active: { type: filter, inputs: [in], config: { condition: "status == 'active'" } }
  agg: ${node}
destinations:
  out: { type: ndjson, inputs: [agg], config: { path: "${join(dir, "o.ndjson")}" } }
`
      const AGG = "{ type: aggregate, inputs: [active], config: { group_by: [status], aggregates: { n: { op: count } } } }"
      const ORDERED = "{ type: map, inputs: [active], ordered: true, config: { fields: { k: 'id' } } }"
      const planOf = (execution: string, own: string, node: string) =>
        Effect.map(Effect.flatMap(Yaml.parse(text(execution, own, node), { file: "o.yaml", env: {} }), prepare), plan)
      // auto and a workflow-wide number keep the file's order for the aggregate (behind a filter)
      for (const execution of ["", "execution: { parallelism: 2 }"]) {
        const p = yield* planOf(execution, "", AGG)
        assert.strictEqual(sourceOf(p).parallelism, 1, execution)
        assert.include(PlanFormat.text(p), "source: in (csv), parallelism 1 (read in order for 'agg', which depends on it")
      }
      assert.strictEqual(sourceOf(yield* planOf("", "", ORDERED)).parallelism, 1)
      // the source's own parallelism is what the user asked for
      assert.strictEqual(sourceOf(yield* planOf("", "parallelism: 2,", AGG)).parallelism, 2)
      // a stateless pipeline is split as before
      const stateless = yield* planOf("execution: { parallelism: 2 }", "", "{ type: map, inputs: [active], config: { fields: { k: 'id' } } }")
      assert.strictEqual(sourceOf(stateless).parallelism, 2)
    }).pipe(Effect.provide(Builtins.layer))), 120_000)
})
