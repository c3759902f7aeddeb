/**
 * Exit codes of the `dataflare` CLI, and the error a command fails with once it has printed
 * what went wrong (so the runtime neither prints it again nor adds a stack trace).
 */
import { Console, Data, Effect, Runtime } from "effect"
import { type DefinitionError, escapeControl, formatIssue } from "../../../src/Errors.ts"

/** Process exit codes (documented in docs/cli.md). */
export const ExitCode = {
  /** The command did what was asked. */
  ok: 0,
  /** The workflow is invalid (YAML, unknown type, bad config, unknown input, ...): nothing ran. */
  invalid: 1,
  /** The command line is wrong (unknown command or flag, missing argument). */
  usage: 2,
  /** The workflow started and failed (a node failed). */
  failed: 3,
  /** DataFlare itself could not start (e.g. the connector registry could not be built). */
  internal: 4
} as const

/** The command has reported its failure; the process exits with `code`. */
export class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number }> {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }
  override get [Runtime.errorReported](): boolean {
    return false
  }
}

/** Prints a definition error's issues (one `file:line:col path: message` a line) to stderr. */
export const reportDefinitionError = (error: DefinitionError, file: string): Effect.Effect<never, CliExit> =>
  Effect.gen(function*() {
    // In file order: the loader's and the registry's issues interleave by line.
    const issues = error.issues
      .map((issue, i) => ({ issue, i }))
      .sort((a, b) =>
        (a.issue.location?.line ?? 0) - (b.issue.location?.line ?? 0) ||
        (a.issue.location?.column ?? 0) - (b.issue.location?.column ?? 0) ||
        a.i - b.i
      )
    for (const { issue } of issues) yield* Console.error(escapeControl(formatIssue(issue)))
    const n = error.issues.length
    yield* Console.error(`invalid: ${escapeControl(file)} (${n} ${n === 1 ? "problem" : "problems"})`)
    return yield* new CliExit({ code: ExitCode.invalid })
  })

/** Prints `error: <message>` (control characters escaped) to stderr and exits with `code`. */
export const reportError = (message: string, code: number): Effect.Effect<never, CliExit> =>
  Console.error(`error: ${escapeControl(message)}`).pipe(Effect.andThen(Effect.fail(new CliExit({ code }))))
