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
import type { Effect, Layer, Pipeable, Schedule, Stream } from "effect"
import * as Overrides from "../src/Overrides.ts"
import type { Registry } from "../src/Registry.ts"
import type * as Runtime from "../src/Runtime.ts"
import type { ProcessorSpec, SinkSpec, SourceSpec } from "../src/Spec.ts"
import type { WorkflowGraph } from "../src/WorkflowGraph.ts"
import type { ConnectorError, RecordError } from "../src/Errors.ts"
import { restartOnFailure as restartPipeline, strict as strictPipeline } from "./Pipeline.ts"
import type { FieldsReadKnown, ReadsKnownFields } from "./internal/expression.ts"
import { runTyped } from "./internal/run.ts"
import { freshId, streamOf } from "./internal/toStream.ts"
import type {
  AfterSettings,
  DeadLetterable,
  DeadLetterEnvelope,
  DeclaredLetters,
  HasRestart,
  Initial,
  Lenient,
  Policy,
  Restarted,
  Restarting,
  Retryable,
  Settled,
  SinkErrors,
  Strict,
  StrictEnd,
  TagOf,
  Unhandled,
  WithLetters
} from "./internal/errors.ts"
import type {
  Accepts,
  BatchFunction,
  CompileError,
  DurationsChecked,
  ExecutionSettings,
  FieldOf,
  FreshId,
  KnownFields,
  NodeOptions,
  Renamed,
  RenameFields,
  RunError,
  Selected,
  Simplify,
  SinkOptions,
  SourceOptions,
  TypedGraph,
  WithFields
} from "./internal/types.ts"
import { empty, type WorkflowBuilder } from "./internal/workflow.ts"

export type {
  /**
   * Per-node settings (`parallelism`, `key_by`, `ordered`), the last argument of every step.
   *
   * @category models
   * @since 0.1.0
   */
  NodeOptions,
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
   * `source`, `position`, `error`, `record`).
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

/**
 * A built workflow: a {@link WorkflowGraph} whose type remembers its node ids and its user
 * processors' error type and requirements.
 *
 * @category models
 * @since 0.1.0
 */
export type Workflow<Ids extends string = string, E = unknown, R = unknown> = TypedGraph<Ids, E, R>

/**
 * The node ids a node can read from (every node but the sinks).
 *
 * @category type-level
 * @since 0.1.0
 */
export type Readable<Nodes> = keyof Nodes & string

/**
 * A non-empty list of input ids.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Inputs<Nodes> = readonly [Readable<Nodes>, ...Array<Readable<Nodes>>]

/**
 * The record type a node with inputs `In` reads: the union of its inputs' record types.
 *
 * @category type-level
 * @since 0.1.0
 */
export type InputOf<Nodes, In extends ReadonlyArray<keyof Nodes>> = Nodes[In[number]]

type With<Nodes, Id extends string, A> = Simplify<Nodes & { readonly [K in Id]: A }>

/** The node a side-output reference `node.port` belongs to (split at the last dot, as the runtime does). */
type OwnerOf<S> = S extends `${infer H}.${infer T}` ? (T extends `${string}.${string}` ? `${H}.${OwnerOf<T>}` : H) : never

/** What reading inputs `In` marks as read: the inputs, and the owners of side outputs among them. */
type ReadBy<In extends ReadonlyArray<string>> = In[number] | OwnerOf<In[number]>

declare const RecordsId: unique symbol

/**
 * A record type as a value, for {@link Builder.port}: `Workflow.records<LateOrder>()`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Records<out A> {
  readonly [RecordsId]?: A
}

/**
 * The node declared last, as `.retry`, `.catchTag` and `.deadLetter` see it: the errors they can
 * still handle (`E`) and its output records (`B`, what a `catchTag` handler gives instead).
 *
 * @category type-level
 * @since 0.5.0
 */
export interface Last<out E, out B> {
  readonly errors: E
  readonly records: B
}

/**
 * The errors of the node declared last (`never` when it has none to handle).
 *
 * @category type-level
 * @since 0.5.0
 */
export type ErrorsOf<L> = L extends Last<infer E, unknown> ? E : never

/**
 * The output records of the node declared last.
 *
 * @category type-level
 * @since 0.5.0
 */
export type RecordsOf<L> = L extends Last<unknown, infer B> ? B : never

/**
 * Why a workflow cannot be built yet, as the type `build` needs `this` to have.
 *
 * @category type-level
 * @since 0.1.0
 */
export type BuildCheck<Nodes, Read extends string, Sinks extends string> = [Sinks] extends [never]
  ? CompileError<"a workflow needs at least one sink">
  : [Exclude<keyof Nodes, Read>] extends [never] ? unknown
  : CompileError<`node '${Exclude<keyof Nodes, Read> & string}' is not read by any node or sink`>

/**
 * A workflow being built. `Nodes` maps every non-sink node id to its output record type, `Read`
 * is the ids some node reads, `Sinks` the sink ids, `E` and `R` the error type and requirements of
 * the user processors. Immutable: every step returns a new builder.
 *
 * @category models
 * @since 0.1.0
 */
export interface Builder<Nodes, Read extends string, Sinks extends string, E, R, L = never, P extends Policy = Lenient> extends Pipeable.Pipeable {
  /** Sets the workflow name. */
  named(name: string): Builder<Nodes, Read, Sinks, E, R, L, P>
  /** Sets the workflow version. */
  version(version: string): Builder<Nodes, Read, Sinks, E, R, L, P>
  /**
   * Sets execution settings, merged over earlier ones (durations: `500ms`, `30s`, `1.5m`, `1h`).
   * A `restart_strategy` (other than `none`) handles `ConnectorError`, as {@link restartOnFailure}.
   */
  execution<const S extends ExecutionSettings>(
    settings: S & DurationsChecked<S>
  ): Builder<Nodes, Read, Sinks, HasRestart<S> extends true ? Exclude<E, ConnectorError> : E, R, L, AfterSettings<P, S>>
  /** Adds a source node (its spec's error type and services are added to the workflow's). */
  source<const Id extends string, A, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    spec: SourceSpec<A, E2, R2>,
    options?: SourceOptions
  ): Builder<With<Nodes, Id, A>, Read, Sinks, E | ErrorsOf<L> | Settled<P, E2>, R | R2, never, P>
  /** Keeps the records for which `predicate` is true. */
  filter<const Id extends string, const In extends Inputs<Nodes>>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    predicate: (record: InputOf<Nodes, In>) => boolean,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, InputOf<Nodes, In>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Keeps the records for which the expression is true; the fields it reads must exist. */
  filter<const Id extends string, const In extends Inputs<Nodes>, const C extends string, const O extends NodeOptions<InputOf<Nodes, In>> = {}>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    condition: C & ReadsKnownFields<`filter '${Id}'`, InputOf<Nodes, In>, C>,
    options?: O
  ): Builder<With<Nodes, Id, InputOf<Nodes, In>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, Last<Unhandled<O, RecordError>, InputOf<Nodes, In>>, P>
  /** Replaces each record by `fn(record)`: the way to reconcile a fan-in of different types. */
  map<const Id extends string, const In extends Inputs<Nodes>, B>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fn: (record: InputOf<Nodes, In>) => B,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Sets fields to the values of expressions (reading fields that exist); computed fields are `unknown`. */
  mapFields<
    const Id extends string,
    const In extends Inputs<Nodes>,
    const F extends { readonly [name: string]: string },
    const O extends NodeOptions<InputOf<Nodes, In>> = {}
  >(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fields: F & FieldsReadKnown<`mapFields '${Id}'`, InputOf<Nodes, In>, F>,
    options?: O
  ): Builder<With<Nodes, Id, WithFields<InputOf<Nodes, In>, F>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, Last<Unhandled<O, RecordError>, InputOf<Nodes, In>>, P>
  /** Keeps only the listed fields (fields every input has). */
  select<
    const Id extends string,
    const In extends Inputs<Nodes>,
    const K extends ReadonlyArray<FieldOf<InputOf<Nodes, In>>>
  >(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fields: K,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, Selected<InputOf<Nodes, In>, K[number]>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Renames fields, old name → new name. */
  rename<const Id extends string, const In extends Inputs<Nodes>, const M extends RenameFields<InputOf<Nodes, In>>>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fields: M & KnownFields<Id, InputOf<Nodes, In>, M>,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, Renamed<InputOf<Nodes, In>, M>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Replaces each record by zero or more records. */
  flatMap<const Id extends string, const In extends Inputs<Nodes>, B>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fn: (record: InputOf<Nodes, In>) => Iterable<B>,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /**
   * A user processor as an Effect per batch; its error type and requirements are tracked (its
   * errors are the last node's until the next node: `.retry` / `.catchTag` can handle them).
   */
  process<const Id extends string, const In extends Inputs<Nodes>, B, E2, R2>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fn: BatchFunction<InputOf<Nodes, In>, B, E2, R2>,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R | R2, Last<E2, B>, P>
  /** A registered (third-party) processor that must accept its inputs' records. */
  via<const Id extends string, const In extends Inputs<Nodes>, I, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    spec: ProcessorSpec<I, B, E2, R2> & Accepts<"processor", Id, InputOf<Nodes, In>, I>,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L> | Settled<P, E2>, R | R2, never, P>
  /**
   * A user's Effect Stream transformation, applied to the records of each batch on its own:
   * stateless transformations only, never fused (see `Pipeline.Builder.via`).
   */
  via<const Id extends string, const In extends Inputs<Nodes>, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fn: (records: Stream.Stream<InputOf<Nodes, In>>) => Stream.Stream<B, E2, R2>,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R | R2, Last<E2, B>, P>
  /**
   * Adds a sink that must accept the records of every input; it adds `ConnectorError` to `E`
   * unless a restart strategy handles it.
   */
  sink<const Id extends string, const In extends Inputs<Nodes>, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    spec: SinkSpec<B, E2, R2> & Accepts<"sink", Id, InputOf<Nodes, In>, B>,
    options?: NodeOptions<InputOf<Nodes, In>>
  ): Builder<Nodes, Read | ReadBy<In>, Sinks | Id, E | ErrorsOf<L> | Settled<P, E2> | SinkErrors<P>, R | R2, never, P>
  /**
   * Declares the side output `port` of a processor node (e.g. the `late` records of an
   * `aggregate`), so later nodes can read it as input `"<node>.<port>"`. Adds no graph node; the
   * runtime checks that the processor has the port. A side output need not be read.
   */
  port<const Node extends Readable<Nodes>, const Port extends string, A = unknown>(
    node: Node,
    port: Port & FreshId<`${Node}.${Port}`, keyof Nodes & string | Sinks>,
    records?: Records<A>
  ): Builder<With<Nodes, `${Node}.${Port}`, A>, Read | `${Node}.${Port}`, Sinks, E, R, L, P>
  /**
   * Retries the node declared last — a user node (`process`, or `via` with a Stream function) —
   * by `schedule` when it fails (see `Pipeline.Builder.retry`). Removes its errors.
   */
  retry<O, E3 = never, R3 = never>(
    schedule: Schedule.Schedule<O, NoInfer<ErrorsOf<L>>, E3, R3> & Retryable<ErrorsOf<L>>
  ): Builder<Nodes, Read, Sinks, E | E3, R | R3, never, P>
  /**
   * Handles one tagged error of the user node declared last: `handler` gives its output records
   * for the failed batch (see `Pipeline.Builder.catchTag`). Removes that error.
   */
  catchTag<const K extends TagOf<ErrorsOf<L>>, E3 = never, R3 = never>(
    tag: K,
    handler: (
      error: Extract<ErrorsOf<L>, { readonly _tag: K }>
    ) => ReadonlyArray<RecordsOf<L>> | Effect.Effect<ReadonlyArray<RecordsOf<L>>, E3, R3>
  ): Builder<Nodes, Read, Sinks, E, R | R3, Last<Exclude<ErrorsOf<L>, { readonly _tag: K }> | E3, RecordsOf<L>>, P>
  /**
   * Sets the failed records of the node declared last (a record-by-record node: `filter`, `map`,
   * `mapFields`, `select`, `rename`, `flatMap`) aside in the dead-letter sink `id` declared here,
   * as {@link DeadLetterEnvelope}s (see `Pipeline.Builder.deadLetter`). The sink reads nothing
   * else; it must accept envelopes and adds its `ConnectorError`. Removes the node's `RecordError`.
   */
  deadLetter<const Id extends string, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks> & DeadLetterable<ErrorsOf<L>>,
    sink: SinkSpec<B, E2, R2> & Accepts<"dead-letter sink", Id, DeadLetterEnvelope, B>,
    options?: SinkOptions
  ): Builder<Nodes, Read, Sinks | Id, E | Settled<P, E2> | SinkErrors<P>, R | R2, never, WithLetters<P, Id>>
  /** Sets the failed records of the node declared last aside in a dead-letter sink declared before. */
  deadLetter<const Id extends string>(
    id: Id & DeclaredLetters<Id, P["letters"]> & DeadLetterable<ErrorsOf<L>>
  ): Builder<Nodes, Read, Sinks, E, R, never, P>
  /**
   * Handles `ConnectorError` by restarting failed tasks from the last checkpoint with `strategy`
   * (`execution.restart_strategy`), as {@link restartOnFailure} does on a built workflow.
   */
  restartOnFailure(strategy: Restarting): Builder<Nodes, Read, Sinks, Exclude<E, ConnectorError>, R, L, Restarted<P>>
  /**
   * The workflow graph. A compile error when there is no sink or a node is not read by anything
   * (the same checks `Runtime.prepare` makes at run time), and, for a workflow made with
   * `{ strict: true }`, while an error is unhandled (`CompileError<"strict: unhandled errors: ...">`).
   */
  build(
    this: Builder<Nodes, Read, Sinks, E, R, L, P> & BuildCheck<Nodes, Read, Sinks> & StrictEnd<P, E | ErrorsOf<L>>
  ): Workflow<keyof Nodes & string | Sinks, E | ErrorsOf<L>, R>
}

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
