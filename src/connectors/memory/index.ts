/**
 * The in-memory connectors: `memory` and `generator` sources and the `collect` sink (see
 * docs/connectors/memory.md). For tests, `dataflare/testing` builds prepared connectors from the
 * same readers and writers.
 *
 * @example
 * ```ts
 * import { Memory } from "dataflare/dsl"
 * const orders = Memory.source({ records: [{ id: 1, status: "active" }] })
 * const numbers = Memory.generator({ count: 1000, make: (i) => ({ id: i, even: i % 2 === 0 }) })
 * ```
 * @since 0.1.0
 */
import type { Definition } from "../../Registry.ts"
import * as Spec from "../../Spec.ts"
import { CollectSink, type CollectConfig } from "./CollectSink.ts"
import { GeneratorSource, MemorySource } from "./MemorySource.ts"

/** @since 0.1.0 */
export * as CollectSink from "./CollectSink.ts"
/** @since 0.1.0 */
export * as MemorySource from "./MemorySource.ts"

/**
 * The config Schemas of the in-memory connectors.
 *
 * @category schemas
 * @since 0.1.0
 */
export { CollectConfig, clearCollected, collected } from "./CollectSink.ts"
/**
 * @category schemas
 * @since 0.1.0
 */
export { GeneratorConfig, MemoryConfig } from "./MemorySource.ts"

/**
 * The `memory` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sourceDefinition = MemorySource

/**
 * The `generator` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const generatorDefinition = GeneratorSource

/**
 * The `collect` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sinkDefinition = CollectSink

/**
 * The three in-memory definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<Definition> = [MemorySource, GeneratorSource, CollectSink]

/**
 * A typed `memory` source spec: the records are in the config (as YAML would write them), and
 * their type is the spec's record type.
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <A extends object>(config: {
  readonly records: ReadonlyArray<A>
  readonly batch_size?: number
}): Spec.SourceSpec<A> => Spec.source<A>("memory", config)

/**
 * The record type of a `generator` source: `make`'s result, else `{ id } & fields`.
 *
 * @category type-level
 * @since 0.1.0
 */
export type GeneratorRow<C> = C extends { readonly make: (index: number) => infer R } ? R
  : C extends { readonly fields: infer F } ? { readonly id: number } & { readonly [K in keyof F]: F[K] }
  : { readonly id: number }

/**
 * A typed `generator` source spec.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generator = <
  const C extends {
    readonly count: number
    readonly fields?: { readonly [field: string]: unknown }
    readonly make?: (index: number) => object
    readonly batch_size?: number
  }
>(config: C): Spec.SourceSpec<GeneratorRow<C>> => Spec.source<GeneratorRow<C>>("generator", config)

/**
 * A typed `collect` sink spec: accepts any record.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = (config: typeof CollectConfig.Encoded = {}): Spec.SinkSpec<unknown> =>
  Spec.sink<unknown>("collect", config)
