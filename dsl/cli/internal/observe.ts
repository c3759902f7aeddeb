/**
 * The observability options of `dataflare run`: `--http host:port` (metrics, health checks and
 * the dashboard, see `Observability.layer`), `--log-format text|json`, and OTLP traces when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (with or without `--http`).
 */
import { Effect, Layer, Option } from "effect"
import { Flag } from "effect/cli"
import type * as Monitor from "../../../src/Monitor.ts"
import type { ObservabilityError } from "../../../src/Observability.ts"
import type * as Runtime from "../../../src/Runtime.ts"
import type { Engine } from "./engine.ts"
import { type CliExit, ExitCode, reportError } from "./exit.ts"
import { formatCount, rate } from "./summary.ts"

/** `--http host:port`. */
export const http = Flag.String("http").pipe(
  Flag.withDescription(
    "Serve metrics (/metrics, Prometheus text), health checks (/ping, /ready) and the dashboard (/) at host:port while the workflow runs, e.g. 127.0.0.1:4195 (port 0: any free port)"
  ),
  Flag.optional
)

/** `--log-format text|json`. */
export const logFormat = Flag.Literals("log-format", ["text", "json"]).pipe(
  Flag.withDescription("Log lines on stderr as human text (default) or one JSON object a line"),
  Flag.withDefault("text")
)

/** `host:port`, `[v6]:port` or `:port` / `port` (host 127.0.0.1); `undefined` when malformed. */
export const parseAddress = (value: string): { readonly host: string; readonly port: number } | undefined => {
  const match = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d{1,5})$/.exec(value.trim())
  if (match === null) return undefined
  const port = Number(match[3])
  if (port > 65535) return undefined
  const host = match[1] ?? (match[2] !== undefined && match[2] !== "" ? match[2] : "127.0.0.1")
  return { host, port }
}

/**
 * Whether the environment names an OTLP endpoint (then `Observability.layerTracing` decides the
 * rest: `OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER`, a malformed URL); without one it traces nothing.
 */
const tracingConfigured = (env: NodeJS.ProcessEnv): boolean =>
  [env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT].some((v) => v !== undefined && v.trim() !== "")

/**
 * The layer `Runtime.run` runs in: with `--http`, the whole observability layer (its `Monitor`
 * registers the run; the server's address is logged once it listens); without, OTLP tracing
 * from the environment only. A malformed address is a usage error.
 */
export const observabilityLayer = (
  { observability }: Engine,
  address: Option.Option<string>
): Effect.Effect<Layer.Layer<never, ObservabilityError> | Layer.Layer<Monitor.Monitor, ObservabilityError>, CliExit> =>
  Effect.gen(function*() {
    // the module (an HTTP server and client) loads only when something uses it
    if (Option.isNone(address) && !tracingConfigured(process.env)) return Layer.empty
    const Observability = yield* Effect.promise(observability)
    if (Option.isNone(address)) return Observability.layerTracing
    const parsed = parseAddress(address.value)
    if (parsed === undefined) {
      return yield* reportError(`--http takes host:port (e.g. 127.0.0.1:4195), got '${address.value}'`, ExitCode.usage)
    }
    return Observability.layer({
      ...parsed,
      onListen: (url) =>
        Effect.logInfo(`serving ${url}/ — dashboard ${url}/, metrics ${url}/metrics, health ${url}/ping and ${url}/ready`).pipe(
          Effect.annotateLogs({ url, metrics: `${url}/metrics`, ready: `${url}/ready` })
        )
    })
  })

/**
 * Progress as JSON log lines (with `--log-format json`): every `interval` ms, the records read
 * and written, their rates, the fullest queues and the sources' lag as fields.
 */
export const jsonProgress = (interval: number) => {
  let last = { at: 0, read: 0, written: 0 }
  let printedAt = 0
  return (progress: Runtime.Progress): Effect.Effect<void> => {
    if (progress.elapsedMs - printedAt < interval) return Effect.void
    printedAt = progress.elapsedMs
    const read = progress.nodes.filter((n) => n.kind === "source").reduce((s, n) => s + n.recordsOut, 0)
    const written = progress.nodes.filter((n) => n.kind === "sink").reduce((s, n) => s + n.recordsIn, 0)
    const span = progress.elapsedMs - last.at
    const fields = {
      workflow: progress.workflow,
      elapsed_ms: progress.elapsedMs,
      records_in: read,
      records_out: written,
      rate_in: Math.round(rate(read - last.read, span)),
      rate_out: Math.round(rate(written - last.written, span)),
      queues: Object.fromEntries([...progress.queues].map(([node, [size, capacity]]) => [node, { batches: size, capacity }])),
      lag: Object.fromEntries(progress.nodes.flatMap((n) => (n.lag !== undefined ? [[n.id, n.lag]] : [])))
    }
    last = { at: progress.elapsedMs, read, written }
    return Effect.logInfo(`progress: in ${formatCount(read)}, out ${formatCount(written)}`).pipe(Effect.annotateLogs(fields))
  }
}
