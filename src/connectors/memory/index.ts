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
import { clearCollected, CollectSink, type CollectConfig, collected } from "./CollectSink.ts"
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
 * A typed `collect` sink spec: accepts records of type `A` (default: any record), so a pipeline
 * whose records are not `A` does not compile. Read what it got with {@link collected}, or use
 * {@link list} to get the sink and a typed read of its records together.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = <A = unknown>(config: typeof CollectConfig.Encoded = {}): Spec.SinkSpec<A> =>
  Spec.sink<A>("collect", config)

/**
 * A named in-memory list of records of type `A`: the `collect` sink spec that appends to it and
 * the records it holds, with one type.
 *
 * @category models
 * @since 0.1.0
 */
export interface List<A> {
  readonly name: string
  /** The `collect` sink appending to the list (`guarantee` as in {@link CollectConfig}). */
  readonly sink: (options?: { readonly guarantee?: "at-least-once" | "exactly-once" }) => Spec.SinkSpec<A>
  /** The records collected so far (a copy). */
  readonly records: () => ReadonlyArray<A>
  /** Empties the list. */
  readonly clear: () => void
}

/**
 * A typed list named `name`: `Pipeline.from(...).to("out", orders.sink())`, then
 * `orders.records()` is a `ReadonlyArray<A>`. The sink accepts only records of type `A`, so what
 * the list holds is typed by the pipelines that write to it (give each type its own name).
 *
 * @example
 * ```ts
 * const large = Memory.list<{ id: number; amount: number }>("large")
 * yield* Pipeline.run(Pipeline.from("in", source).filter("large", "amount > 100").to("out", large.sink()))
 * large.records() // ReadonlyArray<{ id: number; amount: number }>
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const list = <A>(name: string): List<A> => ({
  name,
  sink: (options) => sink<A>({ name, ...(options?.guarantee !== undefined ? { guarantee: options.guarantee } : {}) }),
  // only sinks of type A write to this list (the spec's type says so)
  records: () => collected(name) as ReadonlyArray<A>,
  clear: () => clearCollected(name)
})
