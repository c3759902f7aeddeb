/** Flags several commands share, so that each means the same everywhere: `--format` and `--timeout`. */
import { Flag } from "effect/cli"

/**
 * A `--format` flag (alias `-f`) taking one of `formats` (`text` first: the default), described
 * by `description`.
 */
export const formatFlag = <const Formats extends readonly ["text", ...Array<string>]>(formats: Formats, description: string) =>
  Flag.Literals("format", formats).pipe(
    Flag.withAlias("f"),
    Flag.withDescription(description),
    Flag.withDefault("text")
  )

/**
 * A `--timeout` flag: a positive number of milliseconds, `defaultMs` when not given; `what` says
 * what it bounds ("How long one test may run").
 */
export const timeoutFlag = (what: string, defaultMs: number) =>
  Flag.Int("timeout").pipe(
    Flag.filter((ms) => ms > 0, (ms) => `--timeout must be a positive number of milliseconds, got ${ms}`),
    Flag.withDescription(`${what}, in milliseconds (default ${defaultMs})`),
    Flag.withDefault(defaultMs)
  )
