import { execFile } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { workerExecArgv } from "../../src/workers/internal/execArgv.ts"
import { tempDir } from "../cli/support.ts"

const root = resolve(import.meta.dirname, "../..")
const fixture = join(root, "test/workers/fixtures/transforms.ts")

describe("worker threads' flags", () => {
  it("inherit the process's flags where Node strips types; else drop the flags a worker refuses and add the strip flag", () => {
    assert.isUndefined(workerExecArgv({ typescript: "strip" }, ["--max-old-space-size=4096"]))
    assert.isUndefined(workerExecArgv({ typescript: "transform" }, []))
    assert.deepStrictEqual(
      workerExecArgv({}, ["--max-old-space-size=4096", "--no-warnings", "--stack-size=2000", "--conditions=dev", "--expose-gc"]),
      ["--no-warnings", "--conditions=dev", "--experimental-strip-types"]
    )
  })

  it.effect("a process started with V8 flags runs CSV range threads and a worker_map pool", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const input = join(dir, "in.csv")
      const output = join(dir, "out.ndjson")
      writeFileSync(input, `id\n${Array.from({ length: 300 }, (_, i) => i).join("\n")}\n`)
      const workflow = join(dir, "wf.yaml")
      writeFileSync(
        workflow,
        [
          "name: flags",
          "sources:",
          `  in: { type: csv, parallelism: 2, config: { path: "${input}", columns: { id: integer } } }`,
          "transformations:",
          `  sq: { type: worker_map, inputs: [in], config: { module: "${fixture}", export: square, workers: 1 } }`,
          "destinations:",
          `  out: { type: ndjson, inputs: [sq], config: { path: "${output}" } }`
        ].join("\n")
      )
      const run = yield* Effect.callback<{ readonly code: number; readonly stderr: string }>((resume) => {
        execFile(
          process.execPath,
          ["--max-old-space-size=512", "--stack-size=2000", "--no-warnings", join(root, "dsl/cli/main.ts"), "run", workflow, "--quiet"],
          { timeout: 60_000 },
          (error, _stdout, stderr) => resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? -1), stderr: String(stderr) }))
        )
      })
      assert.strictEqual(run.code, 0, run.stderr)
      const squares = readFileSync(output, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { square: number }).square)
      assert.deepStrictEqual(squares.sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i * i))
    })), 60_000)
})
