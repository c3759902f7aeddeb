/**
 * Dead letters of `worker_map` and of the `csv` sink sent to one destination, with a real
 * `dataflare run` killed mid-run (issue #16): a `worker_map` (record mode) throws on every tenth
 * record (id % 10 === 3: set aside by the node), returns a record holding itself (id % 10 === 7)
 * or a bare number (id % 10 === 9), which the `csv` sink cannot write (set aside by the sink). Both
 * send them to an NDJSON destination (`dead_letter: { to: rejects }`; the sink, in a second case,
 * to its own file, `dead_letter: { path }`, kept by the sink's checkpoints). The run is SIGKILLed
 * twice at checkpoints, then runs to completion: every bad record is in `rejects` exactly once,
 * under the node that set it aside, every good one in the CSV output exactly once — the letters
 * travel ahead of the barrier, so each checkpoint covers the ones it wrote.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { killAt, start } from "../cli/killRun.ts"
import { tempDir } from "../cli/support.ts"

const ROWS = 60_000
const module = fileURLToPath(new URL("./fixtures/badRecords.ts", import.meta.url))
const ofKind = (...kinds: ReadonlyArray<number>) => Array.from({ length: ROWS }, (_, k) => k + 1).filter((id) => kinds.includes(id % 10))

const text = (path: string) => Effect.promise(() => readFile(path, "utf8").catch(() => ""))

const setUp = (dir: string, sinkLetters: string) =>
  Effect.promise(async () => {
    const out: Array<string> = []
    for (let id = 1; id <= ROWS; id++) out.push(JSON.stringify({ id, amount: id }))
    await writeFile(join(dir, "in.ndjson"), out.join("\n") + "\n")
    await writeFile(
      join(dir, "wf.yaml"),
      [
        "name: sink-letters-kill",
        "execution: { batch_size: 250, checkpoint_interval: 20ms }",
        "sources:",
        "  input: { type: ndjson, config: { path: in.ndjson } }",
        "transformations:",
        `  vet: { type: worker_map, inputs: [input], config: { module: "${module}", export: shapes, workers: 1 }, on_error: dead_letter, dead_letter: { to: rejects } }`,
        "destinations:",
        `  out: { type: csv, inputs: [vet], config: { path: out.csv, on_error: dead_letter, dead_letter: ${sinkLetters} } }`,
        "  rejects: { type: ndjson, inputs: [], config: { path: rejects.ndjson } }"
      ].join("\n")
    )
  })

describe("dead letters of worker_map and the csv sink: kill -9 of dataflare run, then resume", () => {
  for (const sinkLetters of ["{ to: rejects }", "{ path: out.rejected.ndjson }"]) {
    it.live(`every bad record exactly once in the dead letters (the csv sink's: dead_letter: ${sinkLetters}), every good one exactly once in the CSV`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        yield* setUp(dir, sinkLetters)
        const first = yield* killAt(dir, yield* start(dir), 1)
        const second = yield* killAt(dir, yield* start(dir), first + 3)
        assert.isTrue(second > first)
        const partial = (yield* text(join(dir, "out.csv"))).split("\n").length
        assert.isBelow(partial, ROWS * 0.7, "the killed runs had not written everything")
        const last = yield* (yield* start(dir)).ended
        assert.strictEqual(last.code, 0, last.stderr)

        const [header, ...rows] = (yield* text(join(dir, "out.csv"))).split("\n").filter((l) => l.length > 0)
        assert.strictEqual(header, "id,twice")
        const good = ofKind(0, 1, 2, 4, 5, 6, 8)
        assert.strictEqual(rows.length, good.length)
        assert.deepStrictEqual(rows.map((r) => Number(r.split(",")[0])).sort((a, b) => a - b), good)
        for (const r of rows.slice(0, 50)) {
          const [id, twice] = r.split(",").map(Number)
          assert.strictEqual(twice, id * 2)
        }

        const read = (file: string) =>
          Effect.map(text(join(dir, file)), (t) =>
            t.split("\n").filter((l) => l.length > 0)
              .map((l) => JSON.parse(l) as { readonly node: string; readonly tag: string; readonly error: string; readonly record: unknown }))
        const letters = [...(yield* read("rejects.ndjson")), ...(sinkLetters.includes("path") ? yield* read("out.rejected.ndjson") : [])]
        const idOf = (record: unknown) => (typeof record === "number" ? record : (record as { readonly id: number }).id)
        const of = (node: string) => letters.filter((l) => l.node === node).map((l) => idOf(l.record)).sort((a, b) => a - b)
        assert.strictEqual(letters.length, ofKind(3, 7, 9).length, "no letter twice")
        assert.deepStrictEqual(of("vet"), ofKind(3))
        assert.deepStrictEqual(of("out"), ofKind(7, 9))
        for (const l of letters) {
          assert.strictEqual(l.tag, l.node === "vet" ? "WorkerMapError" : "EncodeError")
          if (l.node === "vet") assert.include(l.error, `order ${idOf(l.record)} is refused`)
        }
      }).pipe(Effect.scoped), 240_000)
  }
})
