/**
 * `flat_map` (DSL only): replaces each record by zero or more records returned by a function.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Processor from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { fn } from "./internal/schema.ts"

/**
 * The config Schema of `flat_map`: `fn`, a function from a record to an iterable of records.
 *
 * @category config
 * @since 0.1.0
 */
export const FlatMapConfig = Schema.Struct({
  fn: fn<(record: unknown) => Iterable<unknown>>("a function (record) => Iterable<record>")
})

/**
 * The decoded config of `flat_map`.
 *
 * @category config
 * @since 0.1.0
 */
export type FlatMapConfig = typeof FlatMapConfig.Type

/**
 * The `flat_map` processor definition (type `flat_map`, used by the DSL).
 *
 * @category definitions
 * @since 0.1.0
 */
export const FlatMapDefinition: Processor.ProcessorDefinition<FlatMapConfig> = Processor.define({
  type: "flat_map",
  description: "replaces each record by the records that `fn` returns (DSL only)",
  config: FlatMapConfig,
  make: (config) => Processor.stateless({ _tag: "flatMap", f: config.fn })
})

/**
 * A typed `flat_map` spec for the DSL.
 *
 * @example
 * ```ts
 * flatMapSpec((o: Order) => o.lines.map((line) => ({ order: o.id, ...line })))
 * ```
 * @category specs
 * @since 0.1.0
 */
export const flatMapSpec = <A, B>(f: (record: A) => Iterable<B>): Spec.ProcessorSpec<A, B> =>
  Spec.processor<A, B>("flat_map", { fn: f })
