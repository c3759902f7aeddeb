/**
 * Where the CLI's log lines go: warnings (a restart, an ignored checkpoint file) and any other
 * message logged through Effect's logger are written to **stderr** as `warning: <message>`, with
 * `--quiet` too, so stdout carries results only (Effect's default logger writes to stdout). On a
 * terminal, the progress line being drawn is cleared first.
 */
import { Cause, type Layer, Logger, type LogLevel } from "effect"
import { escapeControl } from "./text.ts"

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
