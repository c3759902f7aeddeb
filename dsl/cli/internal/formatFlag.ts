/** The `--format` / `-f` flag the commands that print share: one of `formats`, `text` by default. */
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
