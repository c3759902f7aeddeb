/**
 * Type-level machinery of the typed DSL: readable compile errors, id checks, record-type
 * transformations of `select`, `rename` and `mapFields`, and the sink/processor acceptance check.
 * Nothing here exists at run time.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { RestoreError } from "../../src/Checkpoint.ts"
import type { ConnectorError, DefinitionError, NodeError, RecordError, StateVersionError } from "../../src/Errors.ts"
import type { StateBackendError } from "../../src/StateBackend.ts"
import type { CompileError, Duration } from "../../src/Spec.ts"
import type { ExecutionSettings as GraphExecutionSettings } from "../../src/WorkflowGraph.ts"
export type { CompileError, Duration, DurationsChecked, DurationUnit, TypedGraph } from "../../src/Spec.ts"

/**
 * Flattens an intersection into one object type, so hovers show the record's fields.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Simplify<A> = { [K in keyof A]: A[K] } & {}

/**
 * `unknown` when `Id` is a new node id, a {@link CompileError} when it is already declared or is
 * not a string literal.
 *
 * @category type-level
 * @since 0.1.0
 */
export type FreshId<Id extends string, Ids extends string> = string extends Id
  ? CompileError<"a node id must be a string literal (its name is part of the builder's type)">
  : [Id] extends [never] ? CompileError<"a node id must be a non-empty string literal">
  : [Id] extends [Ids] ? CompileError<`duplicate node id '${Id}': node ids are unique across sources, processors and sinks`>
  : unknown

/**
 * The field names of a record type (the common ones of a union).
 *
 * @category type-level
 * @since 0.1.0
 */
export type FieldOf<A> = keyof A & string

type RequiredKeys<B> = { [K in keyof B]-?: {} extends Pick<B, K> ? never : K }[keyof B]

type Missing<A, B> = Exclude<RequiredKeys<B>, keyof A> & string

type Mismatched<A, B> = { [K in keyof A & keyof B]: [A[K]] extends [B[K]] ? never : K }[keyof A & keyof B] & string

type Detail<A, B> = [Missing<A, B>] extends [never]
  ? [Mismatched<A, B>] extends [never] ? "" : `: field '${Mismatched<A, B>}' has a type it does not accept`
  : `: the records have no field '${Missing<A, B>}'`

/**
 * `unknown` when records of type `A` can go to a node that accepts `B` (a sink or a registered
 * processor), a {@link CompileError} naming the node (and a missing or mismatching field where it
 * can tell) otherwise.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Accepts<What extends string, Id extends string, A, B> = [A] extends [B] ? unknown
  : CompileError<`${What} '${Id}' does not accept the records it reads${Detail<A, B>}`>

/**
 * `A` with only the fields `K` (distributes over a union).
 *
 * @category type-level
 * @since 0.1.0
 */
export type Selected<A, K extends PropertyKey> = A extends unknown ? Simplify<Pick<A, K & keyof A>> : never

/**
 * What `rename` accepts: old field name → new field name.
 *
 * @category type-level
 * @since 0.1.0
 */
export type RenameFields<A> = { readonly [K in FieldOf<A>]?: string }

/**
 * `unknown` when every key of `M` is a field of `A`; otherwise requires each extra key to be a
 * {@link CompileError} naming it.
 *
 * @category type-level
 * @since 0.1.0
 */
export type KnownFields<Id extends string, A, M> = [Exclude<keyof M, keyof A>] extends [never] ? unknown
  : { readonly [K in Exclude<keyof M, keyof A>]: CompileError<`rename '${Id}': the records have no field '${K & string}'`> }

/** The keys of any member of `A` (a union's members may have different fields). */
type AnyKeyOf<A> = A extends unknown ? keyof A : never

/**
 * The old names of `M` whose new name is a field of `A` that `M` does not rename away: each
 * would overwrite that field's value.
 */
type Overwriting<A, M> = {
  [K in keyof M]-?: M[K] extends string ? M[K] extends AnyKeyOf<A> ? M[K] extends keyof M ? never : K : never : never
}[keyof M]

/**
 * `unknown` when no rename of `M` overwrites a field of `A` (or `A` has an index signature: its
 * fields are not known); otherwise requires each such key to be a {@link CompileError} naming it.
 *
 * @category type-level
 * @since 0.7.0
 */
export type NoOverwrite<Id extends string, A, M> = string extends AnyKeyOf<A> ? unknown
  : [Overwriting<A, M>] extends [never] ? unknown
  : {
    readonly [K in Overwriting<A, M> & keyof M]: CompileError<
      `rename '${Id}': renaming field '${K & string}' to '${M[K] & string}' would overwrite the records' field '${M[K] & string}'`
    >
  }

/**
 * `unknown` when no rename of `M` overwrites a field of `A`, a {@link CompileError} naming the
 * first otherwise (for the data-last `rename`, which sees the record type only later).
 *
 * @category type-level
 * @since 0.7.0
 */
export type OverwritesNothing<What extends string, A, M> = string extends AnyKeyOf<A> ? unknown
  : [Overwriting<A, M>] extends [never] ? unknown
  : CompileError<
    `${What}: renaming field '${Overwriting<A, M> & string}' to '${M[Overwriting<A, M> & keyof M] & string}' would overwrite the records' field '${
      M[Overwriting<A, M> & keyof M] & string
    }'`
  >

/**
 * `unknown` when every name in `K` is a field of `A`, a {@link CompileError} naming the first
 * missing one otherwise (for the data-last combinators, which see the record type only later).
 *
 * @category type-level
 * @since 0.1.0
 */
export type HasFields<What extends string, A, K extends PropertyKey> = [Exclude<K, keyof A>] extends [never] ? unknown
  : CompileError<`${What}: the records have no field '${Exclude<K, keyof A> & string}'`>

/**
 * `A` with its fields renamed by `M` (distributes over a union).
 *
 * @category type-level
 * @since 0.1.0
 */
export type Renamed<A, M> = A extends unknown ? Simplify<
    { [K in keyof A as K extends keyof M ? (M[K] extends string ? M[K] : K) : K]: A[K] }
  >
  : never

/**
 * `A` with the fields computed by a `mapFields` step set (or replaced). Expression results are not
 * typed: each computed field is `unknown` until a typed step (`map`, a schema-typed sink) narrows it.
 *
 * @category type-level
 * @since 0.1.0
 */
export type WithFields<A, F> = A extends unknown ? Simplify<Omit<A, keyof F> & { -readonly [K in keyof F]: unknown }>
  : never

/**
 * Per-node settings: task instances, partitioning key, whether parallel instances keep the input
 * order, and what a record the step fails on does. They become the node's `parallelism`,
 * `key_by`, `ordered`, `on_error` and `dead_letter` keys in the graph. `Letters`: the dead-letter
 * sinks declared so far (by `.deadLetter(id, sink)`), which `dead_letter: { to }` may name.
 *
 * @category models
 * @since 0.1.0
 */
export interface NodeOptions<A = { readonly [field: string]: unknown }, Letters extends string = string> {
  /** Task instances of this node (default: `execution.parallelism`). */
  readonly parallelism?: number | undefined
  /** Partition the input by these fields: records with one key reach the same instance, in order. */
  readonly key_by?: FieldOf<A> | ReadonlyArray<FieldOf<A>> | undefined
  /** With `parallelism > 1`: emit batches in input order. */
  readonly ordered?: boolean | undefined
  /**
   * What a record the step fails on does: `fail` (default) fails the run naming it;
   * `dead_letter` sets it aside (in `dead_letter`) and goes on. Record-by-record steps (filter,
   * map, mapFields, flatMap, select, rename), `aggregate` and `dedupe` (through `via`), and a
   * `process` declared `{ pure: true }` accept it; a `process` not declared pure and a `via`
   * Stream function fail whole batches, and the runtime refuses it there (see
   * docs/processors.md).
   */
  readonly on_error?: "fail" | "dead_letter" | undefined
  /**
   * With `on_error: "dead_letter"`: where the records go — the NDJSON file `path` (at most
   * `max_bytes`, default 1 GiB), or `to`, a dead-letter sink declared earlier with
   * `.deadLetter(id, sink)` (an id not declared yet does not compile). `.deadLetter(id)` after the
   * step says the same.
   */
  readonly dead_letter?: { readonly path: string; readonly max_bytes?: number | undefined } | { readonly to: Letters } | undefined
}

/**
 * Options of a `process` step: {@link NodeOptions} and `pure`.
 *
 * @category models
 * @since 0.6.0
 */
export interface ProcessOptions<A = { readonly [field: string]: unknown }, Letters extends string = string> extends NodeOptions<A, Letters> {
  /**
   * The function's output for a batch depends on that batch's records only, and running it again
   * on part of a batch changes nothing else (config `pure: true`). Then its failed records can be
   * set aside (`.deadLetter`, or `on_error: "dead_letter"`): a batch it fails on is run again in
   * halves until the records it fails on alone are found (about 2·log2(n) more runs per bad record).
   */
  readonly pure?: boolean | undefined
}

/**
 * Options of a source node.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceOptions {
  /** Reader instances of this source (when the connector can split its input). */
  readonly parallelism?: number | undefined
}

/**
 * Options of a sink node declared by `.deadLetter(id, sink, options)`.
 *
 * @category models
 * @since 0.5.0
 */
export interface SinkOptions {
  /** Writer instances of this sink. */
  readonly parallelism?: number | undefined
}

/**
 * Options of `Pipeline.from`: the source node's, and `strict`.
 *
 * @category models
 * @since 0.5.0
 */
export interface FromOptions<Strict extends boolean = boolean> extends SourceOptions {
  /**
   * `true`: the pipeline's `.to` (and `Pipeline.toStream`) does not compile while any error of
   * its steps is unhandled — as if it were wrapped in `Pipeline.strict`, but at the step that
   * ends it.
   */
  readonly strict?: Strict | undefined
}

/**
 * A user processor: one Effect per batch, given the batch's records, returning the output
 * records. It runs with the services of the fiber that runs the workflow (`R`).
 *
 * @category models
 * @since 0.1.0
 */
export type BatchFunction<A, B, E, R> = (records: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, E, R>

/**
 * A failed task, with the error type of the DSL's user processors in `cause`: a run fails with a
 * {@link NodeError} whose `cause` is the processor's error `E`, a connector's or a record's error,
 * or what a user function threw.
 *
 * @category errors
 * @since 0.1.0
 */
export interface NodeFailure<E> extends NodeError {
  readonly cause: E | ConnectorError | RecordError | StateVersionError | Error
}

/**
 * Everything a DSL workflow's run can fail with: an invalid definition (found before anything
 * runs), a restore refused before anything opens (what changed, the way out), a failed task
 * (naming the node), or the state backend.
 *
 * @category errors
 * @since 0.1.0
 */
export type RunError<E> = DefinitionError | RestoreError | NodeFailure<E> | StateBackendError

type WithDurations<T> = T extends object ? {
    readonly [K in keyof T]: [T[K]] extends [string | number] ? ([string | number] extends [T[K]] ? Duration : T[K]) : WithDurations<T[K]>
  }
  : T

/**
 * The `execution` settings of a DSL workflow: {@link ExecutionSettings} with its durations typed
 * as {@link Duration} (`checkpoint_interval`, restart delays, batching `linger` and
 * `latency_target`).
 *
 * @category models
 * @since 0.1.0
 */
export type ExecutionSettings = WithDurations<GraphExecutionSettings>
