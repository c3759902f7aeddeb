/**
 * The typed view of the linear builder: {@link Builder} (a pipeline being built) and
 * {@link Pipeline} (a finished one). Types only; the run-time builder is `pipeline.ts`. The facade
 * `dsl/Pipeline.ts` re-exports both.
 *
 * @since 0.1.0
 */
import type { Effect, Pipeable, Schedule, Stream } from "effect"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import type { ProcessorSpec, SinkSpec } from "../../src/Spec.ts"
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
  SinkOptions,
  TypedGraph,
  WithFields
} from "./types.ts"

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
 * `R`), the errors of the last step (`L`), which `.retry`, `.catchTag` and `.deadLetter` can still
 * handle, its error {@link Policy} `P` (strict or not, restarted or not, its dead-letter
 * sinks), and whether the last step is a `process` declared pure (`Pure`: `.deadLetter` handles
 * its errors). Immutable: every step returns a new builder.
 *
 * @category models
 * @since 0.1.0
 */
export interface Builder<Ids extends string, A, E, R, L = never, P extends Policy = Lenient, Pure extends boolean = false>
  extends Pipeable.Pipeable
{
  /** Sets the workflow name (default: the source's id). */
  named(name: string): Builder<Ids, A, E, R, L, P, Pure>
  /** Sets the workflow version. */
  version(version: string): Builder<Ids, A, E, R, L, P, Pure>
  /**
   * Sets execution settings (`batch_size`, `queue_capacity`, ...), merged over earlier ones.
   * Durations are `500ms`, `30s`, `1.5m`, `1h` or milliseconds: another spelling does not compile.
   * A `restart_strategy` (other than `none`) handles `ConnectorError`, as {@link restartOnFailure}.
   */
  execution<const S extends ExecutionSettings>(
    settings: S & DurationsChecked<S>
  ): Builder<Ids, A, HasRestart<S> extends true ? Exclude<E, ConnectorError> : E, R, L, AfterSettings<P, S>, Pure>
  /**
   * Keeps the records for which `predicate` is true. Node
   * `{ type: "filter", config: { predicate } }`.
   */
  filter<const Id extends string>(
    id: Id & FreshId<Id, Ids>,
    predicate: (record: A) => boolean,
    options?: NodeOptions<A, P["letters"]>
  ): Builder<Ids | Id, A, E | L, R, never, P>
  /**
   * Keeps the records for which the expression `condition` is true (`"status == 'active'"`, the
   * YAML `condition`); a field it reads that the records do not have is a compile error. Node
   * `{ type: "filter", config: { condition } }`.
   */
  filter<const Id extends string, const C extends string, const O extends NodeOptions<A, P["letters"]> = {}>(
    id: Id & FreshId<Id, Ids>,
    condition: C & ReadsKnownFields<`filter '${Id}'`, A, C>,
    options?: O
  ): Builder<Ids | Id, A, E | L, R, Unhandled<O, RecordError>, P>
  /** Replaces each record by `fn(record)`. Node `{ type: "map", config: { fn } }`. */
  map<const Id extends string, B>(
    id: Id & FreshId<Id, Ids>,
    fn: (record: A) => B,
    options?: NodeOptions<A, P["letters"]>
  ): Builder<Ids | Id, B, E | L, R, never, P>
  /**
   * Sets fields to the values of expressions (`{ total: "amount * 2" }`, the YAML `fields`).
   * Computed fields are typed `unknown`; a field an expression reads that the records do not have
   * is a compile error. Node `{ type: "map", config: { fields } }`.
   */
  mapFields<const Id extends string, const F extends { readonly [name: string]: string }, const O extends NodeOptions<A, P["letters"]> = {}>(
    id: Id & FreshId<Id, Ids>,
    fields: F & FieldsReadKnown<`mapFields '${Id}'`, A, F>,
    options?: O
  ): Builder<Ids | Id, WithFields<A, F>, E | L, R, Unhandled<O, RecordError>, P>
  /** Keeps only the listed fields. Node `{ type: "select", config: { fields } }`. */
  select<const Id extends string, const K extends ReadonlyArray<FieldOf<A>>>(
    id: Id & FreshId<Id, Ids>,
    fields: K,
    options?: NodeOptions<A, P["letters"]>
  ): Builder<Ids | Id, Selected<A, K[number]>, E | L, R, never, P>
  /** Renames fields, old name → new name. Node `{ type: "rename", config: { fields } }`. */
  rename<const Id extends string, const M extends RenameFields<A>>(
    id: Id & FreshId<Id, Ids>,
    fields: M & KnownFields<Id, A, M> & NoOverwrite<Id, A, M>,
    options?: NodeOptions<A, P["letters"]>
  ): Builder<Ids | Id, Renamed<A, M>, E | L, R, never, P>
  /** Replaces each record by zero or more records. Node `{ type: "flat_map", config: { fn } }`. */
  flatMap<const Id extends string, B>(
    id: Id & FreshId<Id, Ids>,
    fn: (record: A) => Iterable<B>,
    options?: NodeOptions<A, P["letters"]>
  ): Builder<Ids | Id, B, E | L, R, never, P>
  /**
   * A user processor as an Effect per batch: gets the batch's records, returns the output
   * records. Its error type and requirements are added to the pipeline's. Node
   * `{ type: "process", config: { fn } }`. Declared `{ pure: true }` (config `pure: true`), its
   * failed records can be set aside: `.deadLetter` after it removes its errors (a batch it fails
   * on is run again in halves until the records it fails on alone are found).
   */
  process<const Id extends string, B, E2, R2, const O extends ProcessOptions<A, P["letters"]> = {}>(
    id: Id & FreshId<Id, Ids>,
    fn: BatchFunction<A, B, E2, R2>,
    options?: O
  ): Builder<Ids | Id, B, E | L, R | R2, ProcessErrors<O, E2>, P, IsPure<O>>
  /** A registered (third-party) processor, from its typed spec. */
  via<const Id extends string, I, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, Ids>,
    spec: ProcessorSpec<I, B, E2, R2> & Accepts<"processor", Id, A, I>,
    options?: NodeOptions<A, P["letters"]>
  ): Builder<Ids | Id, B, E | L | Settled<P, E2>, R | R2, never, P>
  /**
   * A user's Effect Stream transformation, applied to the records of each batch on its own
   * (node `{ type: "via", config: { fn } }`). For stateless transformations only: a stateful
   * stream operator (`take`, `grouped`, a scan) restarts at every batch. Never fused with the
   * steps around it (one stream run per batch): prefer `map`/`filter`/`flatMap` on hot paths.
   * Its error type and services are added to the pipeline's. Declared `{ pure: true }` (its
   * output for a batch depends on those records only, and running it again on part of a batch
   * repeats no effect), its failed records can be set aside: `.deadLetter` after it removes its
   * errors (a batch it fails on is run again in halves, as a pure `process`).
   */
  via<const Id extends string, B, E2 = never, R2 = never, const O extends ProcessOptions<A, P["letters"]> = {}>(
    id: Id & FreshId<Id, Ids>,
    fn: (records: Stream.Stream<A>) => Stream.Stream<B, E2, R2>,
    options?: O
  ): Builder<Ids | Id, B, E | L, R | R2, ProcessErrors<O, E2>, P, IsPure<O>>
  /**
   * Retries the last step — a user step (`process`, or `via` with a Stream function) — by
   * `schedule` when it fails: the batch's Effect (or stream) runs again. Removes the step's errors
   * from the pipeline's error type: they are handled by retrying. An error still there when the
   * schedule gives up fails the run (its node's `cause`), as without `retry`.
   */
  retry<O, E3 = never, R3 = never>(
    schedule: Schedule.Schedule<O, NoInfer<L>, E3, R3> & Retryable<L>
  ): Builder<Ids, A, E | E3, R | R3, never, P>
  /**
   * Handles one tagged error of the last user step (`process`, or `via` with a Stream function):
   * when the step fails with it, `handler` gives the step's output records for that batch instead
   * (an empty array drops them). Removes that error from the pipeline's error type.
   */
  catchTag<const K extends TagOf<L>, E3 = never, R3 = never>(
    tag: K,
    handler: (error: Extract<L, { readonly _tag: K }>) => ReadonlyArray<A> | Effect.Effect<ReadonlyArray<A>, E3, R3>
  ): Builder<Ids, A, E, R | R3, Exclude<L, { readonly _tag: K }> | E3, P, Pure>
  /**
   * Sets the last step's failed records aside: a record it fails on (an expression's
   * `RecordError`, a function's throw, a pure process's failure) goes, as a
   * {@link DeadLetterEnvelope}, to the dead-letter sink `id` declared here, and the run goes on.
   * Removes the step's record errors from the pipeline's error type. The node gets
   * `on_error: "dead_letter"` and `dead_letter: { to: id }`; the sink is a sink node reading
   * nothing else (`inputs: []`). The sink must accept envelopes (a sink typed for other records
   * does not compile) and adds its `ConnectorError`. After a record-by-record step (`filter`,
   * `map`, `mapFields`, `select`, `rename`, `flatMap`), an `aggregate` or `dedupe` (`via` with
   * its spec) or a `process` declared `{ pure: true }`; a `process` not declared pure and a `via`
   * Stream function fail whole batches (handle them with `.retry` / `.catchTag`).
   */
  deadLetter<const Id extends string, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, Ids> & DeadLetterable<L, Pure>,
    sink: SinkSpec<B, E2, R2> & Accepts<"dead-letter sink", Id, DeadLetterEnvelope, B>,
    options?: SinkOptions
  ): Builder<Ids | Id, A, E | Settled<P, E2> | SinkErrors<P>, R | R2, never, WithLetters<P, Id>>
  /**
   * Sets the last step's failed records aside in the dead-letter sink `id` declared by an earlier
   * `.deadLetter(id, sink)` (several steps can share one). Removes the step's record errors.
   */
  deadLetter<const Id extends string>(
    id: Id & DeclaredLetters<Id, P["letters"]> & DeadLetterable<L, Pure>
  ): Builder<Ids, A, E, R, never, P>
  /**
   * Handles the connectors' `ConnectorError` (the sink's, a dead-letter sink's, a source's) by
   * restarting the failed tasks from the last checkpoint with `strategy` (the graph's
   * `execution.restart_strategy`), as `Pipeline.restartOnFailure` does on a finished pipeline —
   * here before `.to`, so a strict builder's `.to` can compile.
   */
  restartOnFailure(strategy: Restarting): Builder<Ids, A, Exclude<E, ConnectorError>, R, L, Restarted<P>, Pure>
  /**
   * Ends the pipeline with a sink that must accept the records reaching it. The sink adds
   * `ConnectorError` to the pipeline's errors unless a restart strategy handles it
   * ({@link restartOnFailure}). A builder started with `{ strict: true }` does not compile here
   * while an error is unhandled (`CompileError<"strict: unhandled errors: ...">`).
   */
  to<const Id extends string, B, E2 = never, R2 = never>(
    id: Id & FreshId<Id, Ids>,
    sink: SinkSpec<B, E2, R2> & Accepts<"sink", Id, A, B> & StrictEnd<P, E | L | Settled<P, E2> | SinkErrors<P>>,
    options?: NodeOptions<A, P["letters"]>
  ): Pipeline<Ids | Id, E | L | Settled<P, E2> | SinkErrors<P>, R | R2>
}
