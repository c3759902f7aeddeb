/**
 * The typed view of the DAG builder: {@link Builder} (a workflow being built), {@link Workflow}
 * (a built one) and the type-level helpers of their inputs, side outputs and last node. Types
 * only; the run-time builder is `workflow.ts`. The facade `dsl/Workflow.ts` re-exports them.
 *
 * @since 0.1.0
 */
import type { Effect, Pipeable, Schedule, Stream } from "effect"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import type { ProcessorSpec, SinkSpec, SourceSpec } from "../../src/Spec.ts"
import type {
  AfterSettings,
  DeadLetterable,
  DeadLetterEnvelope,
  DeclaredLetters,
  HasRestart,
  IsPure,
  Lenient,
  Policy,
  ProcessErrors,
  Restarted,
  Restarting,
  Retryable,
  Settled,
  SinkErrors,
  StrictEnd,
  TagOf,
  Unhandled,
  WithLetters
} from "./errors.ts"
import type { FieldsReadKnown, ReadsKnownFields } from "./expression.ts"
import type {
  Accepts,
  BatchFunction,
  CompileError,
  DurationsChecked,
  ExecutionSettings,
  FieldOf,
  FreshId,
  KnownFields,
  NoOverwrite,
  NodeOptions,
  ProcessOptions,
  Renamed,
  RenameFields,
  Selected,
  Simplify,
  SinkOptions,
  SourceOptions,
  TypedGraph,
  WithFields
} from "./types.ts"

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
 * still handle (`E`), its output records (`B`, what a `catchTag` handler gives instead), and
 * whether it is a `process` declared pure (`Pure`: `.deadLetter` handles its errors).
 *
 * @category type-level
 * @since 0.5.0
 */
export interface Last<out E, out B, out Pure extends boolean = false> {
  readonly errors: E
  readonly records: B
  readonly pure: Pure
}

/**
 * The errors of the node declared last (`never` when it has none to handle).
 *
 * @category type-level
 * @since 0.5.0
 */
export type ErrorsOf<L> = L extends Last<infer E, unknown, boolean> ? E : never

/**
 * The output records of the node declared last.
 *
 * @category type-level
 * @since 0.5.0
 */
export type RecordsOf<L> = L extends Last<unknown, infer B, boolean> ? B : never

/**
 * Whether the node declared last is a `process` declared pure.
 *
 * @category type-level
 * @since 0.6.0
 */
export type PureOf<L> = L extends Last<unknown, unknown, true> ? true : false

/**
 * The node declared last is a connector — a source or a sink (`Kind`) — which reads its own
 * `on_error` in its config: `.retry`, `.catchTag` and `.deadLetter` do not apply to it.
 *
 * @category type-level
 * @since 0.5.0
 */
export interface ConnectorNode<out Kind extends "source" | "sink"> {
  readonly connector: Kind
}

/**
 * The check of `.deadLetter` on the node declared last `L`: a {@link CompileError} after a source
 * or a sink, or after a node failing whole batches (see `DeadLetterable`; a `process` declared
 * pure does not).
 *
 * @category type-level
 * @since 0.5.0
 */
export type LetterCheck<L> = [L] extends [never] ? unknown
  : [L] extends [ConnectorNode<infer Kind>] ? CompileError<`deadLetter: the node declared last is a ${Kind}, which reads its own on_error in its config`>
  : DeadLetterable<ErrorsOf<L>, PureOf<L>>

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
  ): Builder<With<Nodes, Id, A>, Read, Sinks, E | ErrorsOf<L> | Settled<P, E2>, R | R2, ConnectorNode<"source">, P>
  /** Keeps the records for which `predicate` is true. */
  filter<const Id extends string, const In extends Inputs<Nodes>>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    predicate: (record: InputOf<Nodes, In>) => boolean,
    options?: NodeOptions<InputOf<Nodes, In>, P["letters"]>
  ): Builder<With<Nodes, Id, InputOf<Nodes, In>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Keeps the records for which the expression is true; the fields it reads must exist. */
  filter<const Id extends string, const In extends Inputs<Nodes>, const C extends string, const O extends NodeOptions<InputOf<Nodes, In>, P["letters"]> = {}>(
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
    options?: NodeOptions<InputOf<Nodes, In>, P["letters"]>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Sets fields to the values of expressions (reading fields that exist); computed fields are `unknown`. */
  mapFields<
    const Id extends string,
    const In extends Inputs<Nodes>,
    const F extends { readonly [name: string]: string },
    const O extends NodeOptions<InputOf<Nodes, In>, P["letters"]> = {}
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
    options?: NodeOptions<InputOf<Nodes, In>, P["letters"]>
  ): Builder<With<Nodes, Id, Selected<InputOf<Nodes, In>, K[number]>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Renames fields, old name → new name. */
  rename<const Id extends string, const In extends Inputs<Nodes>, const M extends RenameFields<InputOf<Nodes, In>>>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fields: M & KnownFields<Id, InputOf<Nodes, In>, M> & NoOverwrite<Id, InputOf<Nodes, In>, M>,
    options?: NodeOptions<InputOf<Nodes, In>, P["letters"]>
  ): Builder<With<Nodes, Id, Renamed<InputOf<Nodes, In>, M>>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /** Replaces each record by zero or more records. */
  flatMap<const Id extends string, const In extends Inputs<Nodes>, B>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fn: (record: InputOf<Nodes, In>) => Iterable<B>,
    options?: NodeOptions<InputOf<Nodes, In>, P["letters"]>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R, never, P>
  /**
   * A user processor as an Effect per batch; its error type and requirements are tracked (its
   * errors are the last node's until the next node: `.retry` / `.catchTag` can handle them).
   * Declared `{ pure: true }`, `.deadLetter` can handle them too (see `Pipeline.Builder.process`).
   */
  process<const Id extends string, const In extends Inputs<Nodes>, B, E2, R2, const O extends ProcessOptions<InputOf<Nodes, In>, P["letters"]> = {}>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fn: BatchFunction<InputOf<Nodes, In>, B, E2, R2>,
    options?: O
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R | R2, Last<ProcessErrors<O, E2>, B, IsPure<O>>, P>
  /** A registered (third-party) processor that must accept its inputs' records. */
  via<const Id extends string, const In extends Inputs<Nodes>, I, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    spec: ProcessorSpec<I, B, E2, R2> & Accepts<"processor", Id, InputOf<Nodes, In>, I>,
    options?: NodeOptions<InputOf<Nodes, In>, P["letters"]>
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L> | Settled<P, E2>, R | R2, never, P>
  /**
   * A user's Effect Stream transformation, applied to the records of each batch on its own:
   * stateless transformations only, never fused (see `Pipeline.Builder.via`). Declared
   * `{ pure: true }`, `.deadLetter` can handle its errors (see `Pipeline.Builder.via`).
   */
  via<
    const Id extends string,
    const In extends Inputs<Nodes>,
    B,
    E2 = never,
    R2 = never,
    const O extends ProcessOptions<InputOf<Nodes, In>, P["letters"]> = {}
  >(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    fn: (records: Stream.Stream<InputOf<Nodes, In>>) => Stream.Stream<B, E2, R2>,
    options?: O
  ): Builder<With<Nodes, Id, B>, Read | ReadBy<In>, Sinks, E | ErrorsOf<L>, R | R2, Last<ProcessErrors<O, E2>, B, IsPure<O>>, P>
  /**
   * Adds a sink that must accept the records of every input; it adds `ConnectorError` to `E`
   * unless a restart strategy handles it.
   */
  sink<const Id extends string, const In extends Inputs<Nodes>, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks>,
    inputs: In,
    spec: SinkSpec<B, E2, R2> & Accepts<"sink", Id, InputOf<Nodes, In>, B>,
    options?: NodeOptions<InputOf<Nodes, In>, P["letters"]>
  ): Builder<Nodes, Read | ReadBy<In>, Sinks | Id, E | ErrorsOf<L> | Settled<P, E2> | SinkErrors<P>, R | R2, ConnectorNode<"sink">, P>
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
  ): Builder<Nodes, Read, Sinks, E, R | R3, Last<Exclude<ErrorsOf<L>, { readonly _tag: K }> | E3, RecordsOf<L>, PureOf<L>>, P>
  /**
   * Sets the failed records of the node declared last (a record-by-record node: `filter`, `map`,
   * `mapFields`, `select`, `rename`, `flatMap`; an `aggregate` or `dedupe` through `via`; a
   * `process` declared `{ pure: true }`) aside in the dead-letter sink `id` declared here,
   * as {@link DeadLetterEnvelope}s (see `Pipeline.Builder.deadLetter`). The sink reads nothing
   * else; it must accept envelopes and adds its `ConnectorError`. Removes the node's record errors (a pure process's, all of them).
   */
  deadLetter<const Id extends string, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, keyof Nodes & string | Sinks> & LetterCheck<L>,
    sink: SinkSpec<B, E2, R2> & Accepts<"dead-letter sink", Id, DeadLetterEnvelope, B>,
    options?: SinkOptions
  ): Builder<Nodes, Read, Sinks | Id, E | Settled<P, E2> | SinkErrors<P>, R | R2, never, WithLetters<P, Id>>
  /** Sets the failed records of the node declared last aside in a dead-letter sink declared before. */
  deadLetter<const Id extends string>(
    id: Id & DeclaredLetters<Id, P["letters"]> & LetterCheck<L>
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

