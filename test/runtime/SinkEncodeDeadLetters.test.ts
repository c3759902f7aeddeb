/**
 * Dead letters of the file sinks and of `worker_map` (issue #16): a `worker_map` node in record
 * mode sets aside the records its function throws on (caught in the worker thread) and the rest
 * of each batch goes on in order; the `csv` and `ndjson` sinks set aside the records they cannot
 * write (a record holding itself; in CSV a record that is not an object) to `dead_letter: { path }`
 * or to a destination (`{ to }`), writing the others. Files are written and read back. Without
 * `on_error` the run fails naming the node and the record; what cannot set records aside is
 * refused before the run, saying why.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Yaml from "../../dsl/yaml/Yaml.ts"
import * as Builtins from "../../src/Builtins.ts"
import * as PlanFormat from "../../src/PlanFormat.ts"
import * as Runtime from "../../src/Runtime.ts"
import { tempDir } from "../connectors/csv/support.ts"

const module = fileURLToPath(new URL("./fixtures/badRecords.ts", import.meta.url))
const N = 40
const kind = (id: number) => id % 10

const input = (dir: string) =>
  writeFileSync(join(dir, "in.ndjson"), Array.from({ length: N }, (_, i) => JSON.stringify({ id: i + 1, amount: i + 1 })).join("\n") + "\n")

const lines = (path: string) =>
  readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>)

const ids = (pred: (id: number) => boolean) => Array.from({ length: N }, (_, i) => i + 1).filter(pred)

const yaml = (dir: string, vet: string, out: string, rejects = "") =>
  [
    "name: sink-letters",
    "execution: { batch_size: 8 }",
    "sources:",
    `  input: { type: ndjson, config: { path: ${join(dir, "in.ndjson")} } }`,
    "transformations:",
    `  vet: ${vet}`,
    "destinations:",
    `  out: ${out}`,
    ...(rejects.length > 0 ? [`  rejects: ${rejects}`] : [])
  ].join("\n")

const workerMap = (exportName: string, letters: string, extra = "") =>
  `{ type: worker_map, inputs: [input], config: { module: "${module}", export: ${exportName}, workers: 1${extra} }${letters} }`

const run = (text: string) =>
  Effect.gen(function*() {
    const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: {} })
    return yield* Runtime.run(graph)
  }).pipe(Effect.provide(Builtins.layer))

const prepareIssues = (text: string) =>
  Effect.gen(function*() {
    const graph = yield* Yaml.parse(text, { file: "wf.yaml", env: {} })
    return (yield* Effect.flip(Runtime.prepare(graph))).message
  }).pipe(Effect.provide(Builtins.layer))

describe("dead letters of worker_map and of the file sinks", () => {
  it.live("worker_map sets aside what its function throws on; the csv sink what it cannot write (files, dead_letter: { path })", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const text = yaml(
        dir,
        workerMap("shapes", `, on_error: dead_letter, dead_letter: { path: ${join(dir, "vet.rejected.ndjson")} }`),
        `{ type: csv, inputs: [vet], config: { path: ${join(dir, "out.csv")}, on_error: dead_letter, dead_letter: { path: ${join(dir, "out.rejected.ndjson")} } } }`
      )
      const plan = yield* Effect.map(
        Effect.flatMap(Yaml.parse(text, { file: "wf.yaml", env: {} }), Runtime.prepare),
        (prepared) => PlanFormat.text(Runtime.plan(prepared))
      ).pipe(Effect.provide(Builtins.layer))
      assert.include(plan, `dead letters → ${join(dir, "vet.rejected.ndjson")}`)
      assert.include(plan, `dead letters → ${join(dir, "out.rejected.ndjson")}`)
      const summary = yield* run(text)
      // the good records, in input order, under the columns of the first one
      const good = ids((id) => kind(id) !== 3 && kind(id) !== 7 && kind(id) !== 9)
      assert.strictEqual(readFileSync(join(dir, "out.csv"), "utf8"), "id,twice\n" + good.map((id) => `${id},${id * 2}\n`).join(""))
      // the worker's failures: the record as it came in, the error thrown in the thread
      const vet = lines(join(dir, "vet.rejected.ndjson"))
      assert.deepStrictEqual(vet.map((l) => l.record), ids((id) => kind(id) === 3).map((id) => ({ id, amount: id })))
      for (const l of vet) {
        assert.strictEqual(l.node, "vet")
        assert.strictEqual(l.tag, "WorkerMapError")
        assert.strictEqual(l.source, "input")
        assert.isNotNull(l.position)
        assert.include(String(l.error), `order ${(l.record as { id: number }).id} is refused`)
      }
      // the csv sink's: a record holding itself (cut where it loops), a bare number
      const out = lines(join(dir, "out.rejected.ndjson"))
      assert.deepStrictEqual(
        out.map((l) => l.record),
        ids((id) => kind(id) === 7 || kind(id) === 9).map((id) => (kind(id) === 7 ? { id, twice: "[Circular]" } : id))
      )
      for (const l of out) {
        assert.strictEqual(l.node, "out")
        assert.strictEqual(l.file, join(dir, "out.csv"))
        assert.strictEqual(l.tag, "EncodeError")
        assert.strictEqual(l.source, "input")
        assert.include(String(l.error), typeof l.record === "number" ? "the record is a number" : "circular")
      }
      assert.strictEqual(summary.nodes.find((n) => n.id === "vet")?.deadLetters, 4)
      assert.strictEqual(summary.nodes.find((n) => n.id === "out")?.deadLetters, 8)
      assert.strictEqual(summary.nodes.find((n) => n.id === "out")?.recordsIn, N - 4)
    })))

  it.live("worker_map and the ndjson sink send their dead letters to one destination (dead_letter: { to })", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const text = yaml(
        dir,
        workerMap("circular", ", on_error: dead_letter, dead_letter: { to: rejects }"),
        `{ type: ndjson, inputs: [vet], config: { path: ${join(dir, "out.ndjson")}, on_error: dead_letter, dead_letter: { to: rejects } } }`,
        `{ type: ndjson, inputs: [], config: { path: ${join(dir, "rejects.ndjson")} } }`
      )
      yield* run(text)
      const good = ids((id) => kind(id) !== 3 && kind(id) !== 7)
      assert.deepStrictEqual(lines(join(dir, "out.ndjson")), good.map((id) => ({ id, twice: id * 2 })))
      const letters = lines(join(dir, "rejects.ndjson"))
      for (const l of letters) {
        assert.deepStrictEqual(Object.keys(l), ["node", "at", "tag", "source", "position", "error", "detail", "record"])
        assert.strictEqual(l.source, "input")
      }
      const byNode = (node: string) => letters.filter((l) => l.node === node).map((l) => l.record)
      assert.deepStrictEqual(byNode("vet"), ids((id) => kind(id) === 3).map((id) => ({ id, amount: id })))
      assert.deepStrictEqual(byNode("out"), ids((id) => kind(id) === 7).map((id) => ({ id, twice: "[Circular]" })))
      for (const l of letters.filter((e) => e.node === "out")) {
        assert.strictEqual(l.tag, "EncodeError")
        assert.deepStrictEqual(l.detail, { file: join(dir, "out.ndjson") })
        assert.include(String(l.error), "cannot write the record as JSON")
      }
    })))

  it.live("without on_error, the sink's first bad record fails the run, naming the node and the record", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const letters = `, on_error: dead_letter, dead_letter: { path: ${join(dir, "vet.rejected.ndjson")} }`
      const csv = yield* Effect.flip(run(yaml(dir, workerMap("shapes", letters), `{ type: csv, inputs: [vet], config: { path: ${join(dir, "out.csv")} } }`)))
      assert.include(csv.message, "'out'")
      assert.include(csv.message, "cannot write the record as csv")
      assert.include(csv.message, `record: {"id":7,"twice":"[Circular]"}`)
      const ndjson = yield* Effect.flip(run(yaml(dir, workerMap("circular", letters), `{ type: ndjson, inputs: [vet], config: { path: ${join(dir, "out.ndjson")} } }`)))
      assert.include(ndjson.message, "'out'")
      assert.include(ndjson.message, "cannot write the record as JSON")
      assert.include(ndjson.message, `record: {"id":7,"twice":"[Circular]"}`)
      // and without on_error on worker_map, its first failure fails the run, naming the record
      const wm = yield* Effect.flip(run(yaml(dir, workerMap("circular", ""), `{ type: ndjson, inputs: [vet], config: { path: ${join(dir, "out.ndjson")} } }`)))
      assert.include(wm.message, "'vet'")
      assert.include(wm.message, "order 3 is refused")
    })))

  it.live("worker_map in mode: batch sets records aside only when declared pure (its failed batches are bisected)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      input(dir)
      const letters = `, on_error: dead_letter, dead_letter: { path: ${join(dir, "vet.rejected.ndjson")} }`
      const out = `{ type: ndjson, inputs: [vet], config: { path: ${join(dir, "out.ndjson")} } }`
      assert.include(
        yield* prepareIssues(yaml(dir, workerMap("batchVet", letters, ", mode: batch"), out)),
        "transformations.vet.on_error: on_error: dead_letter applies to record-by-record processors (filter, map, select, rename, flat_map), aggregate, dedupe, worker_map in mode: record and pure batch functions; 'worker_map' in mode: batch fails the run on a bad record"
      )
      assert.include(
        yield* prepareIssues(yaml(dir, workerMap("circular", letters, ", pure: true"), out)),
        "pure applies to mode: batch"
      )
      yield* run(yaml(dir, workerMap("batchVet", letters, ", mode: batch, pure: true"), out))
      const good = ids((id) => kind(id) !== 3)
      assert.deepStrictEqual(lines(join(dir, "out.ndjson")), good.map((id) => ({ id, twice: id * 2 })))
      const vet = lines(join(dir, "vet.rejected.ndjson"))
      assert.deepStrictEqual(vet.map((l) => l.record), ids((id) => kind(id) === 3).map((id) => ({ id, amount: id })))
      for (const l of vet) assert.include(String(l.error), `order ${(l.record as { id: number }).id} is refused`)
    })))
})
