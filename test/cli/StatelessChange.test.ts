/**
 * `dataflare run` resumed after a stateless step was changed (a filter's condition): the run is
 * not refused — it reads on from the checkpoint — and says on stderr which node changed, how, and
 * that the records written before the checkpoint used the old definition.
 */
import { appendFile, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

const lines = (from: number, to: number): string => {
  let out = ""
  for (let i = from; i < to; i++) out += `{"id":${i},"amount":${i}}\n`
  return out
}

const workflow = (condition: string) =>
  `name: stateless-change
execution:
  checkpoint_interval: 1s
sources:
  orders: { type: ndjson, config: { path: orders.ndjson } }
transformations:
  keep: { type: filter, inputs: [orders], config: { condition: "${condition}" } }
destinations:
  out: { type: ndjson, inputs: [keep], config: { path: out.ndjson } }
`

describe("dataflare run: a stateless node changed between runs", () => {
  it.live("resumes and warns naming the node, the change and the checkpoint", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "orders.ndjson"), lines(0, 100)))
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow("amount >= 90")))
      const first = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir })
      assert.strictEqual(first.status, 0, first.stderr)
      assert.notInclude(first.stderr, "changed since checkpoint")

      // more input, and another condition: the rerun reads only the new lines, with the new condition
      yield* Effect.promise(() => appendFile(join(dir, "orders.ndjson"), lines(100, 200)))
      yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow("amount >= 195")))
      const second = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir })
      assert.strictEqual(second.status, 0, second.stderr)
      assert.match(
        second.stderr,
        /node 'keep' changed since checkpoint (\d+) \(condition: "amount >= 90" → "amount >= 195"\): records written before checkpoint \1 used the old definition/
      )
      const ids = (yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))).trim().split("\n").map((l) => (JSON.parse(l) as { id: number }).id)
      assert.deepStrictEqual(ids, [90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 195, 196, 197, 198, 199])

      // the same definition again: nothing to say
      yield* Effect.promise(() => appendFile(join(dir, "orders.ndjson"), lines(200, 201)))
      const third = yield* cli(["run", "wf.yaml", "--quiet"], { cwd: dir })
      assert.strictEqual(third.status, 0, third.stderr)
      assert.notInclude(third.stderr, "changed since checkpoint")
    }).pipe(Effect.scoped))
})
