/**
 * The config keys every file source shares for reading hostile input safely (`csv`, `ndjson`):
 * one Schema fragment, so YAML, DSL, errors and docs show one name (see docs/limits.md).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** The largest `max_record_bytes` (a JavaScript string holds about 512 MiB of text). */
const MAX_RECORD_BYTES_CEILING = 256 * 1024 * 1024

/**
 * `max_record_bytes`: the largest record (a CSV record, an NDJSON line) in bytes, without its line
 * break — default 64 MiB; a larger one fails with a record error naming `file:line` (an unclosed
 * quote otherwise turns the rest of a file into one field held in memory).
 * `invalid_utf8`: `error` (default: bytes that are not UTF-8 text, or a NUL byte, fail with a record
 * error naming `file:line:column` and the field) or `replace` (each invalid sequence reads as U+FFFD).
 *
 * @category schemas
 * @since 0.1.0
 */
export const readFields = {
  max_record_bytes: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(MAX_RECORD_BYTES_CEILING))
  ),
  invalid_utf8: Schema.optionalKey(Schema.Literals(["error", "replace"]))
}
