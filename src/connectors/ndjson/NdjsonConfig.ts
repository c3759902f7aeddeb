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

const isDecoder = (u: unknown): u is Schema.Decoder<object> => Schema.isSchema(u)

/**
 * The `ndjson` source config: {@link NdjsonConfig} and, from the DSL (`Ndjson.source({ path,
 * schema })`), the Schema each line is decoded with (a line it does not decode fails with a
 * `RecordError` naming `file:line` and the field; fields the Schema does not declare are kept).
 *
 * @category schemas
 * @since 0.1.0
 */
export const NdjsonSourceConfig = Schema.Struct({
  ...NdjsonConfig.fields,
  schema: Schema.optionalKey(Schema.declare(isDecoder, { expected: "a Schema of the records (DSL only)" }))
})

/**
 * The decoded `ndjson` source config.
 *
 * @category models
 * @since 0.1.0
 */
export type NdjsonSourceConfig = typeof NdjsonSourceConfig.Type
