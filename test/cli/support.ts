/**
 * Runs `./bin/dataflare` as a real child process, and makes temporary directories for the
 * workflow files and data of a test.
 */
import { execFile } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, type Scope } from "effect"

/** The launcher under test. */
export const bin = resolve(import.meta.dirname, "../../bin/dataflare")

/** What a CLI invocation printed and how it exited. */
export interface CliResult {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI with `args` in `cwd`, with extra environment variables. */
export const cli = (
  args: ReadonlyArray<string>,
  options?: { readonly cwd?: string; readonly env?: Record<string, string> }
): Effect.Effect<CliResult> =>
  Effect.callback<CliResult>((resume) => {
    execFile(
      bin,
      [...args],
      { cwd: options?.cwd ?? tmpdir(), env: { ...process.env, NO_COLOR: "1", ...options?.env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resume(Effect.succeed({ status: code, stdout: String(stdout), stderr: String(stderr) }))
      }
    )
  })

/** A temporary directory, removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "dataflare-cli-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)
