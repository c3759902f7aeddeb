/**
 * The configuration of the `ndjson` source and sink: one Schema for both.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { readChecks, readFields } from "../../internal/readOptions.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"

/**
 * The largest `max_depth`: deeper values overflow the stack of the steps that copy or write them
 * (measured on Node 22: `structuredClone`, which carries records to worker threads, fails between
 * 3,000 and 4,000 levels; `JSON.stringify` near 5,000).
 */
const MAX_DEPTH_CEILING = 2000

/**
 * The `ndjson` sink config: `path`, the file to write (one JSON object per line), and
 * `on_error: fail | dead_letter` with `dead_letter: { path } | { to }` for the records it cannot
 * write (a cycle; the kit's {@link DeadLetter.SinkErrorHandlingFields}).
 *
 * @example
 * ```yaml
 * config: { path: out.ndjson }
 * ```
 * @category schemas
 * @since 0.1.0
 */
export const NdjsonConfig = Schema.Struct({
  path: Schema.NonEmptyString.annotate({ description: "The NDJSON file to write (relative to the current directory)" }),
  ...DeadLetter.SinkErrorHandlingFields
}).check(Schema.makeFilter((c) => DeadLetter.checkErrorHandling(c)))

/**
 * The decoded `ndjson` config.
 *
 * @category models
 * @since 0.1.0
 */
export type NdjsonConfig = typeof NdjsonConfig.Type

/**
 * The `ndjson` config as written.
 *
 * @category models
 * @since 0.1.0
 */
export type NdjsonConfigInput = typeof NdjsonConfig.Encoded

/**
 * The `ndjson` source config: `path`, the reading limits shared by file sources
 * (`max_record_bytes`, default 64 MiB; `invalid_utf8`, `error` or `replace`), `max_depth` (objects
 * and arrays nested deeper fail; default 1000) and `big_integers` — how an integer beyond
 * ±(2^53 − 1), which a JavaScript number would round, is read: `error` (default), `bigint` or
 * `string` (its digits). See docs/limits.md. From the DSL (`Ndjson.source({ path, schema })`),
 * `schema` is the Effect Schema each line is decoded with (a line it does not decode fails with a
 * `RecordError` naming `file:line` and the field; fields the Schema does not declare are kept).
 * `on_error: dead_letter` with `dead_letter: { path, max_bytes? }` sets malformed lines aside
 * there instead of failing (exactly-once with checkpoints; docs/limits.md).
 *
 * @example
 * ```yaml
 * config: { path: events.ndjson, big_integers: string }
 * ```
 * @category schemas
 * @since 0.1.0
 */
const isDecoder = (u: unknown): u is Schema.Decoder<object> => Schema.isSchema(u)

export const NdjsonSourceConfig = Schema.Struct({
  path: Schema.NonEmptyString.annotate({ description: "The NDJSON file to read (relative to the current directory)" }),
  ...readFields,
  max_depth: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(MAX_DEPTH_CEILING)).annotate({
      description: "Objects and arrays nested deeper than this fail the record",
      default: 1000
    })
  ),
  big_integers: Schema.optionalKey(Schema.Literals(["error", "bigint", "string"]).annotate({
    description: "An integer beyond ±(2^53 − 1), which a number would round: error, read as a bigint, or as a string of its digits",
    default: "error"
  })),
  schema: Schema.optionalKey(Schema.declare(isDecoder, { expected: "a Schema of the records (DSL only)" }))
}).check(readChecks())

/**
 * The decoded `ndjson` source config.
 *
 * @category models
 * @since 0.1.0
 */
export type NdjsonSourceConfig = typeof NdjsonSourceConfig.Type

/**
 * The `ndjson` source config as written (what `Ndjson.source` takes).
 *
 * @category models
 * @since 0.1.0
 */
export type NdjsonSourceConfigInput = typeof NdjsonSourceConfig.Encoded
