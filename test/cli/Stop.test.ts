/**
 * Graceful stop: SIGINT to a running `dataflare run` drains, checkpoints, prints the summary and
 * exits 0, and the records written are exactly those the summary counts. A SIGTERM that arrives
 * in the last milliseconds of a run that completed (its summary being printed, the process about
 * to exit) changes nothing: exit 0, every record written (issue 12, item 10).
 */
import { spawn } from "node:child_process"
import { readdir, readFile, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { bin, tempDir } from "./support.ts"

const workflow = `name: endless
sources:
  numbers: { type: generator, config: { count: 1000000000 } }
destinations:
  out: { type: ndjson, inputs: [numbers], config: { path: out.ndjson } }
`

/**
 * Writes the endless workflow to `dir`, starts `dataflare` with `args` there, waits until records
 * are being written, sends SIGINT, and returns the exit code and what it printed.
 */
const interruptWhileWriting = (dir: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* Effect.promise(() => writeFile(join(dir, "wf.yaml"), workflow))
    const child = spawn(bin, [...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += String(chunk)))
    child.stderr.on("data", (chunk) => (stderr += String(chunk)))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
    // wait until records are being written, then ask it to stop
    yield* Effect.promise(() => stat(join(dir, "out.ndjson")).then((s) => s.size)).pipe(
      Effect.catchDefect(() => Effect.succeed(0)),
      Effect.filterOrFail((size) => size > 0),
      Effect.retry(Schedule.spaced("100 millis")),
      Effect.timeout("40 seconds")
    )
    child.kill("SIGINT")
    const code = yield* Effect.promise(() => exited)
    return { code, stdout, stderr }
  })

describe("dataflare run: signals (process)", () => {
  it.live("the first SIGINT stops gracefully: summary, final checkpoint, exit 0", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { code, stdout, stderr } = yield* interruptWhileWriting(dir, ["run", "wf.yaml", "--state-dir", "state"])
      assert.strictEqual(code, 0, stderr)
      assert.match(stderr, /stopping: taking a checkpoint where the run is/)
      const m = /\nout\s+sink\s+ndjson\s+([\d,]+)\s+([\d,]+)\n/.exec(stdout)
      assert.isNotNull(m, stdout)
      const written = Number(m![1].replaceAll(",", ""))
      assert.isAbove(written, 0)
      assert.isBelow(written, 1_000_000_000)
      const lines = (yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))).split("\n").filter((l) => l.length > 0)
      assert.strictEqual(lines.length, written)
      assert.deepStrictEqual(JSON.parse(lines[lines.length - 1]), { id: written - 1 })
      const files = yield* Effect.promise(() => readdir(join(dir, "state")))
      assert.isTrue(files.some((f) => /^chk-\d+\.json$/.test(f)), files.join(", "))
    }))

  it.live("without a state directory, a stop says that no checkpoint is kept and a rerun starts over (it promises no resume)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { code, stdout, stderr } = yield* interruptWhileWriting(dir, ["run", "wf.yaml"])
      assert.strictEqual(code, 0, stderr)
      assert.include(stderr, "no checkpoints are kept (set execution.checkpoint_interval or --state-dir to resume a stopped run), so a rerun starts over")
      assert.notInclude(stderr, "a rerun resumes there")
      assert.include(stdout, "endless: stopped; no checkpoints are kept")
      assert.notInclude(stdout, "run it again to resume")
    }))

  it.live("a SIGTERM while a completed run prints its summary and exits changes nothing: exit 0, every record written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "wf.yaml"),
          `name: small
sources:
  numbers: { type: generator, config: { count: 2000 } }
destinations:
  out: { type: ndjson, inputs: [numbers], config: { path: out.ndjson } }
`
        )
      )
      let landed = 0
      // the window is a few milliseconds of the process's end: a third of the tries hit it before the fix
      for (let attempt = 0; attempt < 12; attempt++) {
        const child = spawn(bin, ["run", "wf.yaml", "--state-dir", "state", "--from-scratch"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
        let stdout = ""
        let stderr = ""
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.on("exit", (code, signal) => resolve({ code, signal }))
        )
        // the first output is the summary: the run has completed; signal at once, once
        child.stdout.on("data", (chunk) => {
          if (stdout === "" && child.exitCode === null && child.signalCode === null) {
            landed += 1
            child.kill("SIGTERM")
          }
          stdout += String(chunk)
        })
        child.stderr.on("data", (chunk) => (stderr += String(chunk)))
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        const { code, signal } = yield* Effect.promise(() => exited)
        assert.deepStrictEqual({ code, signal }, { code: 0, signal: null }, stderr)
        assert.match(stdout, /small: 2,000 records in/)
        const lines = (yield* Effect.promise(() => readFile(join(dir, "out.ndjson"), "utf8"))).split("\n").filter((l) => l.length > 0)
        assert.strictEqual(lines.length, 2000)
      }
      // the signal reached a live process at least once (else this test checked nothing)
      assert.isAbove(landed, 0)
    }))
})
