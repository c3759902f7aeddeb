/**
 * The typed DAG builder: several sources, fan-out (one node read by several), fan-in (a node with
 * several inputs) and several sinks.
 *
 * Every node names its inputs; the builder's type keeps a map from node id to record type, so an
 * unknown input id is a compile error and a node's input type is the **union** of its inputs'
 * types. A fan-in of different record types must therefore be reconciled explicitly — a `map`
 * over the union, or a sink whose type accepts every member — and a sink that accepts only one of
 * them is a compile error. `build()` refuses (at compile time) a workflow without a sink or with
 * a node nobody reads. The built value is a plain {@link WorkflowGraph}, as the YAML loader makes.
 *
 * @example
 * ```ts
 * const w = Workflow.make("shop")
 *   .source("web", Memory.source<WebOrder>(webOrders))
 *   .source("store", Memory.source<StoreOrder>(storeOrders))
 *   .map("orders", ["web", "store"], (o) => ("sku" in o ? { id: o.id, item: o.sku } : { id: o.id, item: o.item }))
 *   .filter("large", ["orders"], "id > 100")
 *   .sink("all", ["orders"], Ndjson.sink({ path: "all.ndjson" }))
 *   .sink("audit", ["large"], Stdout.sink({}))
 *   .build()
 * ```
 * @since 0.1.0
 */
import type { Effect, Layer, Stream } from "effect"
import type { ConnectorError } from "../src/Errors.ts"
import * as Overrides from "../src/Overrides.ts"
import type { Registry } from "../src/Registry.ts"
import type * as Runtime from "../src/Runtime.ts"
import type { WorkflowGraph } from "../src/WorkflowGraph.ts"
import { restartOnFailure as restartPipeline, strict as strictPipeline } from "./Pipeline.ts"
import type { Initial, Lenient, Policy, Strict, StrictEnd } from "./internal/errors.ts"
import { runTyped } from "./internal/run.ts"
import { freshId, streamOf } from "./internal/toStream.ts"
import type { CompileError, DurationsChecked, ExecutionSettings, RunError } from "./internal/types.ts"
import { empty, type WorkflowBuilder } from "./internal/workflow.ts"
import type { Builder, ErrorsOf, Readable, Records, Workflow } from "./internal/workflowBuilder.ts"

export type {
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
   * Settings of a source node (`parallelism`).
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
  RunError,
  /**
   * Settings of a dead-letter sink (`parallelism`).
   *
   * @category models
   * @since 0.5.0
   */
  SinkOptions
} from "./internal/types.ts"
export type {
  /**
   * A record a node set aside, as its dead-letter sink receives it (`node`, `at`, `tag`,
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
   * The policy of a builder made without options.
   *
   * @category type-level
   * @since 0.5.0
   */
  Lenient
} from "./internal/errors.ts"

export type {
  /**
   * A built workflow: a graph whose type remembers its node ids, error type and requirements.
   *
   * @category models
   * @since 0.1.0
   */
  Workflow,
  /**
   * A workflow being built (node id → record type, read ids, sinks, errors, requirements, the
   * last node's errors, the error policy).
   *
   * @category models
   * @since 0.1.0
   */
  Builder,
  /**
   * The node ids a node can read from.
   *
   * @category type-level
   * @since 0.1.0
   */
  Readable,
  /**
   * A non-empty list of input ids.
   *
   * @category type-level
   * @since 0.1.0
   */
  Inputs,
  /**
   * The record type a node with inputs `In` reads.
   *
   * @category type-level
   * @since 0.1.0
   */
  InputOf,
  /**
   * A record type as a value, for `Builder.port`.
   *
   * @category models
   * @since 0.1.0
   */
  Records,
  /**
   * The node declared last: its errors and output records.
   *
   * @category type-level
   * @since 0.5.0
   */
  Last,
  /**
   * The errors of the node declared last.
   *
   * @category type-level
   * @since 0.5.0
   */
  ErrorsOf,
  /**
   * The output records of the node declared last.
   *
   * @category type-level
   * @since 0.5.0
   */
  RecordsOf,
  /**
   * Whether the node declared last is a `process` declared pure.
   *
   * @category type-level
   * @since 0.6.0
   */
  PureOf,
  /**
   * Why a workflow cannot be built yet.
   *
   * @category type-level
   * @since 0.1.0
   */
  BuildCheck,
  /**
   * The node declared last is a source or a sink: no handler applies to it.
   *
   * @category type-level
   * @since 0.5.0
   */
  ConnectorNode,
  /**
   * The check of `.deadLetter` on the node declared last.
   *
   * @category type-level
   * @since 0.5.0
   */
  LetterCheck
} from "./internal/workflowBuilder.ts"

/**
 * Options of {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface MakeOptions<S extends ExecutionSettings = ExecutionSettings, Strict extends boolean = boolean> {
  readonly version?: string | undefined
  /**
   * `true`: `build()` (and `Workflow.toStream`) does not compile while any error of the
   * workflow's nodes is unhandled — as if the built workflow were wrapped in {@link strict}.
   */
  readonly strict?: Strict | undefined
  /** Execution settings (durations: `500ms`, `30s`, `1.5m`, `1h`, or milliseconds). */
  readonly execution?: (S & DurationsChecked<S>) | undefined
}

/**
 * Starts a workflow. With `{ strict: true }`, `build()` needs every error handled; a
 * `restart_strategy` in `execution` handles `ConnectorError`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <const S extends ExecutionSettings = {}, const Strict extends boolean = false>(
  name: string,
  options?: MakeOptions<S, Strict>
): Builder<{}, never, never, never, never, never, Initial<Strict, S>> =>
  empty(name, options?.version, options?.execution ?? {}) as unknown as Builder<{}, never, never, never, never, never, Initial<Strict, S>>

/**
 * The record type of a side output, for {@link Builder.port}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const records = <A>(): Records<A> => ({})

/**
 * The workflow graph of a built workflow (it is one; this only forgets its type parameters).
 *
 * @category getters
 * @since 0.1.0
 */
export const toGraph = (workflow: Workflow<string, unknown, unknown>): WorkflowGraph => workflow

/**
 * Why a workflow's node cannot be streamed yet (see {@link toStream}): every other node must be
 * read by some node or sink.
 *
 * @category type-level
 * @since 0.1.0
 */
export type StreamCheck<Nodes, Read extends string> = [Exclude<keyof Nodes, Read>] extends [never] ? unknown
  : CompileError<`node '${Exclude<keyof Nodes, Read> & string}' is not read by any node or sink`>

/**
 * Runs a workflow (not built: no `build()`) as a `Stream` of the output records of its node
 * `node`, as `Pipeline.toStream` does for a pipeline: bounded in memory (a slow consumer slows the
 * sources), interrupted with every connector released when the consumer stops, checkpoints with
 * the consumer as an at-least-once sink. The workflow may have sinks of its own; every node other
 * than `node` must be read (a compile error otherwise). The stream fails with a {@link RunError}
 * and requires the workflow's services and the {@link Registry}.
 *
 * @example
 * ```ts
 * const w = Workflow.make("shop").source("web", web).source("store", store).map("orders", ["web", "store"], toOrder)
 * const orders = Workflow.toStream(w, "orders")
 * ```
 * @category running
 * @since 0.1.0
 */
export const toStream = <
  Nodes,
  Read extends string,
  Sinks extends string,
  E,
  R,
  const Id extends Readable<Nodes>,
  L = never,
  P extends Policy = Lenient
>(
  workflow: Builder<Nodes, Read, Sinks, E, R, L, P> & StreamCheck<Nodes, Read | Id> & StrictEnd<P, E | ErrorsOf<L>>,
  node: Id,
  options?: Runtime.RunOptions
): Stream.Stream<Nodes[Id], RunError<E | ErrorsOf<L>>, R | Registry> => {
  const builder = workflow as unknown as WorkflowBuilder
  return streamOf<Nodes[Id], E | ErrorsOf<L>, R>(
    (sink) => builder.sink(freshId("to_stream", builder.state.nodes.map((n) => n.id)), [node], sink).build(),
    options
  )
}

/**
 * A Layer overriding connectors of a workflow by node id, checked against its ids at compile time
 * — for a workflow being built (run with {@link toStream}) as well as a built one.
 *
 * @category testing
 * @since 0.1.0
 */
export const overrides: {
  <Nodes, Read extends string, Sinks extends string, E, R, L, P extends Policy>(
    workflow: Builder<Nodes, Read, Sinks, E, R, L, P>,
    nodes: Overrides.For<keyof Nodes & string | Sinks>
  ): Layer.Layer<never>
  <Ids extends string>(workflow: Workflow<Ids, unknown, unknown>, nodes: Overrides.For<Ids>): Layer.Layer<never>
} = (_workflow: unknown, nodes: Overrides.For<string>): Layer.Layer<never> => Overrides.layer(nodes)

/**
 * Runs a built workflow with `Runtime.run`, keeping its user processors' error type (in a failed
 * node's `cause`) and requirements in the type; provide `R` and the registry where it runs.
 *
 * @category running
 * @since 0.1.0
 */
export const run: <E, R>(
  workflow: Workflow<string, E, R>,
  options?: Runtime.RunOptions
) => Effect.Effect<Runtime.RunSummary, RunError<E>, Registry | R> = runTyped

/**
 * Handles the connectors' `ConnectorError` by restarting failed tasks from the last checkpoint
 * with `strategy` (`execution.restart_strategy`); removes it from the workflow's error type (as
 * `Pipeline.restartOnFailure`).
 *
 * @category error handling
 * @since 0.1.0
 */
export const restartOnFailure: <Ids extends string, E, R>(
  workflow: Workflow<Ids, E, R>,
  strategy: Parameters<typeof restartPipeline>[1]
) => Workflow<Ids, Exclude<E, ConnectorError>, R> = restartPipeline

/**
 * `workflow` itself when every error it can fail with is handled, a compile error naming the
 * unhandled errors' tags otherwise: an expression step's `RecordError` (`on_error: "dead_letter"`),
 * a user processor's error, a sink's `ConnectorError` ({@link restartOnFailure}). See
 * `Pipeline.strict`.
 *
 * @example
 * ```ts
 * const checked = Workflow.strict(Workflow.restartOnFailure(workflow, { type: "fixed-delay", attempts: 3, delay: "1s" }))
 * ```
 * @category error handling
 * @since 0.1.0
 */
export const strict: <Ids extends string, E, R>(
  workflow: Workflow<Ids, E, R> & Strict<E>
) => Workflow<Ids, never, R> = strictPipeline
