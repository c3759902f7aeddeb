/**
 * `dataflare check <workflow.yaml> [--timeout ms]`: validates a workflow (as `validate` does),
 * then runs every source's and sink's connection test concurrently and prints one line per
 * connector: `ok` with the time it took, or `error` with why. Exit code 0 when every connector
 * answered, 3 when any did not, 1 when the workflow is invalid.
 *
 * Connection strings are `Redacted` in connector configs; as a second line of defence, any
 * `scheme://user:password@` credentials that still appear in an error message are masked.
 *
 * @since 0.1.0
 */
import { Console, Effect, Fiber, Option } from "effect"
import { Command } from "effect/cli"
import type { CheckResult } from "../../../src/Runtime.ts"
import { engine } from "../internal/engine.ts"
import { ExitCode, reportDefinitionError, reportError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import { formatDuration } from "../internal/summary.ts"
import { load, workflowArgument } from "../internal/workflow.ts"
import { escapeControl } from "../internal/text.ts"
import { timeoutFlag } from "../internal/flags.ts"

const timeout = timeoutFlag("How long each connector may take to answer", 10_000)

/**
 * Masks credentials embedded in URLs (`postgres://user:secret@host` → `postgres://user:***@host`)
 * and `password=...` key/value pairs (libpq style) in a message.
 *
 * @category formatting
 * @since 0.1.0
 */
export const maskSecrets = (message: string): string =>
  message
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, "$1:***@")
    .replace(/(password\s*=\s*)('[^']*'|\S+)/gi, "$1***")

/**
 * Runs `effect` on a detached fiber and waits at most `ms` for it; past that, `onTimeout` runs
 * without waiting for the fiber to stop (it is interrupted in the background). A connector whose
 * connect cannot be interrupted (a server that accepts TCP connections but never answers) then
 * cannot hang the command: the process exits with the command's failure.
 *
 * @category utils
 * @since 0.1.0
 */
export const withDeadline = <A, E, R, E2>(
  effect: Effect.Effect<A, E, R>,
  ms: number,
  onTimeout: Effect.Effect<never, E2>
): Effect.Effect<A, E | E2, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkDetach(effect)
    const result = yield* Effect.timeoutOption(Fiber.join(fiber), ms)
    if (Option.isSome(result)) return result.value
    yield* Effect.forkDetach(Fiber.interrupt(fiber))
    return yield* onTimeout
  })

/** Extra time `check` gives `Runtime.check` beyond the per-connector timeout before giving up. */
const GRACE_MS = 2_000

/**
 * One line of `dataflare check` output for a connector's result.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatResult = (result: CheckResult): string => {
  const name = `${result.node} (${result.type}, ${result.kind})`
  return result.ok
    ? `ok    ${name}  ${formatDuration(result.durationMs)}`
    : `error ${name}: ${maskSecrets(result.error ?? "failed")}`
}

/**
 * Builds the `check` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.1.0
 */
export const command = () =>
  Command.make(
  "check",
  { workflow: workflowArgument, timeout },
  ({ timeout, workflow }) =>
    Effect.gen(function*() {
      const { Runtime } = yield* engine
      const graph = yield* load(workflow)
      const results = yield* withDeadline(
        Runtime.check(graph, { timeoutMs: timeout }),
        timeout + GRACE_MS,
        reportError(`the connection checks did not finish within ${timeout + GRACE_MS} ms (a connector did not give up at --timeout)`, ExitCode.failed)
      )
      for (const result of results) yield* Console.log(escapeControl(formatResult(result)))
      const failed = results.filter((r) => !r.ok).length
      if (failed > 0) {
        return yield* reportError(
          `${failed} of ${results.length} ${results.length === 1 ? "connector" : "connectors"} failed the connection check`,
          ExitCode.failed
        )
      }
    }).pipe(
      Effect.catchTag("DefinitionError", (error) => reportDefinitionError(error, workflow)),
      provideRegistry
    )
).pipe(
  Command.withShortDescription("Test every source's and sink's connection"),
  Command.withDescription(
    "Validate a workflow, then test the connection of every source and sink (files exist and are readable, databases answer, tables exist), concurrently, and print one line per connector. Exit code 0 when all are ok, 3 when any is not, 1 when the workflow is invalid."
  ),
  Command.withExamples([
    { command: "dataflare check examples/csv-to-ndjson.yaml", description: "Test the connectors of a workflow" },
    { command: "dataflare check pipeline.yaml --timeout 2000", description: "Give each connector at most 2 s" }
  ])
)
