/**
 * The config keys every file source shares for reading hostile input safely (`csv`, `ndjson`):
 * one Schema fragment, so YAML, DSL, errors and docs show one name (see docs/limits.md).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as DeadLetter from "../connectors/kit/DeadLetter.ts"

/** The largest `max_record_bytes` (a JavaScript string holds about 512 MiB of text). */
const MAX_RECORD_BYTES_CEILING = 256 * 1024 * 1024

/**
 * `max_record_bytes`: the largest record (a CSV record, an NDJSON line) in bytes, without its line
 * break — default 64 MiB; a larger one fails with a record error naming `file:line` (an unclosed
 * quote otherwise turns the rest of a file into one field held in memory).
 * `oversize`: `fail` (default) or `dead_letter` — a larger record is skipped (its text dropped as it
 * is read, so it costs no memory) and its place (`file`, `line`, `offset`) and first characters
 * are appended to `dead_letter.path` as NDJSON, up to `dead_letter.max_bytes` (default 1 GiB).
 * `on_error`: `fail` (default) or `dead_letter` — a malformed record (a line that is not JSON or
 * not an object, a CSV syntax error or wrong field count, a typed field that does not convert) is
 * skipped and appended to `dead_letter.path` with its place, reason and text (the kit's envelope).
 * `invalid_utf8`: `error` (default: bytes that are not UTF-8 text, or a NUL byte, fail with a record
 * error naming `file:line:column` and the field) or `replace` (each invalid byte reads as U+FFFD).
 *
 * @category schemas
 * @since 0.1.0
 */
export const readFields = {
  max_record_bytes: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(MAX_RECORD_BYTES_CEILING)).annotate({
      description: "The largest record (a CSV record, an NDJSON line) in bytes, line break excluded; a larger one is handled as `oversize` says",
      default: 64 * 1024 * 1024
    })
  ),
  oversize: Schema.optionalKey(DeadLetter.OnError.annotate({
    description: "What a record larger than max_record_bytes does: fail the run naming file:line, or go to dead_letter.path",
    default: "fail"
  })),
  on_error: Schema.optionalKey(DeadLetter.OnError.annotate({
    description: "What a malformed record (not JSON, not an object, a field that does not convert, a CSV syntax error) does: fail the run naming file:line, or go with its reason and text to dead_letter.path",
    default: "fail"
  })),
  dead_letter: Schema.optionalKey(DeadLetter.DeadLetterConfig),
  invalid_utf8: Schema.optionalKey(Schema.Literals(["error", "replace"]).annotate({
    description: "Bytes that are not UTF-8 text (or a NUL byte): error naming file:line:column, or replace each with U+FFFD",
    default: "error"
  }))
}

/**
 * The check of {@link readFields}: `oversize: dead_letter` and `on_error: dead_letter` need
 * `dead_letter`, and `dead_letter` is only used by them.
 *
 * @category schemas
 * @since 0.1.0
 */
export const readChecks = () =>
  Schema.makeFilter((c: {
    readonly oversize?: "fail" | "dead_letter"
    readonly on_error?: "fail" | "dead_letter"
    readonly dead_letter?: { readonly path: string }
  }) =>
    c.oversize === "dead_letter" && c.dead_letter === undefined
      ? { path: ["dead_letter"], issue: "oversize: dead_letter needs dead_letter: { path }" }
      : c.on_error === "dead_letter" && c.dead_letter === undefined
      ? { path: ["dead_letter"], issue: "on_error: dead_letter needs dead_letter: { path }" }
      : c.oversize !== "dead_letter" && c.on_error !== "dead_letter" && c.dead_letter !== undefined
      ? { path: ["dead_letter"], issue: "dead_letter is where oversize: dead_letter and on_error: dead_letter write; set one of them, or remove dead_letter" }
      : true
  )
