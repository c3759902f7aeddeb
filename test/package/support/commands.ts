/**
 * Runs a command as a child process (no shell) and returns what it printed and how it exited.
 */
import { execFile } from "node:child_process"
import { Effect } from "effect"

/** What a command printed and how it exited. */
export interface Result {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `file` with `args` in `cwd`; never fails (a failure is a non-zero `status`). */
export const exec = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string | undefined>; readonly timeoutMs?: number }
): Effect.Effect<Result> =>
  Effect.callback<Result>((resume) => {
    const child = execFile(
      file,
      [...args],
      {
        cwd: options.cwd,
        env: { ...process.env, NO_COLOR: "1", ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024
      },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resume(Effect.succeed({ status, stdout: String(stdout), stderr: String(stderr) }))
      }
    )
    return Effect.sync(() => void child.kill())
  })

/** `exec`, failing the test with the command's output when it does not exit with 0. */
export const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string | undefined>; readonly timeoutMs?: number }
): Effect.Effect<Result> =>
  Effect.flatMap(exec(file, args, options), (result) =>
    result.status === 0
      ? Effect.succeed(result)
      : Effect.die(new Error(`${file} ${args.join(" ")} (in ${options.cwd}) exited with ${result.status}:\n${result.stdout}\n${result.stderr}`)))
