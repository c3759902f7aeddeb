/**
 * `dataflare` as a child process for kill -9 tests: started in a directory, SIGKILLed once a
 * given checkpoint id is in its state directory. The one harness of every kill-and-resume test
 * (the CLI's own, PostgreSQL, MySQL, brokers, Elasticsearch).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdir } from "node:fs/promises"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { bin } from "./support.ts"

/** How a run ended: exit code or signal, and what it printed. */
export interface Ended {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A running `dataflare`. */
export interface Running {
  readonly child: ChildProcess
  readonly ended: Effect.Effect<Ended>
}

/** `dataflare <args>` in `dir` with `env` added, SIGKILLed with the scope if still running. */
export const spawnIn = (dir: string, args: ReadonlyArray<string>, env: { readonly [k: string]: string } = {}): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(bin, [...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout!.on("data", (data) => (stdout += String(data)))
      child.stderr!.on("data", (data) => (stderr += String(data)))
      const done = new Promise<Ended>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })))
      return { child, ended: Effect.promise(() => done) }
    }),
    ({ child }) => Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
  )

/** `dataflare run <file> --state-dir state --quiet` in `dir`, SIGKILLed with the scope if still running. */
export const start = (dir: string, file = "wf.yaml", env: { readonly [k: string]: string } = {}): Effect.Effect<Running, never, Scope.Scope> =>
  spawnIn(dir, ["run", file, "--state-dir", "state", "--quiet"], env)

/** The newest checkpoint id in a state directory (0 when none). */
export const latestIn = (stateDir: string): Effect.Effect<number> =>
  Effect.promise(async () => {
    let max = 0
    for (const name of await readdir(stateDir).catch(() => [])) {
      const m = /^chk-(\d+)\.json$/.exec(name)
      if (m !== null) max = Math.max(max, Number(m[1]))
    }
    return max
  })

/** The newest checkpoint id in `dir/state` (0 when none). */
export const latestId = (dir: string): Effect.Effect<number> => latestIn(join(dir, "state"))

/**
 * Waits for checkpoint `id` in the state directory (default `dir/state`), then SIGKILLs the run,
 * which must still be running (the test fails naming what it printed if it ended first); returns
 * the newest id.
 */
export const killAt = (dir: string, running: Running, id: number, stateDir = join(dir, "state")) =>
  Effect.gen(function*() {
    while ((yield* latestIn(stateDir)) < id) {
      if (running.child.exitCode !== null || running.child.signalCode !== null) {
        const ended = yield* running.ended
        return yield* Effect.die(new Error(`the run ended before checkpoint ${id}: ${JSON.stringify(ended)}`))
      }
      yield* Effect.sleep("5 millis")
    }
    running.child.kill("SIGKILL")
    const ended = yield* running.ended
    assert.strictEqual(ended.signal, "SIGKILL", "killed mid-run")
    return yield* latestIn(stateDir)
  })
