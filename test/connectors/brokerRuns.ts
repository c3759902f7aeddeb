/**
 * `dataflare run` as a child process for the broker tests: started in a directory, killed with
 * SIGKILL once a given checkpoint file exists in its state directory, or stopped with SIGINT
 * (a graceful stop: final checkpoint, exit 0) once its output holds enough lines.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { bin } from "../cli/support.ts"

/** A running `dataflare run`. */
export interface Running {
  readonly child: ChildProcess
  readonly ended: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: string; readonly stderr: string }>
}

/** Starts `dataflare run wf.yaml --state-dir state` in `dir` (SIGKILLed when the scope closes, if still running). */
export const start = (dir: string, env: Record<string, string> = {}): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(bin, ["run", "wf.yaml", "--state-dir", "state"], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout!.on("data", (data) => (stdout += String(data)))
      child.stderr!.on("data", (data) => (stderr += String(data)))
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
      )
      return { child, ended: Effect.promise(() => done) }
    }),
    ({ child }) => Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
  )

/** The newest checkpoint id in `dir/state` (0: none). */
export const latestCheckpoint = (dir: string): Effect.Effect<number> =>
  Effect.promise(async () => {
    let max = 0
    for (const name of await readdir(join(dir, "state")).catch(() => [])) {
      const m = /^chk-(\d+)\.json$/.exec(name)
      if (m !== null) max = Math.max(max, Number(m[1]))
    }
    return max
  })

const alive = (running: Running, what: string) =>
  Effect.gen(function*() {
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      const ended = yield* running.ended
      return yield* Effect.die(new Error(`the run ended before ${what}: ${ended.stderr}`))
    }
  })

/** Waits until checkpoint `id` (at least) exists while the run goes on. */
export const waitCheckpoint = (dir: string, running: Running, id: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    while ((yield* latestCheckpoint(dir)) < id) {
      yield* alive(running, `checkpoint ${id}`)
      yield* Effect.sleep("10 millis")
    }
  })

/** Waits for checkpoint `id` (at least), then SIGKILLs the run; returns the newest checkpoint then. */
export const killAt = (dir: string, running: Running, id: number): Effect.Effect<number> =>
  Effect.gen(function*() {
    yield* waitCheckpoint(dir, running, id)
    running.child.kill("SIGKILL")
    const ended = yield* running.ended
    assert.strictEqual(ended.signal, "SIGKILL", "killed mid-run")
    return yield* latestCheckpoint(dir)
  })

/** The non-empty lines of `dir/file` (none when it does not exist). */
export const linesOf = (dir: string, file: string): Effect.Effect<Array<string>> =>
  Effect.promise(() => readFile(join(dir, file), "utf8").catch(() => "")).pipe(Effect.map((t) => t.split("\n").filter((l) => l.length > 0)))

/**
 * Waits until `dir/file` holds at least `n` lines, then stops the run with SIGINT; returns how it
 * ended. Dies when the file stops growing for `stall` (saying how many lines it holds).
 */
export const stopAfter = (dir: string, running: Running, file: string, n: number, stall = 60_000) =>
  Effect.gen(function*() {
    let seen = -1
    let since = Date.now()
    for (;;) {
      const count = (yield* linesOf(dir, file)).length
      if (count >= n) break
      if (count !== seen) {
        seen = count
        since = Date.now()
      } else if (Date.now() - since > stall) {
        return yield* Effect.die(new Error(`${file} stopped growing at ${count} of ${n} lines`))
      }
      yield* alive(running, `${n} lines in ${file}`)
      yield* Effect.sleep("50 millis")
    }
    running.child.kill("SIGINT")
    return yield* running.ended
  })
