/**
 * `dataflare checkpoints <workflow.yaml> [--state-dir dir] [--limit n] [--format text|json]`:
 * prints the last checkpoints of a workflow, newest first — id, completion time, duration, full or
 * incremental, final, bytes of operator state per node, source positions — read from the same
 * state directory `dataflare run` uses: `--state-dir`, or `.dataflare/<workflow-name>` under the
 * current directory. Reading takes no lock, so it works while the workflow runs.
 *
 * @since 0.1.0
 */
import { Console, Effect, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import type { CheckpointInfo, SourcePosition } from "../../../src/Checkpoint.ts"
import { engine } from "../internal/engine.ts"
import { ExitCode, reportDefinitionError, reportError } from "../internal/exit.ts"
import { formatCount, formatDuration } from "../internal/summary.ts"
import { load, workflowArgument } from "../internal/workflow.ts"
import { formatFlag } from "../internal/flags.ts"

const stateDir = Flag.String("state-dir").pipe(
  Flag.withDescription("The workflow's state directory (default: .dataflare/<workflow-name>, as for run)"),
  Flag.optional
)

const limit = Flag.Int("limit").pipe(
  Flag.withAlias("n"),
  Flag.filter((n) => n > 0, (n) => `--limit must be a positive integer, got ${n}`),
  Flag.withDescription("How many checkpoints to print, newest first (default 10)"),
  Flag.withDefault(10)
)

const format = formatFlag(["text", "json"], "Output format: text (default) or json (an array, newest first)")

const iso = (ms: number): string => {
  const date = new Date(ms)
  return Number.isFinite(date.getTime()) ? date.toISOString() : String(ms)
}

const formatBytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`)

const formatPosition = (p: SourcePosition): string => `${p.node}[${p.instance}] ${JSON.stringify(p.position)}`

/**
 * A checkpoint as printed by `--format text`: a header line, then its state sizes and source
 * positions, indented.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatText = (c: CheckpointInfo): string => {
  const header = [
    `checkpoint ${c.id}`,
    iso(c.completedAt),
    formatDuration(c.durationMs),
    c.full ? "full" : "incremental",
    ...(c.final ? ["final"] : [])
  ].join("  ")
  const nodes = Object.entries(c.stateBytes)
  const total = nodes.reduce((sum, [, bytes]) => sum + bytes, 0)
  const lines = [header]
  lines.push(
    nodes.length === 0
      ? "  state: none"
      : `  state: ${formatBytes(total)} (${nodes.map(([node, bytes]) => `${node} ${formatBytes(bytes)}`).join(", ")})`
  )
  if (c.positions.length === 0) lines.push("  positions: none")
  else for (const p of c.positions) lines.push(`  position: ${formatPosition(p)}`)
  return lines.join("\n")
}

/**
 * A checkpoint as printed by `--format json`: its metadata, times as ISO strings.
 *
 * @category formatting
 * @since 0.1.0
 */
export const toJson = (c: CheckpointInfo) => ({
  id: c.id,
  workflow: c.workflow,
  startedAt: iso(c.startedAt),
  completedAt: iso(c.completedAt),
  durationMs: c.durationMs,
  full: c.full,
  final: c.final,
  stateBytes: c.stateBytes,
  positions: c.positions
})

/**
 * Builds the `checkpoints` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.1.0
 */
export const command = () =>
  Command.make(
  "checkpoints",
  { workflow: workflowArgument, stateDir, limit, format },
  ({ format, limit, stateDir, workflow }) =>
    Effect.gen(function*() {
      const { FileBackend, postgresBackend } = yield* engine
      const graph = yield* load(workflow)
      const configured = stateDir._tag === "Some" ? undefined : graph.execution.state
      const directory = stateDir._tag === "Some"
        ? stateDir.value
        : configured?.backend === "files" && configured.directory !== undefined
        ? configured.directory
        : FileBackend.directoryFor(graph.name)
      // execution.state: { backend: postgres } lists the PostgreSQL table (see docs/state.md)
      const where = configured?.backend === "postgres" ? `the PostgreSQL state backend` : directory
      const open = configured?.backend === "postgres"
        ? Effect.flatMap(Effect.promise(postgresBackend), (PostgresBackend) =>
          PostgresBackend.make({ url: Redacted.make(configured.connection_string), schema: configured.schema, tablePrefix: configured.table_prefix }))
        : FileBackend.scoped({ directory })
      const checkpoints = yield* Effect.scoped(Effect.flatMap(open, (backend) => backend.list(graph.name, limit))).pipe(
        Effect.catchTag("StateBackendError", (error) => reportError(`checkpoint state: ${error.message}`, ExitCode.failed))
      )
      if (format === "json") {
        yield* Console.log(JSON.stringify(checkpoints.map(toJson), null, 2))
        return
      }
      if (checkpoints.length === 0) {
        yield* Console.log(`no checkpoints in ${where}`)
        return
      }
      yield* Console.log(
        `${graph.name}: ${formatCount(checkpoints.length)} ${checkpoints.length === 1 ? "checkpoint" : "checkpoints"} in ${where}, newest first`
      )
      for (const c of checkpoints) yield* Console.log(formatText(c))
    }).pipe(Effect.catchTag("DefinitionError", (error) => reportDefinitionError(error, workflow)))
).pipe(
  Command.withShortDescription("List a workflow's last checkpoints"),
  Command.withDescription(
    "Print the last checkpoints of a workflow, newest first: id, completion time, duration, full or incremental, final, bytes of operator state per node and source positions. Reads the state directory run uses (--state-dir, or .dataflare/<workflow-name>). Exit code 0, 1 when the workflow file is invalid, 3 when the state cannot be read."
  ),
  Command.withExamples([
    { command: "dataflare checkpoints cdc.yaml", description: "The last 10 checkpoints in .dataflare/<workflow-name>" },
    { command: "dataflare checkpoints cdc.yaml --state-dir /var/lib/dataflare/cdc --limit 3 --format json", description: "The last 3, as JSON" }
  ])
)
