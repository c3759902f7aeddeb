/**
 * The `ndjson` connector: a source and sink of newline-delimited JSON (see
 * docs/connectors/ndjson.md).
 *
 * @example
 * ```ts
 * import { Ndjson } from "dataflare/dsl"
 * const events = Ndjson.source<{ readonly id: number; readonly kind: string }>({ path: "events.ndjson" })
 * const out = Ndjson.sink({ path: "out.ndjson" })
 * ```
 * @since 0.1.0
 */
import type { Schema } from "effect"
import type { Definition } from "../../Registry.ts"
import * as Spec from "../../Spec.ts"
import type { NdjsonConfigInput, NdjsonSourceConfigInput } from "./NdjsonConfig.ts"
import { NdjsonSink } from "./NdjsonSink.ts"
import { NdjsonSource } from "./NdjsonSource.ts"

/** @since 0.1.0 */
export * as NdjsonConfig from "./NdjsonConfig.ts"

/**
 * The config Schema shared by the `ndjson` source and sink.
 *
 * @category schemas
 * @since 0.1.0
 */
export { NdjsonConfig as config } from "./NdjsonConfig.ts"

/**
 * The config Schema of the `ndjson` source (`path` and the reading limits).
 *
 * @category schemas
 * @since 0.1.0
 */
export { NdjsonSourceConfig as sourceConfig } from "./NdjsonConfig.ts"

/**
 * The `ndjson` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sourceDefinition = NdjsonSource

/**
 * The `ndjson` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sinkDefinition = NdjsonSink

/**
 * Both `ndjson` definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<Definition> = [NdjsonSource, NdjsonSink]

/**
 * A typed `ndjson` source spec. With `schema`, each line is decoded by the Schema as it is read
 * (at the edge): the record type is the Schema's, and a line it does not decode fails the run
 * with a `RecordError` naming `file:line` and the field (fields the Schema does not declare are
 * kept). Without, `A` is what you declare the lines to be (checked only to be objects at run
 * time); it defaults to an object of unknown fields.
 *
 * @example
 * ```ts
 * const Order = Schema.Struct({ id: Schema.Int, amount: Schema.Number, placed: Schema.DateFromString })
 * Ndjson.source({ path: "orders.ndjson", schema: Order })   // SourceSpec<{ id: number; amount: number; placed: Date }>
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const source: {
  <A extends object>(config: Omit<NdjsonSourceConfigInput, "schema"> & { readonly schema: Schema.Decoder<A> }): Spec.SourceSpec<A>
  <A extends object = { readonly [field: string]: unknown }>(config: Omit<NdjsonSourceConfigInput, "schema">): Spec.SourceSpec<A>
} = (config: NdjsonSourceConfigInput): Spec.SourceSpec<object> => Spec.source<object>("ndjson", config)

/**
 * A typed `ndjson` sink spec: accepts any object.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = (config: NdjsonConfigInput): Spec.SinkSpec<object> => Spec.sink<object>("ndjson", config)
