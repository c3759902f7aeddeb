/**
 * Typed node specifications: a connector or processor `type` with its config *as written*, plus
 * a phantom record type for the typed DSL.
 *
 * Each connector module exports typed spec constructors (e.g. `Csv.source({ path, columns })`
 * returns a `SourceSpec` whose record type is computed from `columns`); the DSL puts the spec's
 * `type` and `config` into a {@link WorkflowGraph} node unchanged, so the DSL and YAML produce
 * the same graph value. The phantom types exist only at compile time.
 *
 * A spec also carries the error type `E` and the services `R` of the user code it runs (an
 * Effect `Stream` as a source, an Effect `Sink` as a destination, a connector whose `open` needs
 * a service): the DSL adds them to the workflow's types, so `Pipeline.run` fails with `E` and
 * requires `R`. The node's Effects run with the services of the fiber that runs the workflow.
 *
 * @since 0.1.0
 */
import type { WorkflowGraph } from "./WorkflowGraph.ts"

declare const TypedGraphId: unique symbol
declare const CompileErrorId: unique symbol

/**
 * A type that no value has, carrying a message: a parameter of this type makes the compiler print
 * the message (`... is not assignable to parameter of type 'CompileError<"duplicate node id 'f'">'`).
 *
 * @category type-level
 * @since 0.1.0
 */
export interface CompileError<Message extends string> {
  readonly [CompileErrorId]: Message
}

/**
 * A workflow graph whose type remembers its node ids `Ids`, and the error type `E` and the
 * services `R` of its user code (processors, Effect streams and sinks). The typed DSL builds
 * them; `Runtime.run` requires `R`, and `Overrides.layer(graph, ...)` accepts only the ids in
 * `Ids`. A plain {@link WorkflowGraph} (from YAML) has no phantom: `Runtime.run` then requires
 * no services and overrides are checked at run time only. The phantom key is never set.
 *
 * @category models
 * @since 0.1.0
 */
export interface TypedGraph<out Ids extends string = string, out E = unknown, out R = unknown> extends WorkflowGraph {
  readonly [TypedGraphId]?: { readonly _Ids: Ids; readonly _E: E; readonly _R: R }
}

/**
 * A duration unit of workflow settings: milliseconds, seconds, minutes, hours.
 *
 * @category type-level
 * @since 0.1.0
 */
export type DurationUnit = "ms" | "s" | "m" | "h"

/**
 * A duration as the runtime reads it: a number of milliseconds, or a decimal number followed by a
 * unit, nothing between or around them (`500ms`, `30s`, `1.5m`, `1h`). `"10 seconds"` does not
 * compile; {@link DurationsChecked} also refuses what this template lets through (`"5 s"`, `"-1s"`,
 * `"1e3ms"`).
 *
 * @category models
 * @since 0.1.0
 */
export type Duration = number | `${number}${DurationUnit}`

type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"
type IsDigits<S extends string> = S extends `${Digit}${infer Rest}` ? (Rest extends "" ? true : IsDigits<Rest>) : false
type IsDecimal<S extends string> = S extends `${infer Whole}.${infer Fraction}` ? (IsDigits<Whole> extends true ? IsDigits<Fraction> : false)
  : IsDigits<S>
type IsDuration<S extends string> = S extends `${infer N}ms` ? IsDecimal<N>
  : S extends `${infer N}${"s" | "m" | "h"}` ? IsDecimal<N>
  : false

/** The keys whose values are durations, in execution settings and processor configs. */
type DurationKey =
  | "checkpoint_interval" | "delay" | "initial" | "max" | "interval" | "latency_target" | "linger"
  | "size" | "slide" | "window" | "max_out_of_orderness"

/**
 * `unknown` where every duration written in settings `S` reads as the runtime reads it, a
 * {@link CompileError} at each one that does not (nested settings included).
 *
 * @category type-level
 * @since 0.1.0
 */
export type DurationsChecked<S> = S extends object ? {
    readonly [K in keyof S]: S[K] extends string ? (K extends DurationKey ? (string extends S[K] ? unknown
          : IsDuration<S[K]> extends true ? unknown
          : CompileError<`'${S[K]}' is not a duration: write a decimal number and ms, s, m or h (500ms, 30s, 1.5m, 1h)`>) : unknown)
      : S[K] extends object ? DurationsChecked<S[K]>
      : unknown
  }
  : unknown

/**
 * A source node spec producing records of type `A`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceSpec<out A, out E = never, out R = never> {
  readonly _tag: "SourceSpec"
  readonly type: string
  readonly config: unknown
  /** Phantom: the record type. Never set at run time. */
  readonly _A?: (_: never) => A
  /** Phantom: the error type and the services of the source's user code. Never set at run time. */
  readonly _ER?: { readonly _E: E; readonly _R: R }
}

/**
 * A sink node spec accepting records of type `A`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SinkSpec<in A, out E = never, out R = never> {
  readonly _tag: "SinkSpec"
  readonly type: string
  readonly config: unknown
  /** Phantom: the accepted record type. Never set at run time. */
  readonly _A?: (_: A) => void
  /** Phantom: the error type and the services of the sink's user code. Never set at run time. */
  readonly _ER?: { readonly _E: E; readonly _R: R }
}

/**
 * A processor node spec turning records of type `I` into records of type `O`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessorSpec<in I, out O, out E = never, out R = never> {
  readonly _tag: "ProcessorSpec"
  readonly type: string
  readonly config: unknown
  /** Phantom: input and output record types. Never set at run time. */
  readonly _IO?: (_: I) => O
  /** Phantom: the error type and the services of the processor's user code. Never set at run time. */
  readonly _ER?: { readonly _E: E; readonly _R: R }
}

/**
 * A typed source spec (`E` and `R`: what its user code may fail with and needs, default none).
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <A, E = never, R = never>(type: string, config: unknown): SourceSpec<A, E, R> => ({
  _tag: "SourceSpec",
  type,
  config
})

/**
 * A typed sink spec.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = <A, E = never, R = never>(type: string, config: unknown): SinkSpec<A, E, R> => ({
  _tag: "SinkSpec",
  type,
  config
})

/**
 * A typed processor spec.
 *
 * @category constructors
 * @since 0.1.0
 */
export const processor = <I, O, E = never, R = never>(type: string, config: unknown): ProcessorSpec<I, O, E, R> => ({
  _tag: "ProcessorSpec",
  type,
  config
})
