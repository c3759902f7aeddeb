/**
 * Watching a running workflow: Prometheus metrics, health checks, a live dashboard and OTLP
 * traces, as one Layer.
 *
 * `Observability.layer({ port: 4195 })` serves, on one HTTP server:
 * `/metrics` (Prometheus text), `/ping` (liveness), `/ready` (readiness, naming what it waits
 * for), `/api/runs` (JSON) and `/` (the dashboard: the workflow's graph, throughput charts,
 * queue fill, checkpoints, errors and lag). It also provides the {@link Monitor} every
 * `Runtime.run` in its scope registers with, and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set,
 * Effect's OTLP tracer (spans for checkpoints, connector open and commit, and sampled batches).
 * `dataflare run --http 127.0.0.1:4195` uses it. Names and labels: docs/observability.md.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Builtins, Observability, Runtime } from "dataflare"
 *
 * const program = Runtime.run(graph).pipe(
 *   Effect.provide([Builtins.layer, Observability.layer({ host: "127.0.0.1", port: 4195 })])
 * )
 * ```
 * @since 0.2.0
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { routes } from "./internal/observability/routes.ts"
import { otlpTracer, tracingSettings } from "./internal/observability/tracing.ts"
import * as Monitor from "./Monitor.ts"

/**
 * The observability layer could not start: the HTTP address could not be bound, or an
 * `OTEL_*` setting is malformed. `setting` names what to change.
 *
 * @category errors
 * @since 0.2.0
 */
export class ObservabilityError extends Schema.TaggedError<ObservabilityError>()("ObservabilityError", {
  /** What was refused: `http 127.0.0.1:4195`, `OTEL_EXPORTER_OTLP_ENDPOINT`, ... */
  setting: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.setting}: ${this.reason}`
  }
}

/**
 * Where the HTTP server listens.
 *
 * @category models
 * @since 0.2.0
 */
export interface HttpOptions {
  /** Default `127.0.0.1`: only this machine. Use `0.0.0.0` to serve every interface. */
  readonly host?: string | undefined
  /** `0` picks a free port (see `onListen`). */
  readonly port: number
  /** Told the server's URL once it listens (e.g. `http://127.0.0.1:4195`). */
  readonly onListen?: ((url: string) => Effect.Effect<void>) | undefined
}

/**
 * The HTTP server alone (metrics, health, API, dashboard), over a {@link Monitor} provided from
 * outside.
 *
 * @category layers
 * @since 0.2.0
 */
export const layerHttp = (options: HttpOptions): Layer.Layer<never, ObservabilityError, Monitor.Monitor> => {
  const host = options.host ?? "127.0.0.1"
  const server = NodeHttpServer.layer(createServer, { host, port: options.port })
  const listening = Layer.effectDiscard(
    HttpServer.addressFormattedWith((url) => options.onListen?.(url) ?? Effect.void)
  )
  return Layer.mergeAll(
    HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }),
    listening
  ).pipe(
    Layer.provide(server),
    Layer.catchTag("ServeError", (error): Layer.Layer<never, ObservabilityError> =>
      Layer.effectDiscard(Effect.fail(
        new ObservabilityError({
          setting: `http ${host}:${options.port}`,
          reason: `cannot listen: ${describe(error.cause)} (choose another address or port)`
        })
      )))
  )
}

/**
 * OTLP trace export when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
 * is set, nothing otherwise. Spans: `dataflare.checkpoint`, `dataflare.source.open`,
 * `dataflare.source.commit`, `dataflare.sink.open`, `dataflare.sink.commit` and
 * `dataflare.batch` (at most one per sink instance per second).
 *
 * @category layers
 * @since 0.2.0
 */
export const layerTracing: Layer.Layer<never, ObservabilityError> = Layer.unwrap(
  Effect.map(tracingSettings, (settings) => (settings === undefined ? Layer.empty : otlpTracer(settings))).pipe(
    Effect.mapError((e) => new ObservabilityError({ setting: e.setting, reason: e.reason }))
  )
)

/**
 * Everything: the {@link Monitor}, the HTTP server and OTLP tracing from the environment.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (options: HttpOptions): Layer.Layer<Monitor.Monitor, ObservabilityError> =>
  Layer.mergeAll(layerHttp(options), layerTracing).pipe(Layer.provideMerge(Monitor.layer))

const describe = (cause: unknown): string => {
  if (cause !== null && typeof cause === "object" && "code" in cause && typeof cause.code === "string") {
    if (cause.code === "EADDRINUSE") return "the address is in use by another process"
    if (cause.code === "EADDRNOTAVAIL") return "the address is not one of this machine's"
    if (cause.code === "EACCES") return "permission denied (ports below 1024 need privileges)"
    return cause.code
  }
  return cause instanceof Error ? cause.message : String(cause)
}
