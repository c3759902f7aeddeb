/**
 * Where the CLI's log lines go: warnings (a restart, an ignored checkpoint file) and any other
 * message logged through Effect's logger are written to **stderr** as `warning: <message>`, with
 * `--quiet` too, so stdout carries results only (Effect's default logger writes to stdout). On a
 * terminal, the progress line being drawn is cleared first.
 *
 * `dataflare run --log-format json` writes the same lines as JSON objects instead, one a line,
 * still on stderr: `{"time":"...","level":"warning","message":"...", ...annotations}` (see
 * docs/observability.md). {@link LogFormat} tells code that writes to stderr itself (an error
 * report, a progress line) which form to use.
 */
import { Cause, Clock, Console, Context, Effect, Layer, Logger, type LogLevel, References } from "effect"
import { escapeControl } from "./text.ts"

/** The form of stderr lines: `text` (default) or `json`. */
export const LogFormat = Context.Reference<"text" | "json">("dataflare/cli/LogFormat", { defaultValue: () => "text" })

const label = (level: LogLevel.LogLevel): string => {
  switch (level) {
    case "Fatal":
    case "Error":
      return "error"
    case "Warn":
      return "warning"
    default:
      return level.toLowerCase()
  }
}

const text = (part: unknown): string =>
  typeof part === "string" ? part : part instanceof Error ? part.message : JSON.stringify(part) ?? String(part)

/** Writes each log line to stderr, `<level>: <message>`, control characters escaped. */
export const stderrLogger = Logger.make<unknown, void>(({ cause, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const body = parts.map(text).join(" ") + (cause.reasons.length > 0 ? ` (${Cause.pretty(cause)})` : "")
  const clear = process.stderr.isTTY === true ? "\r\x1b[K" : ""
  process.stderr.write(`${clear}${label(logLevel)}: ${escapeControl(body)}\n`)
})

/** The CLI's loggers: {@link stderrLogger} only. */
export const layer: Layer.Layer<never> = Logger.layer([stderrLogger])

/** One JSON line on stderr: time, level, message, then `fields`. */
export const writeJson = (time: Date, level: string, message: string, fields?: Record<string, unknown>): void => {
  process.stderr.write(JSON.stringify({ time: time.toISOString(), level, message, ...fields }) + "\n")
}

/** Writes each log line to stderr as one JSON object (annotations become fields). */
export const jsonLogger = Logger.make<unknown, void>(({ cause, date, fiber, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const fields: Record<string, unknown> = { ...fiber.getRef(References.CurrentLogAnnotations) }
  if (cause.reasons.length > 0) fields.cause = Cause.pretty(cause)
  writeJson(date, label(logLevel), parts.map(text).join(" "), fields)
})

/** The loggers and {@link LogFormat} for a format. */
export const layerFor = (format: "text" | "json"): Layer.Layer<never> =>
  format === "text" ? layer : Layer.mergeAll(Logger.layer([jsonLogger]), Layer.succeed(LogFormat)("json"))

/** Prints an error line on stderr in the current {@link LogFormat}. */
export const printError = (message: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    if ((yield* LogFormat) === "text") return yield* Console.error(`error: ${escapeControl(message)}`)
    writeJson(new Date(yield* Clock.currentTimeMillis), "error", message)
  })
