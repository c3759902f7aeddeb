/**
 * Range threads started ahead (`warmRanges.ts`) and the launcher's guess of how many a run needs
 * (`dsl/cli/internal/warm.ts`): a parallel `csv` source takes the threads that wait, gives them
 * their range as their first message and reads exactly what new threads read (a 3-way split with
 * two threads waiting: two taken, one started); a thread not taken does not keep the process alive;
 * the guess follows the planner's rules in their common form.
 */
import { spawnSync } from "node:child_process"
import { closeSync, ftruncateSync, openSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { dropWarm, warmRanges, warmWaiting } from "../../../src/connectors/csv/internal/warmRanges.ts"
import { guessRanges } from "../../../dsl/cli/internal/warm.ts"
import type { OpenContext } from "../../../src/Connector.ts"
import { drain, openSource, readAll, tempDir } from "./support.ts"

const ctx = (instance: number, parallelism: number): OpenContext => ({ node: "in", batchSize: 1000, instance, parallelism })

const rows = Array.from({ length: 500 }, (_, i) => `${i},"say ""${i}""",${i % 2 === 0}\r\n`).join("")

describe("csv range threads started ahead", () => {
  it.effect("a split takes the threads waiting (and starts the others): the same records as a serial read", () =>
    Effect.scoped(Effect.gen(function*() {
      const path = join(yield* tempDir, "in.csv")
      writeFileSync(path, `id,text,flag\r\n${rows}`)
      const config = { path, columns: { id: "integer", text: "string", flag: "boolean" } }
      const serial = yield* readAll("csv", config)
      assert.strictEqual(serial.length, 500)
      warmRanges(2)
      assert.strictEqual(warmWaiting(), 2)
      const ranges = yield* Effect.forEach(
        [0, 1, 2],
        (i) => Effect.scoped(Effect.flatMap(openSource("csv", config, ctx(i, 3)), (r) => drain(r, 50))).pipe(Effect.map((r) => r.records)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(warmWaiting(), 0)
      assert.deepStrictEqual(ranges.flat(), serial)
      assert.isTrue(ranges.filter((r) => r.length > 0).length > 1, "the work is shared")
    })))

  it.effect("threads not taken wait without failing, and end when dropped", () =>
    Effect.gen(function*() {
      warmRanges(1)
      assert.strictEqual(warmWaiting(), 1)
      yield* Effect.promise(() => dropWarm())
      assert.strictEqual(warmWaiting(), 0)
    }))

  it.effect("a thread not taken does not keep the process alive (it is started, and waits)", () =>
    Effect.scoped(Effect.gen(function*() {
      const module = new URL("../../../src/connectors/csv/internal/warmRanges.ts", import.meta.url).href
      const script = join(yield* tempDir, "warm.mjs")
      // the threads come up (waiting for their range) before the script ends
      writeFileSync(
        script,
        `import { warmRanges, warmWaiting } from ${JSON.stringify(module)}\nwarmRanges(2)\nawait new Promise((resolve) => setTimeout(resolve, 500))\nconsole.log(warmWaiting())\n`
      )
      // (bounded: a process kept alive by its threads would be killed at the timeout, with a signal)
      const child = spawnSync(process.execPath, ["--no-warnings", script], { timeout: 60_000, encoding: "utf8" })
      assert.strictEqual(child.signal, null, child.stderr)
      assert.strictEqual(child.status, 0, child.stderr)
      assert.strictEqual(child.stdout.trim(), "2", child.stderr)
    })))

  it.effect("the launcher's guess: csv sources the planner splits, with its rules", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const big = join(dir, "big.csv")
      // 12 MiB (sparse): `auto` gives it 2 ranges of at least 5 MiB
      const fd = openSync(big, "w")
      ftruncateSync(fd, 12 * 1024 * 1024)
      closeSync(fd)
      const small = join(dir, "small.csv")
      writeFileSync(small, "a\n1\n")
      const workflow = (source: string, rest = "", sink = "ndjson") =>
        [
          "name: w",
          rest,
          "sources:",
          `  input: ${source}`,
          "destinations:",
          `  out: { type: ${sink}, inputs: [input], config: { path: out } }`
        ].join("\n")
      const csv = (path: string, extra = "") => `{ type: csv, config: { path: ${JSON.stringify(path)} }${extra} }`
      assert.strictEqual(guessRanges(workflow(csv(big)), 8), 2)
      assert.strictEqual(guessRanges(workflow(csv(big)), 1), 0)
      assert.strictEqual(guessRanges(workflow(csv(small)), 8), 0)
      assert.strictEqual(guessRanges(workflow(csv(small, ", parallelism: 3")), 8), 3)
      assert.strictEqual(guessRanges(workflow(csv(small), "execution: { parallelism: 4 }"), 8), 4)
      assert.strictEqual(guessRanges(workflow(csv(big, ", parallelism: 1"), "execution: { parallelism: 4 }"), 8), 0)
      assert.strictEqual(guessRanges(workflow(csv(big), "execution: { parallelism: 1 }"), 8), 0)
      // the CSV bytes go to PostgreSQL's COPY at parallelism 1
      assert.strictEqual(guessRanges(workflow(csv(big), "", "postgres"), 8), 0)
      assert.strictEqual(guessRanges(workflow(`{ type: ndjson, config: { path: ${JSON.stringify(big)} } }`), 8), 0)
      assert.strictEqual(guessRanges(workflow(csv(join(dir, "missing.csv"))), 8), 0)
    })))
})
