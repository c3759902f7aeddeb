/**
 * The data-last forms of the linear builder's steps, for
 * `pipe(Pipeline.from(...), Pipeline.filter(...), Pipeline.to(...))`: each returns a function of
 * the builder, so the record type comes from the builder it is applied to. Re-exported by
 * `dsl/Pipeline.ts`.
 *
 * @since 0.1.0
 */
import type { Effect, Schedule, Stream } from "effect"
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import type { ProcessorSpec, SinkSpec } from "../../src/Spec.ts"
import type {
  AfterSettings,
  ConditionErrors,
  DeadLetterable,
  DeadLetterEnvelope,
  DeclaredLetters,
  HasRestart,
  IsPure,
  KnownTarget,
  Policy,
  ProcessErrors,
  Restarted,
  Restarting,
  Retryable,
  Settled,
  SinkErrors,
  StrictEnd,
  Unhandled,
  WithLetters
} from "./errors.ts"
import type { FieldsReadKnown, ReadsKnownFields } from "./expression.ts"
import type { PipelineBuilder } from "./pipeline.ts"
import type { Builder, Pipeline } from "./pipelineBuilder.ts"
import type {
  Accepts,
  BatchFunction,
  CompileError,
  DurationsChecked,
  ExecutionSettings,
  FreshId,
  HasFields,
  NodeOptions,
  OverwritesNothing,
  ProcessOptions,
  Renamed,
  Selected,
  SinkOptions,
  WithFields
} from "./types.ts"

const untyped = (self: unknown): PipelineBuilder => self as PipelineBuilder

/**
 * Data-last `.named(name)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const named = (name: string) =>
<Ids extends string, A, E, R, L, P extends Policy, Pure extends boolean = false>(
  self: Builder<Ids, A, E, R, L, P, Pure>
): Builder<Ids, A, E, R, L, P, Pure> => self.named(name)

/**
 * Data-last `.execution(settings)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const execution = <const S extends ExecutionSettings>(settings: S & DurationsChecked<S>) =>
<Ids extends string, A, E, R, L, P extends Policy, Pure extends boolean = false>(
  self: Builder<Ids, A, E, R, L, P, Pure>
): Builder<Ids, A, HasRestart<S> extends true ? Exclude<E, ConnectorError> : E, R, L, AfterSettings<P, S>, Pure> =>
  untyped(self).execution(settings) as unknown as Builder<Ids, A, HasRestart<S> extends true ? Exclude<E, ConnectorError> : E, R, L, AfterSettings<P, S>, Pure>

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
<Ids extends string, E, R, L, P extends Policy>(
  self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & ReadsKnownFields<`filter '${Id}'`, A, C> & KnownTarget<O, P["letters"]>
): Builder<Ids | Id, A, E | L, R, ConditionErrors<C, O>, P> =>
  untyped(self).filter(id, predicate, options) as unknown as Builder<Ids | Id, A, E | L, R, ConditionErrors<C, O>, P>

/**
 * Data-last `.map(id, fn)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const map = <const Id extends string, A, B, const O extends NodeOptions<A> = {}>(id: Id, fn: (record: A) => B, options?: O) =>
<Ids extends string, E, R, L, P extends Policy>(self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & KnownTarget<O, P["letters"]>): Builder<Ids | Id, B, E | L, R, never, P> =>
  untyped(self).map(id, fn, options) as unknown as Builder<Ids | Id, B, E | L, R, never, P>

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
<Ids extends string, A, E, R, L, P extends Policy>(
  self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & FieldsReadKnown<`mapFields '${Id}'`, A, F> & KnownTarget<O, P["letters"]>
): Builder<Ids | Id, WithFields<A, F>, E | L, R, Unhandled<O, RecordError>, P> =>
  untyped(self).mapFields(id, fields, options) as unknown as Builder<Ids | Id, WithFields<A, F>, E | L, R, Unhandled<O, RecordError>, P>

/**
 * Data-last `.select(id, fields)`; a missing field is a compile error on the step.
 *
 * @category combinators
 * @since 0.1.0
 */
export const select = <const Id extends string, const K extends ReadonlyArray<string>, const O extends NodeOptions = {}>(
  id: Id,
  fields: K,
  options?: O
) =>
<Ids extends string, A, E, R, L, P extends Policy>(
  self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & HasFields<`select '${Id}'`, A, K[number]> & KnownTarget<O, P["letters"]>
): Builder<Ids | Id, Selected<A, K[number]>, E | L, R, never, P> =>
  untyped(self).select(id, fields, options) as unknown as Builder<Ids | Id, Selected<A, K[number]>, E | L, R, never, P>

/**
 * Data-last `.rename(id, fields)`; renaming a missing field is a compile error on the step.
 *
 * @category combinators
 * @since 0.1.0
 */
export const rename = <const Id extends string, const M extends { readonly [name: string]: string }, const O extends NodeOptions = {}>(
  id: Id,
  fields: M,
  options?: O
) =>
<Ids extends string, A, E, R, L, P extends Policy>(
  self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & HasFields<`rename '${Id}'`, A, keyof M> & OverwritesNothing<`rename '${Id}'`, A, M> & KnownTarget<O, P["letters"]>
): Builder<Ids | Id, Renamed<A, M>, E | L, R, never, P> =>
  untyped(self).rename(id, fields, options) as unknown as Builder<Ids | Id, Renamed<A, M>, E | L, R, never, P>

/**
 * Data-last `.flatMap(id, fn)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const flatMap = <const Id extends string, A, B, const O extends NodeOptions<A> = {}>(
  id: Id,
  fn: (record: A) => Iterable<B>,
  options?: O
) =>
<Ids extends string, E, R, L, P extends Policy>(self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & KnownTarget<O, P["letters"]>): Builder<Ids | Id, B, E | L, R, never, P> =>
  untyped(self).flatMap(id, fn, options) as unknown as Builder<Ids | Id, B, E | L, R, never, P>

/**
 * Data-last `.process(id, fn)` (`{ pure: true }` in the options: see `Builder.process`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const process = <const Id extends string, A, B, E2, R2, const O extends ProcessOptions<A> = {}>(
  id: Id,
  fn: BatchFunction<A, B, E2, R2>,
  options?: O
) =>
<Ids extends string, E, R, L, P extends Policy>(
  self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & KnownTarget<O, P["letters"]>
): Builder<Ids | Id, B, E | L, R | R2, ProcessErrors<O, E2>, P, IsPure<O>> =>
  untyped(self).process(id, fn, options) as unknown as Builder<Ids | Id, B, E | L, R | R2, ProcessErrors<O, E2>, P, IsPure<O>>

/**
 * Data-last `.via(id, spec)`, or `.via(id, (records: Stream<A>) => Stream<B>)` (annotate the
 * stream's record type: it is not known before the builder).
 *
 * @category combinators
 * @since 0.1.0
 */
export const via = <const Id extends string, I, B, E2 = never, R2 = never, const O extends NodeOptions = {}>(
  id: Id,
  spec: ProcessorSpec<I, B, E2, R2> | ((records: Stream.Stream<I>) => Stream.Stream<B, E2, R2>),
  options?: O
) =>
<Ids extends string, A, E, R, L, P extends Policy>(
  self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & Accepts<"processor", Id, A, I> & KnownTarget<O, P["letters"]>
): Builder<Ids | Id, B, E | L | Settled<P, E2>, R | R2, never, P> =>
  untyped(self).via(id, spec, options) as unknown as Builder<Ids | Id, B, E | L | Settled<P, E2>, R | R2, never, P>

/**
 * Data-last `.to(id, sink)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const to = <const Id extends string, B, E2 = never, R2 = never>(id: Id, sink: SinkSpec<B, E2, R2>, options?: NodeOptions) =>
<Ids extends string, A, E, R, L, P extends Policy>(
  self: Builder<Ids, A, E, R, L, P> & FreshId<Id, Ids> & Accepts<"sink", Id, A, B> & StrictEnd<P, E | L | Settled<P, E2> | SinkErrors<P>>
): Pipeline<Ids | Id, E | L | Settled<P, E2> | SinkErrors<P>, R | R2> =>
  untyped(self).to(id, sink, options) as Pipeline<Ids | Id, E | L | Settled<P, E2> | SinkErrors<P>, R | R2>

/**
 * Data-last `.retry(schedule)`.
 *
 * @category error handling
 * @since 0.1.0
 */
export const retry = <O, L0, E3 = never, R3 = never>(schedule: Schedule.Schedule<O, L0, E3, R3>) =>
<Ids extends string, A, E, R, L extends L0, P extends Policy>(self: Builder<Ids, A, E, R, L, P> & Retryable<L>): Builder<Ids, A, E | E3, R | R3, never, P> =>
  untyped(self).retry(schedule) as unknown as Builder<Ids, A, E | E3, R | R3, never, P>

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
<Ids extends string, E, R, L, P extends Policy, Pure extends boolean = false>(
  self: Builder<Ids, A, E, R, L, P, Pure> & ([Extract<L, { readonly _tag: K }>] extends [never] ? CompileError<`catchTag: the last step cannot fail with '${K}'`> : unknown)
): Builder<Ids, A, E, R | R3, Exclude<L, { readonly _tag: K }> | E3, P, Pure> =>
  untyped(self).catchTag(tag, handler) as unknown as Builder<Ids, A, E, R | R3, Exclude<L, { readonly _tag: K }> | E3, P, Pure>

/**
 * Data-last `.deadLetter(id, sink)` (declares the dead-letter sink `id`) or `.deadLetter(id)`
 * (one declared earlier): the last step's failed records go there as envelopes.
 *
 * @example
 * ```ts
 * pipe(Pipeline.from("orders", source), Pipeline.filter("big", "amount > 10"), Pipeline.deadLetter("bad", Ndjson.sink({ path: "bad.ndjson" })), Pipeline.to("out", sink))
 * ```
 * @category error handling
 * @since 0.5.0
 */
export const deadLetter: {
  <const Id extends string, B, E2 = never, R2 = never>(
    id: Id,
    sink: SinkSpec<B, E2, R2> & Accepts<"dead-letter sink", Id, DeadLetterEnvelope, B>,
    options?: SinkOptions
  ): <Ids extends string, A, E, R, L, P extends Policy, Pure extends boolean = false>(
    self: Builder<Ids, A, E, R, L, P, Pure> & FreshId<Id, Ids> & DeadLetterable<L, Pure>
  ) => Builder<Ids | Id, A, E | Settled<P, E2> | SinkErrors<P>, R | R2, never, WithLetters<P, Id>>
  <const Id extends string>(id: Id): <Ids extends string, A, E, R, L, P extends Policy, Pure extends boolean = false>(
    self: Builder<Ids, A, E, R, L, P, Pure> & DeclaredLetters<Id, P["letters"]> & DeadLetterable<L, Pure>
  ) => Builder<Ids, A, E, R, never, P>
} = (id: string, sink?: SinkSpec<never, unknown, unknown>, options?: SinkOptions) => (self: unknown) =>
  untyped(self).deadLetter(id, sink, options) as never

/**
 * Data-last `.restartOnFailure(strategy)`: `ConnectorError` handled by restarting from the last
 * checkpoint.
 *
 * @category error handling
 * @since 0.5.0
 */
export const restartOnFailureLast = (strategy: Restarting) =>
<Ids extends string, A, E, R, L, P extends Policy, Pure extends boolean = false>(
  self: Builder<Ids, A, E, R, L, P, Pure>
): Builder<Ids, A, Exclude<E, ConnectorError>, R, L, Restarted<P>, Pure> =>
  untyped(self).restartOnFailure(strategy) as unknown as Builder<Ids, A, Exclude<E, ConnectorError>, R, L, Restarted<P>, Pure>
