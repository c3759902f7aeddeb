/**
 * The stateful processors in one place: their definitions for the registry
 * ({@link statefulDefinitions}) and typed spec constructors for the DSL ({@link aggregate},
 * {@link dedupe}).
 *
 * A spec holds the config exactly as YAML would (snake_case keys), so a DSL workflow and a YAML
 * workflow produce the same graph; the types only describe the output records.
 *
 * @example
 * ```ts
 * import * as Stateful from "dataflare/processors/stateful"
 * const perMinute = Stateful.aggregate({
 *   group_by: ["country"],
 *   time_field: "ts",
 *   window: { type: "tumbling", size: "1m" },
 *   aggregates: {
 *     orders: { op: "count" },
 *     revenue: { op: "sum", field: "amount" },
 *     amounts: {
 *       reducer: Stateful.reducer({
 *         init: () => [] as ReadonlyArray<number>,
 *         add: (s, r) => [...s, (r as Order).amount],
 *         result: (s) => s.join(",")
 *       })
 *     }
 *   }
 * })
 * ```
 * @since 0.1.0
 */
import type { Schema } from "effect"
import type { ProcessorDefinition } from "../Processor.ts"
import * as Spec from "../Spec.ts"
import { Aggregate } from "./aggregate.ts"
import { Dedupe } from "./dedupe.ts"
import type { Op } from "./internal/aggregateOps.ts"

/**
 * The definitions of `aggregate` and `dedupe`, to register with `Registry.layer`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const statefulDefinitions: ReadonlyArray<ProcessorDefinition<unknown>> = [
  Aggregate as ProcessorDefinition<unknown>,
  Dedupe as ProcessorDefinition<unknown>
]

/**
 * One output field of an aggregate spec in the DSL: a built-in op or a user reducer.
 *
 * @category models
 * @since 0.1.0
 */
export type AggregateField =
  | { readonly op: Op; readonly field?: string }
  | { readonly reducer: AnyReducer }

/**
 * A reducer of some state type (what an aggregate spec accepts; build one with {@link reducer}
 * to have its functions checked against one state type).
 *
 * @category models
 * @since 0.1.0
 */
export interface AnyReducer {
  readonly init: () => unknown
  readonly add: (state: never, record: unknown) => unknown
  readonly result: (state: never) => unknown
  readonly schema?: Schema.Codec<unknown, unknown> | undefined
}

/**
 * A reducer with a typed state (the DSL's way to write one).
 *
 * @category models
 * @since 0.1.0
 */
export interface ReducerOf<S, R> {
  readonly init: () => S
  readonly add: (state: S, record: unknown) => S
  readonly result: (state: S) => R
  readonly schema?: Schema.Codec<S, unknown> | undefined
}

/**
 * A user reducer for an aggregate spec, with `init`, `add`, `result` (and the optional `schema`
 * that encodes the state for checkpoints) checked against one state type `S`.
 *
 * @example
 * ```ts
 * const amounts = Stateful.reducer({
 *   init: () => [] as ReadonlyArray<number>,
 *   add: (s, r) => [...s, (r as Order).amount],
 *   result: (s) => s.length
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const reducer = <S, R>(r: ReducerOf<S, R>): ReducerOf<S, R> => r

/**
 * The config of an aggregate spec, as YAML writes it.
 *
 * @category models
 * @since 0.1.0
 */
export interface AggregateSpecConfig {
  readonly group_by?: ReadonlyArray<string>
  readonly time_field?: string
  readonly window?:
    | { readonly type: "tumbling"; readonly size: Spec.Duration }
    | { readonly type: "sliding"; readonly size: Spec.Duration; readonly slide: Spec.Duration }
  readonly max_out_of_orderness?: Spec.Duration
  readonly late?: "drop" | "side_output"
  readonly window_format?: "iso" | "epoch_ms"
  readonly aggregates: { readonly [name: string]: AggregateField }
}

type FieldValue<F> = F extends { readonly reducer: { readonly result: (state: never) => infer R } } ? R
  : F extends { readonly op: "count" | "count_distinct" | "sum" } ? number
  : F extends { readonly op: "min" | "max" | "avg" } ? number | null
  : unknown

type WindowFields<C> = C extends { readonly window: object }
  ? C extends { readonly window_format: "epoch_ms" } ? { readonly window_start: number; readonly window_end: number }
  : { readonly window_start: string; readonly window_end: string }
  : {}

type GroupFields<C> = C extends { readonly group_by: ReadonlyArray<infer K extends string> } ? { readonly [F in K]: unknown }
  : {}

/**
 * The output record of an aggregate with config `C`.
 *
 * @category models
 * @since 0.1.0
 */
export type AggregateRow<C extends AggregateSpecConfig> =
  & GroupFields<C>
  & WindowFields<C>
  & { readonly [K in keyof C["aggregates"]]: FieldValue<C["aggregates"][K]> }

/**
 * A typed `aggregate` spec for the DSL. The output type lists the group fields, the window
 * fields (when windowed) and each aggregate with its value type.
 *
 * @category constructors
 * @since 0.1.0
 */
export const aggregate = <I = unknown, const C extends AggregateSpecConfig = AggregateSpecConfig>(
  config: C & Spec.DurationsChecked<C>
): Spec.ProcessorSpec<I, AggregateRow<C>> => Spec.processor<I, AggregateRow<C>>("aggregate", config)

type Field<I> = keyof I & string

/**
 * The config of an aggregate spec over records of type `I`: field names must be fields of `I`.
 *
 * @category models
 * @since 0.1.0
 */
export interface AggregateSpecConfigOf<I> extends AggregateSpecConfig {
  readonly group_by?: ReadonlyArray<Field<I>>
  readonly time_field?: Field<I>
  readonly aggregates: {
    readonly [name: string]: { readonly op: Op; readonly field?: Field<I> } | { readonly reducer: AnyReducer }
  }
}

/**
 * The output record of an aggregate over records of type `I` with config `C` (group fields keep
 * their input types).
 *
 * @category models
 * @since 0.1.0
 */
export type AggregateRowOf<I, C extends AggregateSpecConfig> =
  & (C extends { readonly group_by: ReadonlyArray<infer K extends keyof I> } ? { readonly [F in K]: I[F] } : {})
  & WindowFields<C>
  & { readonly [K in keyof C["aggregates"]]: FieldValue<C["aggregates"][K]> }

/**
 * A typed `aggregate` spec over records of type `I`: `aggregateOf<Order>()({ ... })`. Field
 * names in the config are checked against `I`, and the output type keeps the group fields' types.
 *
 * @example
 * ```ts
 * Pipeline.from("orders", Memory.source({ records: orders }))
 *   .via("per_country", Stateful.aggregateOf<Order>()({ group_by: ["country"], aggregates: { n: { op: "count" } } }))
 *   .map("line", (r) => `${r.country}: ${r.n}`) // r: { country: string; n: number }
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const aggregateOf = <I>() =>
<const C extends AggregateSpecConfigOf<I>>(config: C & Spec.DurationsChecked<C>): Spec.ProcessorSpec<I, AggregateRowOf<I, C>> =>
  Spec.processor<I, AggregateRowOf<I, C>>("aggregate", config)

/**
 * The config of a dedupe spec, as YAML writes it.
 *
 * @category models
 * @since 0.1.0
 */
export interface DedupeSpecConfig {
  readonly key: ReadonlyArray<string>
  readonly time_field?: string
  readonly window?: Spec.Duration
  readonly max_out_of_orderness?: Spec.Duration
  readonly late?: "drop" | "side_output"
}

/**
 * A typed `dedupe` spec for the DSL: records pass through unchanged (first occurrences only).
 *
 * @category constructors
 * @since 0.1.0
 */
export const dedupe = <A, const C extends DedupeSpecConfig & { readonly key: ReadonlyArray<keyof A & string> } = DedupeSpecConfig & { readonly key: ReadonlyArray<keyof A & string> }>(
  config: C & Spec.DurationsChecked<C>
): Spec.ProcessorSpec<A, A> =>
  Spec.processor<A, A>("dedupe", config)
