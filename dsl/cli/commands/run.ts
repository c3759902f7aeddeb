/**
 * `dataflare run <workflow.yaml> [--quiet] [--state-dir <dir> | --state <postgres-url>] [--from-scratch] [--drain] [--drop-state <node>]... [--http host:port] [--log-format text|json]`:
 * validates and runs a workflow to completion, then prints records in and out per node and the
 * rate. While it runs, stderr shows progress — records in and out with their rates, elapsed time,
 * the fullest queues (backpressure) and the lag of sources that measure it (CDC) — as one line
 * rewritten in place on a terminal, or a
 * plain line every 10 s otherwise (`DATAFLARE_PROGRESS_INTERVAL_MS` changes it; `--quiet`:
 * none). SIGINT or SIGTERM stops it gracefully: a checkpoint of everything as it is (open windows
 * and partial aggregates included), the summary, exit 0; the next run resumes there. With
 * `--drain` a signal ends the inputs instead: windows fire, aggregates emit their totals, and the
 * run completes.
 *
 * With `--http host:port` the run serves `/metrics`, `/ping`, `/ready` and the dashboard `/`
 * (see docs/observability.md); `--log-format json` makes every stderr line a JSON object; OTLP
 * traces go to `OTEL_EXPORTER_OTLP_ENDPOINT` when it is set.
 *
 * Checkpoints go to PostgreSQL with `--state postgres://...`, to a state directory with
 * `--state-dir`, else where `execution.state` says, else to a state directory when the workflow
 * sets `execution.checkpoint_interval` (`.dataflare/<workflow-name>`), so a rerun resumes from the
 * last checkpoint; otherwise they stay in memory for the run.
 *
 * @since 0.1.0
 */
import { Console, Effect, Layer, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import type * as Runtime from "../../../src/Runtime.ts"
import type { WorkflowGraph } from "../../../src/WorkflowGraph.ts"
import { type Engine, engine } from "../internal/engine.ts"
import { ExitCode, reportDefinitionError, reportError } from "../internal/exit.ts"
import { provideRegistry } from "../internal/registry.ts"
import * as CliLog from "../internal/log.ts"
import { http, jsonProgress, logFormat, observabilityLayer } from "../internal/observe.ts"
import { restate, stopRequested, whileArmed } from "../internal/signals.ts"
import { formatCount, formatDuration, formatLag, rate, recordsRead, renderSummary } from "../internal/summary.ts"
import { load, workflowArgument } from "../internal/workflow.ts"

const quiet = Flag.Boolean("quiet").pipe(
  Flag.withAlias("q"),
  Flag.withDescription("Print nothing on success (errors still go to stderr)"),
  Flag.withDefault(false)
)

const stateDir = Flag.String("state-dir").pipe(
  Flag.withDescription(
    "Keep checkpoints in this directory and resume from its latest one (default with checkpoint_interval: .dataflare/<workflow-name>)"
  ),
  Flag.optional
)

const state = Flag.String("state").pipe(
  Flag.withDescription(
    "Keep checkpoints in PostgreSQL (postgres://user@host/db), shared by several processes; overrides execution.state (see docs/state.md)"
  ),
  Flag.optional
)

const fromScratch = Flag.Boolean("from-scratch").pipe(
  Flag.withDescription("Ignore and clear the workflow's checkpoints: read every source from the start"),
  Flag.withDefault(false)
)

const drain = Flag.Boolean("drain").pipe(
  Flag.withDescription(
    "On SIGINT/SIGTERM, end the inputs instead of checkpointing where the run is: windows fire, aggregates emit their totals, the run completes"
  ),
  Flag.withDefault(false)
)

const dropState = Flag.String("drop-state").pipe(
  Flag.withDescription(
    "Start this stateful node's state over while everything else resumes from the checkpoint (after changing it in a way its state cannot follow, or to forget a removed node's state); repeatable"
  ),
  Flag.atLeast(0)
)

const STOP_MESSAGE = "stopping: taking a checkpoint where the run is (a rerun resumes there; --drain finishes the inputs instead)"
/** The stop message of a run that keeps no checkpoints (no state directory or backend). */
const UNKEPT_STOP_MESSAGE =
  "stopping where the run is; no checkpoints are kept (set execution.checkpoint_interval or --state-dir to resume a stopped run), so a rerun starts over; --drain finishes the inputs instead"
const DRAIN_MESSAGE = "stopping: draining — sources end, windows fire, and a final checkpoint completes the run"

/**
 * A one-line progress report: elapsed time, records read and written with their rates over the
 * last interval, and the fullest queues (a full queue is backpressure: the node after it is the
 * bottleneck).
 */
const progressReporter = () => {
  let last = { at: 0, read: 0, written: 0 }
  return (progress: Runtime.Progress): string => {
    const read = progress.nodes.filter((n) => n.kind === "source").reduce((s, n) => s + n.recordsOut, 0)
    const written = progress.nodes.filter((n) => n.kind === "sink").reduce((s, n) => s + n.recordsIn, 0)
    const span = progress.elapsedMs - last.at
    const rateIn = rate(read - last.read, span)
    const rateOut = rate(written - last.written, span)
    last = { at: progress.elapsedMs, read, written }
    const queues = [...progress.queues]
      .filter(([, [size]]) => size > 0)
      .sort((a, b) => b[1][0] / b[1][1] - a[1][0] / a[1][1])
      .slice(0, 4)
      .map(([node, [size, capacity]]) => `${node} ${size}/${capacity}`)
    const show = (r: number) => (Number.isFinite(r) ? formatCount(r) : "-")
    const lags = progress.nodes.flatMap((n) => (n.lag !== undefined ? [`${n.id} ${formatLag(n.lag)}`] : []))
    return `${formatDuration(progress.elapsedMs)}  in ${formatCount(read)} (${show(rateIn)}/s)  out ${formatCount(written)} (${
      show(rateOut)
    }/s)  queues ${queues.length > 0 ? queues.join(", ") : "empty"}${lags.length > 0 ? `  lag ${lags.join(", ")}` : ""}`
  }
}

/** On a terminal: one line rewritten in place every 0.5 s. */
const terminalProgress = () => {
  const line = progressReporter()
  return (progress: Runtime.Progress): Effect.Effect<void> =>
    Effect.sync(() => {
      process.stderr.write(`\r\x1b[K${line(progress)}`)
    })
}

/**
 * Not on a terminal (logs, CI): a plain line every `interval` ms. The runtime also reports once at
 * the end; that report is skipped when it comes less than an interval after the last line (the
 * summary follows anyway), so a short run prints no progress at all.
 */
const logProgress = (interval: number) => {
  const line = progressReporter()
  let printedAt = 0
  return (progress: Runtime.Progress): Effect.Effect<void> =>
    Effect.sync(() => {
      if (progress.elapsedMs - printedAt < interval) return
      printedAt = progress.elapsedMs
      process.stderr.write(`[dataflare] ${progress.workflow}: ${line(progress)}\n`)
    })
}

const clearProgress = Effect.sync(() => {
  process.stderr.write("\r\x1b[K")
})

/**
 * The durable state backend to run with, if any (see the module doc): `--state` (PostgreSQL) or
 * `--state-dir`, else `execution.state`, else a state directory when the workflow checkpoints.
 */
const stateLayer = ({ FileBackend, postgresBackend }: Engine, graph: WorkflowGraph, dir: string | undefined, url: string | undefined) => {
  // the PostgreSQL backend (and its driver) loads only when the run uses it
  const postgres = (options: Parameters<PostgresBackendModule["layer"]>[0]) =>
    Layer.unwrap(Effect.map(Effect.promise(postgresBackend), (m) => m.layer(options)))
  if (url !== undefined) return postgres({ url: Redacted.make(url) })
  if (dir !== undefined) return FileBackend.layer({ directory: dir })
  const configured = graph.execution.state
  if (configured?.backend === "postgres") {
    return postgres({
      url: Redacted.make(configured.connection_string),
      schema: configured.schema,
      tablePrefix: configured.table_prefix
    })
  }
  if (configured?.backend === "files") return FileBackend.layer(configured.directory !== undefined ? { directory: configured.directory } : {})
  return graph.execution.checkpoint_interval !== undefined ? FileBackend.layer() : Layer.empty
}

type PostgresBackendModule = typeof import("../../../src/backends/PostgresBackend.ts")

/**
 * Builds the `run` command (Cli.ts builds only the subcommands a command line needs).
 *
 * @category commands
 * @since 0.1.0
 */
export const command = () =>
  Command.make(
  "run",
  { workflow: workflowArgument, quiet, stateDir, state, fromScratch, drain, dropState, http, logFormat },
  ({ drain, dropState, fromScratch, http, logFormat, quiet, state, stateDir, workflow }) =>
    Effect.gen(function*() {
      const modules = yield* engine
      const graph = yield* load(workflow)
      // without a state directory or backend nothing is kept: a stop must not promise a resume
      const kept = stateDir._tag === "Some" || state._tag === "Some" || graph.execution.state !== undefined || graph.execution.checkpoint_interval !== undefined
      if (!kept && !drain) restate(UNKEPT_STOP_MESSAGE)
      if (state._tag === "Some" && stateDir._tag === "Some") {
        return yield* reportError("--state and --state-dir both say where the checkpoints go: give one", ExitCode.invalid)
      }
      if (state._tag === "Some" && !/^postgres(ql)?:\/\//.test(state.value)) {
        return yield* reportError("--state takes a PostgreSQL connection string (postgres://user@host:port/database); a directory goes to --state-dir", ExitCode.invalid)
      }
      const observability = yield* observabilityLayer(modules, http)
      const live = !quiet && process.stderr.isTTY === true && logFormat === "text"
      const logInterval = Number(process.env.DATAFLARE_PROGRESS_INTERVAL_MS ?? 10_000)
      const progress = quiet
        ? {}
        : logFormat === "json"
        ? { onProgress: jsonProgress(logInterval), progressInterval: logInterval }
        : live
        ? { onProgress: terminalProgress(), progressInterval: 500 }
        : { onProgress: logProgress(logInterval), progressInterval: logInterval }
      const summary = yield* modules.Runtime.run(graph, {
        stop: stopRequested,
        drain,
        fromScratch,
        dropState,
        ...progress
      }).pipe(
        live ? Effect.ensuring(clearProgress) : (effect) => effect,
        Effect.provide(
          stateLayer(modules, graph, stateDir._tag === "Some" ? stateDir.value : undefined, state._tag === "Some" ? state.value : undefined)
        ),
        Effect.provide(observability),
        Effect.catchTag("ObservabilityError", (error) => reportError(`cannot serve observability: ${error.message}`, ExitCode.failed)),
        Effect.catchTag("NodeError", (error) => reportError(error.message, ExitCode.failed)),
        Effect.catchTag("RestoreError", (error) => reportError(error.message, ExitCode.failed)),
        Effect.catchTag("StateBackendError", (error) => reportError(`checkpoint state (${error.backend} backend): ${error.message}`, ExitCode.failed))
      )
      if (quiet) return
      const resumed = summary.resumedFrom
      if (resumed?.complete === true && recordsRead(summary) === 0 && summary.stopped === undefined) {
        yield* Console.log(
          `${summary.workflow}: already complete at checkpoint ${resumed.checkpoint}; nothing new to read (--from-scratch reads every input again)`
        )
        return
      }
      yield* Console.log(renderSummary(summary))
      if (summary.stopped !== undefined) {
        yield* Console.log(
          kept
            ? `${summary.workflow}: stopped at checkpoint ${summary.stopped.checkpoint}; run it again to resume from there`
            : `${summary.workflow}: stopped; no checkpoints are kept (set execution.checkpoint_interval or --state-dir), so a rerun starts over`
        )
      }
    }).pipe(
      (effect) =>
        whileArmed(
          drain ? DRAIN_MESSAGE : STOP_MESSAGE,
          effect,
          logFormat === "json" ? (message) => CliLog.writeJson(new Date(), "warning", message) : undefined
        ),
      Effect.catchTag("DefinitionError", (error) => reportDefinitionError(error, workflow)),
      provideRegistry,
      Effect.provide(CliLog.layerFor(logFormat))
    )
).pipe(
  Command.withShortDescription("Run a workflow and print records in/out per node"),
  Command.withDescription(
    "Run a workflow to completion and print records in/out per node. Exit code 0 on success, 1 when the workflow is invalid, 3 when the run fails or is refused (another instance running, changed inputs or definition). SIGINT/SIGTERM stops gracefully at a checkpoint a rerun resumes from (--drain: finish the inputs instead; a second signal aborts)."
  ),
  Command.withExamples([
    { command: "dataflare run examples/csv-to-ndjson.yaml", description: "Run a workflow and print its summary" },
    { command: "dataflare run pipeline.yaml --quiet", description: "Run without output unless it fails" },
    { command: "dataflare run cdc.yaml --state-dir /var/lib/dataflare/cdc", description: "Resume from the last checkpoint in a state directory" },
    { command: "dataflare run cdc.yaml --http 127.0.0.1:4195 --log-format json", description: "Serve metrics, health checks and the dashboard; log JSON lines" }
  ])
)
