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
import type { Effect, Layer, Stream } from "effect"
import type { ConnectorError } from "../src/Errors.ts"
import * as Overrides from "../src/Overrides.ts"
import type { Registry } from "../src/Registry.ts"
import type * as Runtime from "../src/Runtime.ts"
import type { SourceSpec } from "../src/Spec.ts"
import type { RestartStrategy, WorkflowGraph } from "../src/WorkflowGraph.ts"
import type { Initial, Lenient, Policy, Restarted, Restarting, Strict, StrictEnd } from "./internal/errors.ts"
import { type PipelineBuilder, start } from "./internal/pipeline.ts"
import type { Builder, Pipeline } from "./internal/pipelineBuilder.ts"
import { runTyped } from "./internal/run.ts"
import { freshId, streamOf } from "./internal/toStream.ts"
import { restartOnFailureLast } from "./internal/pipelineCombinators.ts"
import type { FreshId, FromOptions, RunError } from "./internal/types.ts"

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
  Unhandled,
  /**
   * A record a step set aside, as its dead-letter sink receives it (`node`, `at`, `tag`,
   * `source`, `position`, `error`, `detail`, `record`).
   *
   * @category models
   * @since 0.5.0
   */
  DeadLetterEnvelope,
  /**
   * A builder's error policy: strict or not, restarted or not, its dead-letter sinks.
   *
   * @category type-level
   * @since 0.5.0
   */
  Policy,
  /**
   * The policy of a builder started without options.
   *
   * @category type-level
   * @since 0.5.0
   */
  Lenient
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
   * Options of a `process` step: the node's settings and `pure` (its failed records can then be
   * set aside).
   *
   * @category models
   * @since 0.6.0
   */
  ProcessOptions,
  /**
   * Settings of the source node (`parallelism`).
   *
   * @category models
   * @since 0.1.0
   */
  SourceOptions,
  /**
   * Options of {@link from}: the source node's settings and `strict`.
   *
   * @category models
   * @since 0.5.0
   */
  FromOptions,
  /**
   * Settings of a dead-letter sink (`parallelism`).
   *
   * @category models
   * @since 0.5.0
   */
  SinkOptions,
  /**
   * Everything a run can fail with (definition, node and state backend errors).
   *
   * @category errors
   * @since 0.1.0
   */
  RunError
} from "./internal/types.ts"
export type {
  /**
   * A pipeline being built: the node ids declared so far (`Ids`), the record type reaching the
   * next step (`A`), the errors of its steps before the last and their requirements (`E`, `R`),
   * the errors of the last step (`L`), which `.retry`, `.catchTag` and `.deadLetter` can still
   * handle, the error policy (`P`), and whether the last step is a `process` declared pure (`Pure`).
   *
   * @category models
   * @since 0.1.0
   */
  Builder,
  /**
   * A finished pipeline: a {@link WorkflowGraph} whose type remembers its node ids, its error
   * type and its requirements.
   *
   * @category models
   * @since 0.1.0
   */
  Pipeline
} from "./internal/pipelineBuilder.ts"
export {
  catchTag,
  deadLetter,
  execution,
  filter,
  flatMap,
  map,
  mapFields,
  named,
  process,
  rename,
  retry,
  select,
  to,
  via
} from "./internal/pipelineCombinators.ts"

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
export const from = <const Id extends string, A, E = never, R = never, const Strict extends boolean = false>(
  id: Id & FreshId<Id, never>,
  source: SourceSpec<A, E, R>,
  options?: FromOptions<Strict>
): Builder<Id, A, E, R, never, Initial<Strict, {}>> => start(id, source, options) as unknown as Builder<Id, A, E, R, never, Initial<Strict, {}>>

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
export const toStream = <Ids extends string, A, E, R, L = never, P extends Policy = Lenient, Pure extends boolean = false>(
  pipeline: Builder<Ids, A, E, R, L, P, Pure> & StrictEnd<P, E | L>,
  options?: Runtime.RunOptions
): Stream.Stream<A, RunError<E | L>, R | Registry> => {
  const builder = pipeline as unknown as PipelineBuilder
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
export const overrides = <Ids extends string, A = unknown, E = unknown, R = unknown, L = unknown, P extends Policy = Policy, Pure extends boolean = boolean>(
  _pipeline: Builder<Ids, A, E, R, L, P, Pure> | Pipeline<Ids, unknown, unknown>,
  nodes: Overrides.For<Ids>
): Layer.Layer<never> => Overrides.layer(nodes)

/**
 * Handles the connectors' `ConnectorError` (of the sink, or a source) by restarting the failed
 * tasks from the last checkpoint with `strategy` (the graph's `execution.restart_strategy`):
 * removes `ConnectorError` from the pipeline's error type. A failure left when the strategy gives
 * up still fails the run. Dual: `Pipeline.restartOnFailure(pipeline, strategy)` on a finished
 * pipeline, `Pipeline.restartOnFailure(strategy)` on a builder in a `pipe` (as
 * `.restartOnFailure(strategy)`: before `.to`, so a strict builder's `.to` compiles).
 *
 * @example
 * ```ts
 * const p = Pipeline.restartOnFailure(pipeline, { type: "fixed-delay", attempts: 3, delay: "1s" })
 * ```
 * @category error handling
 * @since 0.1.0
 */
export const restartOnFailure: {
  (strategy: Restarting): <Ids extends string, A, E, R, L, P extends Policy, Pure extends boolean = false>(
    self: Builder<Ids, A, E, R, L, P, Pure>
  ) => Builder<Ids, A, Exclude<E, ConnectorError>, R, L, Restarted<P>, Pure>
  <Ids extends string, E, R>(pipeline: Pipeline<Ids, E, R>, strategy: RestartStrategy): Pipeline<Ids, Exclude<E, ConnectorError>, R>
} = ((...args: [RestartStrategy] | [WorkflowGraph, RestartStrategy]) =>
  args.length === 1 ? restartOnFailureLast(args[0] as Restarting) : restartGraph(args[0], args[1])) as never

const restartGraph = (graph: WorkflowGraph, strategy: RestartStrategy): WorkflowGraph => ({
  ...graph,
  execution: { ...graph.execution, restart_strategy: strategy }
})

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

