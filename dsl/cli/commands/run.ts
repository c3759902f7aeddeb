/**
 * `dataflare run <workflow.yaml> [--quiet]`: validates and runs a workflow to completion, then
 * prints records in and out per node and the rate. On a terminal, a progress line on stderr
 * shows records read and written while it runs.
 *
 * @since 0.1.0
 */
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import * as Runtime from "../../../src/Runtime.ts"
import { ExitCode, reportDefinitionError, reportError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import { formatCount, formatDuration, rate, renderSummary } from "../internal/summary.ts"
import { load, workflowArgument } from "../internal/workflow.ts"

const quiet = Flag.Boolean("quiet").pipe(
  Flag.withAlias("q"),
  Flag.withDescription("Print nothing on success (errors still go to stderr)"),
  Flag.withDefault(false)
)

/** A one-line progress report, rewritten in place on a terminal. */
const progressLine = (progress: Runtime.Progress): string => {
  const read = progress.nodes.filter((n) => n.kind === "source").reduce((s, n) => s + n.recordsOut, 0)
  const written = progress.nodes.filter((n) => n.kind === "sink").reduce((s, n) => s + n.recordsIn, 0)
  const r = rate(read, progress.elapsedMs)
  return `${formatDuration(progress.elapsedMs)}  ${formatCount(read)} read  ${formatCount(written)} written  ${
    Number.isFinite(r) ? formatCount(r) : "-"
  } records/s`
}

const writeProgress = (progress: Runtime.Progress): Effect.Effect<void> =>
  Effect.sync(() => {
    process.stderr.write(`\r\x1b[K${progressLine(progress)}`)
  })

const clearProgress = Effect.sync(() => {
  process.stderr.write("\r\x1b[K")
})

/**
 * The `run` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = Command.make(
  "run",
  { workflow: workflowArgument, quiet },
  ({ quiet, workflow }) =>
    Effect.gen(function*() {
      const graph = yield* load(workflow)
      const live = !quiet && process.stderr.isTTY === true
      const summary = yield* Runtime.run(graph, live ? { onProgress: writeProgress, progressInterval: 500 } : undefined).pipe(
        live ? Effect.ensuring(clearProgress) : (effect) => effect,
        Effect.catchTag("NodeError", (error) => reportError(error.message, ExitCode.failed))
      )
      if (!quiet) yield* Console.log(renderSummary(summary))
    }).pipe(
      Effect.catchTag("DefinitionError", (error) => reportDefinitionError(error, workflow)),
      provideRegistry
    )
).pipe(
  Command.withShortDescription("Run a workflow and print records in/out per node"),
  Command.withDescription(
    "Run a workflow to completion and print records in/out per node. Exit code 0 on success, 1 when the workflow is invalid, 3 when the run fails."
  ),
  Command.withExamples([
    { command: "dataflare run examples/csv-to-ndjson.yaml", description: "Run a workflow and print its summary" },
    { command: "dataflare run pipeline.yaml --quiet", description: "Run without output unless it fails" }
  ])
)
