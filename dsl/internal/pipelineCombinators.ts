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
import type { ConditionErrors, Retryable, Unhandled } from "./errors.ts"
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
  Renamed,
  Selected,
  WithFields
} from "./types.ts"

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
