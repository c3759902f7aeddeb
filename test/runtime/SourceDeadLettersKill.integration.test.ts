/**
 * Malformed input records set aside by file sources (`on_error: dead_letter`), with a real
 * `dataflare run` killed mid-run: an `ndjson` source (three lines in ten are not JSON, JSON that is
 * not an object, or hold an integer a double would round) and a `csv` source read in two byte ranges
 * (three records in ten have an amount that is not an integer, too few or too many fields; a
 * syntax error would keep the file from being split, see docs/connectors/csv.md). The run is SIGKILLed twice at checkpoints, then runs to
 * completion: every bad record is in the dead-letter file exactly once, every good one in the
 * output exactly once — the dead-letter file is rewound with the source's position on a restore.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "../cli/support.ts"
import { killTwiceThenFinish } from "./deadLetterKill.ts"

const ROWS = 60_000
const bad = (id: number) => id % 10 === 3 || id % 10 === 6 || id % 10 === 9
const good = Array.from({ length: ROWS }, (_, k) => k + 1).filter((id) => !bad(id))
const badIds = Array.from({ length: ROWS }, (_, k) => k + 1).filter(bad)

const text = (path: string) => Effect.promise(() => readFile(path, "utf8").catch(() => ""))

const ndjsonLine = (id: number): string =>
  id % 10 === 3 ? `{"id":${id},"amount":` : id % 10 === 6 ? `[${id}]` : id % 10 === 9 ? `{"id":${id},"amount":123456789012345678901}` : JSON.stringify({ id, amount: id })

const csvLine = (id: number): string =>
  id % 10 === 3 ? `${id},x${id}` : id % 10 === 6 ? `${id}` : id % 10 === 9 ? `${id},${id},${id}` : `${id},${id}`

const cases = [
  {
    name: "ndjson source",
    input: "in.ndjson",
    content: () => Array.from({ length: ROWS }, (_, k) => ndjsonLine(k + 1)).join("\n") + "\n",
    source: "{ type: ndjson, config: { path: in.ndjson, on_error: dead_letter, dead_letter: { path: rejected.ndjson } } }",
    /** The id of a bad record from its entry: the line (no header). */
    idOf: (line: number) => line
  },
  {
    name: "csv source in 2 byte ranges",
    input: "in.csv",
    content: () => "id,amount\n" + Array.from({ length: ROWS }, (_, k) => csvLine(k + 1)).join("\n") + "\n",
    source:
      "{ type: csv, parallelism: 2, config: { path: in.csv, columns: { id: integer, amount: integer }, on_error: dead_letter, dead_letter: { path: rejected.ndjson } } }",
    idOf: (line: number) => line - 1
  }
]

describe("file sources' dead letters (on_error: dead_letter): kill -9 of dataflare run, then resume", () => {
  for (const c of cases) {
    it.live(`${c.name}: every malformed record exactly once in the dead letters, every good one exactly once in the output`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        yield* Effect.promise(async () => {
          await writeFile(join(dir, c.input), c.content())
          await writeFile(
            join(dir, "wf.yaml"),
            [
              "name: source-letters-kill",
              "execution: { batch_size: 250, checkpoint_interval: 20ms }",
              "sources:",
              `  input: ${c.source}`,
              "destinations:",
              "  out: { type: ndjson, inputs: [input], config: { path: out.ndjson } }"
            ].join("\n")
          )
        })
        yield* killTwiceThenFinish(
          dir,
          Effect.gen(function*() {
            const partial = (yield* text(join(dir, "out.ndjson"))).split("\n").length
            assert.isBelow(partial, good.length * 0.8, "the killed runs had not written everything")
          })
        )
        const out = (yield* text(join(dir, "out.ndjson"))).split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as { readonly id: number; readonly amount: number })
        assert.strictEqual(out.length, good.length, "no good record twice or missing")
        assert.deepStrictEqual(out.map((r) => r.id).sort((a, b) => a - b), good)
        for (const r of out.slice(0, 50)) assert.strictEqual(r.amount, r.id)
        const letters = (yield* text(join(dir, "rejected.ndjson"))).split("\n").filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as { readonly node: string; readonly line: number; readonly instance?: number; readonly error: string; readonly record: string })
        assert.strictEqual(letters.length, badIds.length, "no malformed record twice or missing")
        assert.deepStrictEqual(letters.map((l) => c.idOf(l.line)).sort((a, b) => a - b), badIds)
        // both ranges set records aside
        if (c.input.endsWith(".csv")) assert.deepStrictEqual([...new Set(letters.map((l) => l.instance))].sort(), [0, 1])
        for (const l of letters.slice(0, 30)) {
          assert.strictEqual(l.node, "input")
          const id = c.idOf(l.line)
          assert.strictEqual(l.record, c.input.endsWith(".csv") ? csvLine(id) : ndjsonLine(id))
        }
      }).pipe(Effect.scoped), 240_000)
  }
})
