/**
 * OTLP trace export configured from the environment, as OpenTelemetry SDKs read it:
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is), else `OTEL_EXPORTER_OTLP_ENDPOINT` with
 * `/v1/traces` appended; `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,...`); `OTEL_SERVICE_NAME`
 * (default `dataflare`); `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off.
 * Nothing set: no exporter, and spans stay in memory with Effect's native tracer.
 *
 * Why not `OtlpTracer.layerFromConfig`: it exports only when `OTEL_TRACES_EXPORTER` lists `otlp`,
 * while the OpenTelemetry specification makes `otlp` the default, so a user who sets only the
 * endpoint (the common case) would get nothing. The exporter itself is Effect's (`OtlpTracer`,
 * JSON over HTTP through `fetch`).
 */
import { Config, Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"

/** Why the tracing settings were refused. */
export interface TracingSettingError {
  readonly setting: string
  readonly reason: string
}

/** The trace endpoint and options from the environment, `undefined` when tracing is off. */
export const tracingSettings = Effect.gen(function*() {
  const env = yield* Config.all({
    disabled: Config.option(Config.String("OTEL_SDK_DISABLED")),
    exporter: Config.option(Config.String("OTEL_TRACES_EXPORTER")),
    traces: Config.option(Config.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
    base: Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT")),
    headers: Config.option(Config.String("OTEL_EXPORTER_OTLP_HEADERS")),
    service: Config.option(Config.String("OTEL_SERVICE_NAME"))
  })
  if (Option.getOrUndefined(env.disabled)?.trim().toLowerCase() === "true") return undefined
  const exporters = Option.getOrElse(env.exporter, () => "otlp").split(",").map((e) => e.trim().toLowerCase())
  if (!exporters.includes("otlp")) return undefined
  const setting = Option.isSome(env.traces) ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT"
  const raw = Option.getOrUndefined(env.traces) ?? Option.getOrUndefined(env.base)
  if (raw === undefined || raw.trim() === "") return undefined
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return yield* Effect.fail<TracingSettingError>({ setting, reason: `'${raw}' is not a URL (expected e.g. http://127.0.0.1:4318)` })
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return yield* Effect.fail<TracingSettingError>({ setting, reason: `'${raw}' is not an http(s) URL (OTLP over HTTP is supported, gRPC is not)` })
  }
  if (Option.isNone(env.traces)) url.pathname = `${url.pathname.replace(/\/$/, "")}/v1/traces`
  const headers: Record<string, string> = {}
  for (const pair of Option.getOrElse(env.headers, () => "").split(",")) {
    const eq = pair.indexOf("=")
    if (eq > 0) headers[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim())
  }
  return { url: url.toString(), headers, serviceName: Option.getOrElse(env.service, () => "dataflare") }
}).pipe(
  Effect.catchTag("ConfigError", (error) => Effect.fail<TracingSettingError>({ setting: "OTEL_*", reason: error.message }))
)

/** Effect's OTLP tracer for the given settings (JSON over HTTP, through `fetch`). */
export const otlpTracer = (settings: { readonly url: string; readonly headers: Record<string, string>; readonly serviceName: string }) =>
  OtlpTracer.layer({
    url: settings.url,
    headers: settings.headers,
    resource: { serviceName: settings.serviceName },
    exportInterval: "1 second"
  }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
