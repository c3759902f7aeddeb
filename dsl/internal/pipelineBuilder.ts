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
import type { Retryable, TagOf, Unhandled } from "./errors.ts"
import type { FieldsReadKnown, ReadsKnownFields } from "./expression.ts"
import type {
  Accepts,
  BatchFunction,
  DurationsChecked,
  ExecutionSettings,
  FieldOf,
  FreshId,
  KnownFields,
  NodeOptions,
  Renamed,
  RenameFields,
  Selected,
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
