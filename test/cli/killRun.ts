/**
 * `dataflare run` as a child process for kill -9 tests: started in a directory with a state
 * directory `state`, SIGKILLed at a given checkpoint id. Shared by the connectors' kill-and-resume
 * tests (brokers, Elasticsearch, MySQL).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdir } from "node:fs/promises"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { bin } from "./support.ts"

/** A running `dataflare run`. */
export interface Running {
  readonly child: ChildProcess
  readonly ended: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }>
}

/** `dataflare run <file> --state-dir state --quiet` in `dir`, SIGKILLed with the scope if still running. */
export const start = (dir: string, file = "wf.yaml", env: { readonly [k: string]: string } = {}): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(bin, ["run", file, "--state-dir", "state", "--quiet"], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", ...env },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let stderr = ""
      child.stderr!.on("data", (data) => (stderr += String(data)))
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
        child.on("close", (code, signal) => resolve({ code, signal, stderr }))
      )
      return { child, ended: Effect.promise(() => done) }
    }),
    ({ child }) => Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
  )

/** The newest checkpoint id in `dir/state` (0 when none). */
export const latestId = (dir: string): Effect.Effect<number> =>
  Effect.promise(async () => {
    let max = 0
    for (const name of await readdir(join(dir, "state")).catch(() => [])) {
      const m = /^chk-(\d+)\.json$/.exec(name)
      if (m !== null) max = Math.max(max, Number(m[1]))
    }
    return max
  })

/** Waits for checkpoint `id` in `dir/state`, then SIGKILLs the run (which must still be running); returns the newest id. */
export const killAt = (dir: string, running: Running, id: number) =>
  Effect.gen(function*() {
    while ((yield* latestId(dir)) < id) {
      if (running.child.exitCode !== null) {
        const ended = yield* running.ended
        return yield* Effect.die(new Error(`the run ended before checkpoint ${id}: ${ended.stderr}`))
      }
      yield* Effect.sleep("5 millis")
    }
    running.child.kill("SIGKILL")
    const ended = yield* running.ended
    assert.strictEqual(ended.signal, "SIGKILL", "killed mid-run")
    return yield* latestId(dir)
  })
