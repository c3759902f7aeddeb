/**
 * Typed node specifications: a connector or processor `type` with its config *as written*, plus
 * a phantom record type for the typed DSL.
 *
 * Each connector module exports typed spec constructors (e.g. `Csv.source({ path, columns })`
 * returns a `SourceSpec` whose record type is computed from `columns`); the DSL puts the spec's
 * `type` and `config` into a {@link WorkflowGraph} node unchanged, so the DSL and YAML produce
 * the same graph value. The phantom types exist only at compile time.
 *
 * @since 0.1.0
 */

/**
 * A source node spec producing records of type `A`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceSpec<out A> {
  readonly _tag: "SourceSpec"
  readonly type: string
  readonly config: unknown
  /** Phantom: the record type. Never set at run time. */
  readonly _A?: (_: never) => A
}

/**
 * A sink node spec accepting records of type `A`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SinkSpec<in A> {
  readonly _tag: "SinkSpec"
  readonly type: string
  readonly config: unknown
  /** Phantom: the accepted record type. Never set at run time. */
  readonly _A?: (_: A) => void
}

/**
 * A processor node spec turning records of type `I` into records of type `O`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessorSpec<in I, out O> {
  readonly _tag: "ProcessorSpec"
  readonly type: string
  readonly config: unknown
  /** Phantom: input and output record types. Never set at run time. */
  readonly _IO?: (_: I) => O
}

/**
 * A typed source spec.
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <A>(type: string, config: unknown): SourceSpec<A> => ({ _tag: "SourceSpec", type, config })

/**
 * A typed sink spec.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = <A>(type: string, config: unknown): SinkSpec<A> => ({ _tag: "SinkSpec", type, config })

/**
 * A typed processor spec.
 *
 * @category constructors
 * @since 0.1.0
 */
export const processor = <I, O>(type: string, config: unknown): ProcessorSpec<I, O> => ({
  _tag: "ProcessorSpec",
  type,
  config
})
