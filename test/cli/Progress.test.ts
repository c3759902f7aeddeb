import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli, tempDir } from "./support.ts"

describe("dataflare run: progress", () => {
  it.live("not on a terminal, progress comes as plain periodic lines on stderr; --quiet prints none", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      let csv = "id,status,amount\n"
      for (let i = 0; i < 300_000; i++) csv += `${i},${i % 3 === 0 ? "active" : "closed"},${i % 1000}\n`
      yield* Effect.promise(() => writeFile(join(dir, "in.csv"), csv))
      const workflow = join(dir, "wf.yaml")
      yield* Effect.promise(() =>
        writeFile(
          workflow,
          [
            "name: progress",
            "execution: { batch_size: 100, queue_capacity: 2 }",
            "sources:",
            "  input: { type: csv, config: { path: in.csv, columns: { amount: number } } }",
            "transformations:",
            "  active: { type: filter, inputs: [input], config: { condition: \"status == 'active'\" } }",
            "destinations:",
            "  out: { type: ndjson, inputs: [active], config: { path: out.ndjson } }"
          ].join("\n")
        )
      )
      const ran = yield* cli(["run", workflow], { cwd: dir, env: { DATAFLARE_PROGRESS_INTERVAL_MS: "50" } })
      assert.strictEqual(ran.status, 0, ran.stderr)
      const lines = ran.stderr.split("\n").filter((l) => l.length > 0)
      assert.isAbove(lines.length, 0)
      for (const line of lines) {
        assert.match(line, /^\[dataflare\] progress: \S+ (ms|s)\s+in [\d,]+ \([\d,-]+\/s\)\s+out [\d,]+ \([\d,-]+\/s\)\s+queues (empty|.+ \d+\/\d+.*)$/)
      }
      assert.notInclude(ran.stderr, "\r")
      const quiet = yield* cli(["run", workflow, "--quiet"], { cwd: dir, env: { DATAFLARE_PROGRESS_INTERVAL_MS: "50" } })
      assert.strictEqual(quiet.status, 0)
      assert.strictEqual(quiet.stderr, "")
      assert.strictEqual(quiet.stdout, "")
    }))
})
