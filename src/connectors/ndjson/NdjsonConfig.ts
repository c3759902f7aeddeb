/**
 * The configuration of the `ndjson` source and sink: one Schema for both.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The `ndjson` config: `path`, the file to read or write (one JSON object per line).
 *
 * @example
 * ```yaml
 * config: { path: out.ndjson }
 * ```
 * @category schemas
 * @since 0.1.0
 */
export const NdjsonConfig = Schema.Struct({
  path: Schema.NonEmptyString
})

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
