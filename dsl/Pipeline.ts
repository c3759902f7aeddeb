/**
 * The linear typed builder: one source, a chain of steps, one sink.
 *
 * Each step's output record type flows into the next, so a `select` of a field that does not
 * exist, a duplicate node id, or a sink that does not accept the records reaching it is a compile
 * error. The value a finished pipeline *is* is a plain {@link WorkflowGraph} — the same value the
 * YAML loader produces for the same workflow — with the declared node ids, the user processors'
 * error type `E` and their requirements `R` carried only in its type.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Builtins } from "dataflare"
 * import { Csv, Ndjson, Pipeline } from "dataflare/dsl"
 *
 * const orders = Pipeline.from("orders", Csv.source({ path: "orders.csv", columns: { amount: "number" } }))
 *   .filter("large", (r) => r.amount >= 100)
 *   .map("tagged", (r) => ({ ...r, large: true }))
 *   .to("out", Ndjson.sink({ path: "out.ndjson" }))
 *
 * const summary = yield* Pipeline.run(orders).pipe(Effect.provide(Builtins.layer))
 * ```
 * @since 0.1.0
 */
import type { Effect, Layer, Pipeable, Schedule, Stream } from "effect"
import type { ConnectorError, RecordError } from "../src/Errors.ts"
import type { RestartStrategy } from "../src/WorkflowGraph.ts"
import * as Overrides from "../src/Overrides.ts"
import type * as Runtime from "../src/Runtime.ts"
import type { Registry } from "../src/Registry.ts"
import type { ProcessorSpec, SinkSpec, SourceSpec } from "../src/Spec.ts"
import type { WorkflowGraph } from "../src/WorkflowGraph.ts"
import type { ConditionErrors, Retryable, Strict, TagOf, Unhandled } from "./internal/errors.ts"
import type { FieldsReadKnown, ReadsKnownFields } from "./internal/expression.ts"
import { type PipelineBuilder, start } from "./internal/pipeline.ts"
import { runTyped } from "./internal/run.ts"
import { freshId, streamOf } from "./internal/toStream.ts"
import type {
  Accepts,
  BatchFunction,
  DurationsChecked,
  ExecutionSettings,
  FieldOf,
  FreshId,
  CompileError,
  HasFields,
  KnownFields,
  NodeOptions,
  Renamed,
  RenameFields,
  RunError,
  Selected,
  SourceOptions,
  TypedGraph,
  WithFields
} from "./internal/types.ts"

export type {
  /**
   * The errors of a data-last `filter`: its expression's `RecordError`, none for a predicate.
   *
   * @category type-level
   * @since 0.1.0
   */
  ConditionErrors,
  /**
   * `unknown` when the last step has a typed error to retry, a `CompileError` otherwise.
   *
   * @category type-level
   * @since 0.1.0
   */
  Retryable,
  /**
   * `unknown` when `E` is `never`, a `CompileError` naming the unhandled errors' tags otherwise.
   *
   * @category type-level
   * @since 0.1.0
   */
  Strict,
  /**
   * The `_tag`s of the tagged errors in `E`.
   *
   * @category type-level
   * @since 0.1.0
   */
  TagOf,
  /**
   * The errors a step with these options leaves unhandled: none when dead-lettered.
   *
   * @category type-level
   * @since 0.1.0
   */
  Unhandled
} from "./internal/errors.ts"
export type {
  /**
   * A duration in settings: `500ms`, `30s`, `1.5m`, `1h`, or milliseconds.
   *
   * @category models
   * @since 0.1.0
   */
  Duration,
  /**
   * The `execution` settings of a DSL workflow, durations typed.
   *
   * @category models
   * @since 0.1.0
   */
  ExecutionSettings,
  /**
   * Per-node settings (`parallelism`, `key_by`, `ordered`), the last argument of every step.
   *
   * @category models
   * @since 0.1.0
   */
  NodeOptions,
  /**
   * Settings of the source node (`parallelism`).
   *
   * @category models
   * @since 0.1.0
   */
  SourceOptions,
  /**
   * Everything a run can fail with (definition, node and state backend errors).
   *
   * @category errors
   * @since 0.1.0
   */
  RunError
} from "./internal/types.ts"

/**
 * A finished pipeline: a {@link WorkflowGraph} (pass it to `Runtime.run`, compare it with a YAML
 * graph), whose type remembers the node ids `Ids`, the error type `E` and the requirements `R` of
 * its user processors. `Runtime.run(pipeline)` works too; {@link run} keeps `E` and `R` in the type.
 *
 * @category models
 * @since 0.1.0
 */
export type Pipeline<Ids extends string = string, E = unknown, R = unknown> = TypedGraph<Ids, E, R>

/**
 * A pipeline being built: the node ids declared so far (`Ids`), the record type reaching the next
 * step (`A`), the errors its steps before the last can fail with and their requirements (`E`,
 * `R`), and the errors of the last step (`L`), which `.retry` and `.catchTag` can still handle.
 * Immutable: every step returns a new builder.
 *
 * @category models
 * @since 0.1.0
 */
export interface Builder<Ids extends string, A, E, R, L = never> extends Pipeable.Pipeable {
  /** Sets the workflow name (default: the source's id). */
  named(name: string): Builder<Ids, A, E, R, L>
  /** Sets the workflow version. */
  version(version: string): Builder<Ids, A, E, R, L>
  /**
   * Sets execution settings (`batch_size`, `queue_capacity`, ...), merged over earlier ones.
   * Durations are `500ms`, `30s`, `1.5m`, `1h` or milliseconds: another spelling does not compile.
   */
  execution<const S extends ExecutionSettings>(settings: S & DurationsChecked<S>): Builder<Ids, A, E, R, L>
  /**
   * Keeps the records for which `predicate` is true. Node
   * `{ type: "filter", config: { predicate } }`.
   */
  filter<const Id extends string>(
    id: Id & FreshId<Id, Ids>,
    predicate: (record: A) => boolean,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, A, E | L, R>
  /**
   * Keeps the records for which the expression `condition` is true (`"status == 'active'"`, the
   * YAML `condition`); a field it reads that the records do not have is a compile error. Node
   * `{ type: "filter", config: { condition } }`.
   */
  filter<const Id extends string, const C extends string, const O extends NodeOptions<A> = {}>(
    id: Id & FreshId<Id, Ids>,
    condition: C & ReadsKnownFields<`filter '${Id}'`, A, C>,
    options?: O
  ): Builder<Ids | Id, A, E | L, R, Unhandled<O, RecordError>>
  /** Replaces each record by `fn(record)`. Node `{ type: "map", config: { fn } }`. */
  map<const Id extends string, B>(
    id: Id & FreshId<Id, Ids>,
    fn: (record: A) => B,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, B, E | L, R>
  /**
   * Sets fields to the values of expressions (`{ total: "amount * 2" }`, the YAML `fields`).
   * Computed fields are typed `unknown`; a field an expression reads that the records do not have
   * is a compile error. Node `{ type: "map", config: { fields } }`.
   */
  mapFields<const Id extends string, const F extends { readonly [name: string]: string }, const O extends NodeOptions<A> = {}>(
    id: Id & FreshId<Id, Ids>,
    fields: F & FieldsReadKnown<`mapFields '${Id}'`, A, F>,
    options?: O
  ): Builder<Ids | Id, WithFields<A, F>, E | L, R, Unhandled<O, RecordError>>
  /** Keeps only the listed fields. Node `{ type: "select", config: { fields } }`. */
  select<const Id extends string, const K extends ReadonlyArray<FieldOf<A>>>(
    id: Id & FreshId<Id, Ids>,
    fields: K,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, Selected<A, K[number]>, E | L, R>
  /** Renames fields, old name → new name. Node `{ type: "rename", config: { fields } }`. */
  rename<const Id extends string, const M extends RenameFields<A>>(
    id: Id & FreshId<Id, Ids>,
    fields: M & KnownFields<Id, A, M>,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, Renamed<A, M>, E | L, R>
  /** Replaces each record by zero or more records. Node `{ type: "flat_map", config: { fn } }`. */
  flatMap<const Id extends string, B>(
    id: Id & FreshId<Id, Ids>,
    fn: (record: A) => Iterable<B>,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, B, E | L, R>
  /**
   * A user processor as an Effect per batch: gets the batch's records, returns the output
   * records. Its error type and requirements are added to the pipeline's. Node
   * `{ type: "process", config: { fn } }`.
   */
  process<const Id extends string, B, E2, R2>(
    id: Id & FreshId<Id, Ids>,
    fn: BatchFunction<A, B, E2, R2>,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, B, E | L, R | R2, E2>
  /** A registered (third-party) processor, from its typed spec. */
  via<const Id extends string, I, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, Ids>,
    spec: ProcessorSpec<I, B, E2, R2> & Accepts<"processor", Id, A, I>,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, B, E | L | E2, R | R2>
  /**
   * A user's Effect Stream transformation, applied to the records of each batch on its own
   * (node `{ type: "via", config: { fn } }`). For stateless transformations only: a stateful
   * stream operator (`take`, `grouped`, a scan) restarts at every batch. Never fused with the
   * steps around it (one stream run per batch): prefer `map`/`filter`/`flatMap` on hot paths.
   * Its error type and services are added to the pipeline's.
   */
  via<const Id extends string, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, Ids>,
    fn: (records: Stream.Stream<A>) => Stream.Stream<B, E2, R2>,
    options?: NodeOptions<A>
  ): Builder<Ids | Id, B, E | L, R | R2, E2>
  /**
   * Retries the last step — a user step (`process`, or `via` with a Stream function) — by
   * `schedule` when it fails: the batch's Effect (or stream) runs again. Removes the step's errors
   * from the pipeline's error type: they are handled by retrying. An error still there when the
   * schedule gives up fails the run (its node's `cause`), as without `retry`.
   */
  retry<O, E3 = never, R3 = never>(
    schedule: Schedule.Schedule<O, NoInfer<L>, E3, R3> & Retryable<L>
  ): Builder<Ids, A, E | E3, R | R3>
  /**
   * Handles one tagged error of the last user step (`process`, or `via` with a Stream function):
   * when the step fails with it, `handler` gives the step's output records for that batch instead
   * (an empty array drops them). Removes that error from the pipeline's error type.
   */
  catchTag<const K extends TagOf<L>, E3 = never, R3 = never>(
    tag: K,
    handler: (error: Extract<L, { readonly _tag: K }>) => ReadonlyArray<A> | Effect.Effect<ReadonlyArray<A>, E3, R3>
  ): Builder<Ids, A, E, R | R3, Exclude<L, { readonly _tag: K }> | E3>
  /**
   * Ends the pipeline with a sink that must accept the records reaching it. The sink adds
   * `ConnectorError` to the pipeline's errors (handled by {@link restartOnFailure}).
   */
  to<const Id extends string, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, Ids>,
    sink: SinkSpec<B, E2, R2> & Accepts<"sink", Id, A, B>,
    options?: NodeOptions<A>
  ): Pipeline<Ids | Id, E | L | E2 | ConnectorError, R | R2>
}


/**
 * Starts a pipeline reading from a source. The workflow is named after the source's id until
 * `.named(...)` says otherwise.
 *
 * @example
 * ```ts
 * const p = Pipeline.from("in", Memory.source({ records: [{ id: 1 }] })).named("ids").to("out", Stdout.sink({}))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const from = <const Id extends string, A, E = never, R = never>(
  id: Id & FreshId<Id, never>,
  source: SourceSpec<A, E, R>,
  options?: SourceOptions
): Builder<Id, A, E, R> => start(id, source, options) as unknown as Builder<Id, A, E, R>

/**
 * The workflow graph of a pipeline (a pipeline is one; this only forgets its type parameters).
 *
 * @category getters
 * @since 0.1.0
 */
export const toGraph = (pipeline: Pipeline<string, unknown, unknown>): WorkflowGraph => pipeline

/**
 * Runs a pipeline with `Runtime.run`, keeping its user processors' error type (in a failed node's
 * `cause`) and requirements in the type. The processors' Effects get the services of the fiber
 * that runs the pipeline, so provide `R` (and the {@link Registry}, e.g. `Builtins.layer`) there.
 *
 * @category running
 * @since 0.1.0
 */
export const run: <E, R>(
  pipeline: Pipeline<string, E, R>,
  options?: Runtime.RunOptions
) => Effect.Effect<Runtime.RunSummary, RunError<E>, Registry | R> = runTyped

/**
 * Runs a pipeline that has no sink as a `Stream` of the records reaching its end: an Effect
 * application consumes a pipeline as it would any stream (an HTTP response, a `Stream.run` into
 * its own sink).
 *
 * - Pulling slowly slows the source: between the pipeline and the consumer is a queue of one
 *   batch, and the runtime's channels are bounded, so the records in flight stay bounded.
 * - When the consumer stops (it takes what it needs, fails, or is interrupted), the run is
 *   interrupted and every connector is released.
 * - Checkpoints, if configured (`execution.checkpoint_interval`, a `StateBackend`), still work:
 *   the consumer acts as an at-least-once sink — a checkpoint completes once the consumer has
 *   pulled every record before it; after a restore it may see the records since then again.
 * - The run fails the stream with a {@link RunError}; the stream requires the pipeline's
 *   services and the {@link Registry}.
 *
 * The records reach the stream through a sink node `to_stream` (or `to_stream_2`, ... when the
 * pipeline has a node of that id), which summaries, progress and checkpoints name.
 *
 * @example
 * ```ts
 * const large = Pipeline.from("orders", Csv.source({ path, columns })).filter("large", "amount >= 100")
 * const firstTen = Pipeline.toStream(large).pipe(Stream.take(10), Stream.runCollect)
 * ```
 * @category running
 * @since 0.1.0
 */
export const toStream = <Ids extends string, A, E, R, L = never>(
  pipeline: Builder<Ids, A, E, R, L>,
  options?: Runtime.RunOptions
): Stream.Stream<A, RunError<E | L>, R | Registry> => {
  const builder = untyped(pipeline)
  return streamOf<A, E | L, R>((sink) => builder.to(freshId("to_stream", builder.state.nodes.map((n) => n.id)), sink, undefined), options)
}

/**
 * A Layer overriding connectors of a pipeline by node id, checked against its ids at compile time
 * — for a pipeline being built (run with {@link toStream}) as well as a finished one
 * (`Overrides.layer(pipeline, …)` does the same for a finished one).
 *
 * @example
 * ```ts
 * Pipeline.toStream(open).pipe(Stream.runCollect, Effect.provide(Pipeline.overrides(open, { orders: Testing.memorySource(rows) })))
 * ```
 * @category testing
 * @since 0.1.0
 */
export const overrides = <Ids extends string>(
  _pipeline: Builder<Ids, unknown, unknown, unknown, unknown> | Pipeline<Ids, unknown, unknown>,
  nodes: Overrides.For<Ids>
): Layer.Layer<never> => Overrides.layer(nodes)

// -----------------------------------------------------------------------------
// data-last combinators, for `pipe(Pipeline.from(...), Pipeline.filter(...), ...)`
// -----------------------------------------------------------------------------

const untyped = (self: unknown): PipelineBuilder => self as PipelineBuilder

/**
 * Data-last `.named(name)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const named = (name: string) => <Ids extends string, A, E, R, L>(self: Builder<Ids, A, E, R, L>): Builder<Ids, A, E, R, L> =>
  self.named(name)

/**
 * Data-last `.execution(settings)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const execution = <const S extends ExecutionSettings>(settings: S & DurationsChecked<S>) =>
<Ids extends string, A, E, R, L>(self: Builder<Ids, A, E, R, L>): Builder<Ids, A, E, R, L> =>
  untyped(self).execution(settings) as unknown as Builder<Ids, A, E, R, L>

/**
 * Data-last `.filter(id, predicate)`: in a `pipe`, the record type comes from the builder.
 *
 * @example
 * ```ts
 * pipe(Pipeline.from("orders", source), Pipeline.filter("active", (r) => r.status === "active"), Pipeline.to("out", sink))
 * ```
 * @category combinators
 * @since 0.1.0
 */
export const filter = <const Id extends string, A, const C extends string = never, const O extends NodeOptions<A> = {}>(
  id: Id,
  predicate: ((record: A) => boolean) | C,
  options?: O
) =>
<Ids extends string, E, R, L>(
  self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids> & ReadsKnownFields<`filter '${Id}'`, A, C>
): Builder<Ids | Id, A, E | L, R, ConditionErrors<C, O>> =>
  untyped(self).filter(id, predicate, options) as unknown as Builder<Ids | Id, A, E | L, R, ConditionErrors<C, O>>

/**
 * Data-last `.map(id, fn)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const map = <const Id extends string, A, B>(id: Id, fn: (record: A) => B, options?: NodeOptions<A>) =>
<Ids extends string, E, R, L>(self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids>): Builder<Ids | Id, B, E | L, R> =>
  untyped(self).map(id, fn, options) as unknown as Builder<Ids | Id, B, E | L, R>

/**
 * Data-last `.mapFields(id, fields)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const mapFields = <const Id extends string, const F extends { readonly [name: string]: string }, const O extends NodeOptions = {}>(
  id: Id,
  fields: F,
  options?: O
) =>
<Ids extends string, A, E, R, L>(
  self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids> & FieldsReadKnown<`mapFields '${Id}'`, A, F>
): Builder<Ids | Id, WithFields<A, F>, E | L, R, Unhandled<O, RecordError>> =>
  untyped(self).mapFields(id, fields, options) as unknown as Builder<Ids | Id, WithFields<A, F>, E | L, R, Unhandled<O, RecordError>>

/**
 * Data-last `.select(id, fields)`; a missing field is a compile error on the step.
 *
 * @category combinators
 * @since 0.1.0
 */
export const select = <const Id extends string, const K extends ReadonlyArray<string>>(
  id: Id,
  fields: K,
  options?: NodeOptions
) =>
<Ids extends string, A, E, R, L>(
  self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids> & HasFields<`select '${Id}'`, A, K[number]>
): Builder<Ids | Id, Selected<A, K[number]>, E | L, R> =>
  untyped(self).select(id, fields, options) as unknown as Builder<Ids | Id, Selected<A, K[number]>, E | L, R>

/**
 * Data-last `.rename(id, fields)`; renaming a missing field is a compile error on the step.
 *
 * @category combinators
 * @since 0.1.0
 */
export const rename = <const Id extends string, const M extends { readonly [name: string]: string }>(
  id: Id,
  fields: M,
  options?: NodeOptions
) =>
<Ids extends string, A, E, R, L>(
  self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids> & HasFields<`rename '${Id}'`, A, keyof M>
): Builder<Ids | Id, Renamed<A, M>, E | L, R> =>
  untyped(self).rename(id, fields, options) as unknown as Builder<Ids | Id, Renamed<A, M>, E | L, R>

/**
 * Data-last `.flatMap(id, fn)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const flatMap = <const Id extends string, A, B>(id: Id, fn: (record: A) => Iterable<B>, options?: NodeOptions<A>) =>
<Ids extends string, E, R, L>(self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids>): Builder<Ids | Id, B, E | L, R> =>
  untyped(self).flatMap(id, fn, options) as unknown as Builder<Ids | Id, B, E | L, R>

/**
 * Data-last `.process(id, fn)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const process = <const Id extends string, A, B, E2, R2>(
  id: Id,
  fn: BatchFunction<A, B, E2, R2>,
  options?: NodeOptions<A>
) =>
<Ids extends string, E, R, L>(self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids>): Builder<Ids | Id, B, E | L, R | R2, E2> =>
  untyped(self).process(id, fn, options) as unknown as Builder<Ids | Id, B, E | L, R | R2, E2>

/**
 * Data-last `.via(id, spec)`, or `.via(id, (records: Stream<A>) => Stream<B>)` (annotate the
 * stream's record type: it is not known before the builder).
 *
 * @category combinators
 * @since 0.1.0
 */
export const via = <const Id extends string, I, B, E2 = never, R2 = never>(
  id: Id,
  spec: ProcessorSpec<I, B, E2, R2> | ((records: Stream.Stream<I>) => Stream.Stream<B, E2, R2>),
  options?: NodeOptions
) =>
<Ids extends string, A, E, R, L>(
  self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids> & Accepts<"processor", Id, A, I>
): Builder<Ids | Id, B, E | L | E2, R | R2> => untyped(self).via(id, spec, options) as unknown as Builder<Ids | Id, B, E | L | E2, R | R2>

/**
 * Data-last `.to(id, sink)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const to = <const Id extends string, B, E2 = never, R2 = never>(id: Id, sink: SinkSpec<B, E2, R2>, options?: NodeOptions) =>
<Ids extends string, A, E, R, L>(
  self: Builder<Ids, A, E, R, L> & FreshId<Id, Ids> & Accepts<"sink", Id, A, B>
): Pipeline<Ids | Id, E | L | E2 | ConnectorError, R | R2> =>
  untyped(self).to(id, sink, options) as Pipeline<Ids | Id, E | L | E2 | ConnectorError, R | R2>

/**
 * Data-last `.retry(schedule)`.
 *
 * @category error handling
 * @since 0.1.0
 */
export const retry = <O, L0, E3 = never, R3 = never>(schedule: Schedule.Schedule<O, L0, E3, R3>) =>
<Ids extends string, A, E, R, L extends L0>(self: Builder<Ids, A, E, R, L> & Retryable<L>): Builder<Ids, A, E | E3, R | R3> =>
  untyped(self).retry(schedule) as unknown as Builder<Ids, A, E | E3, R | R3>

/**
 * Data-last `.catchTag(tag, handler)`.
 *
 * @category error handling
 * @since 0.1.0
 */
export const catchTag = <const K extends string, Err, A, E3 = never, R3 = never>(
  tag: K,
  handler: (error: Err) => ReadonlyArray<A> | Effect.Effect<ReadonlyArray<A>, E3, R3>
) =>
<Ids extends string, E, R, L>(
  self: Builder<Ids, A, E, R, L> & ([Extract<L, { readonly _tag: K }>] extends [never] ? CompileError<`catchTag: the last step cannot fail with '${K}'`> : unknown)
): Builder<Ids, A, E, R | R3, Exclude<L, { readonly _tag: K }> | E3> =>
  untyped(self).catchTag(tag, handler) as unknown as Builder<Ids, A, E, R | R3, Exclude<L, { readonly _tag: K }> | E3>

/**
 * Handles the connectors' `ConnectorError` (of the sink, or a source) by restarting the failed
 * tasks from the last checkpoint with `strategy` (the graph's `execution.restart_strategy`):
 * removes `ConnectorError` from the pipeline's error type. A failure left when the strategy gives
 * up still fails the run.
 *
 * @example
 * ```ts
 * const p = Pipeline.restartOnFailure(pipeline, { type: "fixed-delay", attempts: 3, delay: "1s" })
 * ```
 * @category error handling
 * @since 0.1.0
 */
export const restartOnFailure = <Ids extends string, E, R>(
  pipeline: Pipeline<Ids, E, R>,
  strategy: RestartStrategy
): Pipeline<Ids, Exclude<E, ConnectorError>, R> =>
  ({ ...pipeline, execution: { ...pipeline.execution, restart_strategy: strategy } }) as Pipeline<Ids, Exclude<E, ConnectorError>, R>

/**
 * `pipeline` itself when every error it can fail with is handled (its error type is `never`), a
 * compile error naming the unhandled errors' tags otherwise. Wrap a finished pipeline in it to
 * make "no unhandled error" part of the build: an expression step's `RecordError` (handle it with
 * `on_error: "dead_letter"`), a user step's error (`.retry`, `.catchTag`), a sink's
 * `ConnectorError` ({@link restartOnFailure}).
 *
 * @example
 * ```ts
 * const checked = Pipeline.strict(Pipeline.restartOnFailure(pipeline, { type: "fixed-delay", attempts: 3, delay: "1s" }))
 * ```
 * @category error handling
 * @since 0.1.0
 */
export const strict = <Ids extends string, E, R>(
  pipeline: Pipeline<Ids, E, R> & Strict<E>
): Pipeline<Ids, never, R> => pipeline as unknown as Pipeline<Ids, never, R>

