/**
 * `dataflare plan --format mermaid|dot` as a user renders it: every task keeps its own box, even
 * when node ids differ only in characters the graph languages do not allow in identifiers.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const workflow = `name: look-alikes
sources:
  in: { type: memory, config: { records: [{ n: 1 }] } }
transformations:
  a-b: { type: filter, inputs: [in], config: { condition: "n > 0" } }
  a_b: { type: filter, inputs: [in], config: { condition: "n > 1" } }
  a.b: { type: filter, inputs: [in], config: { condition: "n > 2" } }
  'c\\nd': { type: filter, inputs: [in], config: { condition: "n > 3" } }
destinations:
  out: { type: collect, inputs: [a-b, a_b, a.b, 'c\\nd'] }
`

/** The node ids declared by a Mermaid flowchart or a dot graph, by the label they carry. */
const boxes = (text: string, pattern: RegExp): Map<string, string> =>
  new Map([...text.matchAll(pattern)].map((m) => [m[2], m[1]] as const))

describe("dataflare plan --format mermaid|dot (process)", () => {
  it.live("node ids a-b, a_b and a.b get three distinct graph ids, and every edge reaches its own box", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow))
      const [mermaid, dot] = yield* Effect.all([
        cli(["plan", "wf.yaml", "--format", "mermaid"], { cwd: dir }),
        cli(["plan", "wf.yaml", "--format", "dot"], { cwd: dir })
      ], { concurrency: 2 })
      assert.strictEqual(mermaid.status, 0, mermaid.stderr)
      assert.strictEqual(dot.status, 0, dot.stderr)
      for (
        const [text, declared, edge] of [
          [mermaid.stdout, /^ {2}(\S+)\["(\S+) \(filter\)"\]$/gm, (from: string, to: string) => `  ${from} --> ${to}\n`],
          [dot.stdout, /^ {2}(\S+) \[label="(\S+) \(filter\)", shape=box\];$/gm, (from: string, to: string) => `  ${from} -> ${to};\n`]
        ] as const
      ) {
        const ids = boxes(text, declared)
        ids.delete("c\\nd")
        ids.delete("c\\\\nd")
        assert.deepStrictEqual([...ids.keys()].sort(), ["a-b", "a.b", "a_b"])
        assert.strictEqual(new Set(ids.values()).size, 3, text)
        for (const id of ids.values()) {
          assert.include(text, edge("n_in", id))
          assert.include(text, edge(id, "n_out"))
        }
      }
      // a backslash in an id is a backslash in the graph, not a line break (dot reads \\n as one)
      assert.include(dot.stdout, `[label="c\\\\nd (filter)", shape=box];`)
      assert.include(mermaid.stdout, `["c\\nd (filter)"]`)
    }))
})
