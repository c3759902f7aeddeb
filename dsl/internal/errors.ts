/**
 * Type-level machinery of typed errors in the DSL: which errors a step leaves unhandled, the tags
 * `catchTag` accepts, the checks of `retry`, `deadLetter` and `strict`, the builders' error
 * {@link Policy}, and the {@link DeadLetterEnvelope} a dead-letter sink receives. Nothing here
 * exists at run time.
 *
 * @since 0.1.0
 */
import type { ConnectorError, RecordError } from "../../src/Errors.ts"
import type { CompileError } from "../../src/Spec.ts"
import type { RestartStrategy } from "../../src/WorkflowGraph.ts"

/**
 * The errors a step with these options leaves unhandled: none when its failed records go to a
 * dead-letter file (`on_error: "dead_letter"`), `Err` otherwise.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Unhandled<O, Err> = O extends { readonly on_error: "dead_letter" } ? never : Err

/**
 * The errors of a data-last `filter`: those of its expression `C` (a string literal), none for a
 * predicate function (then `C` is not inferred from the argument).
 *
 * @category type-level
 * @since 0.1.0
 */
export type ConditionErrors<C extends string, O> = [C] extends [never] ? never : string extends C ? never : Unhandled<O, RecordError>

/**
 * The `_tag`s of the tagged errors in `E`.
 *
 * @category type-level
 * @since 0.1.0
 */
export type TagOf<E> = E extends { readonly _tag: infer T extends string } ? T : never

/**
 * `unknown` when the last step has a typed error to retry, a {@link CompileError} otherwise.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Retryable<L> = [L] extends [never] ? CompileError<"retry: the last step has no typed error to retry (only process and via steps can be retried)">
  : unknown

/**
 * `unknown` when `E` is `never`, a {@link CompileError} naming the unhandled errors otherwise.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Strict<E> = [E] extends [never] ? unknown
  : CompileError<`strict: unhandled errors: ${TagOf<E> extends never ? "(untagged)" : TagOf<E>}`>

/**
 * What a builder knows about its error handling besides the error types: whether it was started
 * with `{ strict: true }` (its final `.to` / `build()` then needs every error handled), whether a
 * restart strategy handles the connectors' `ConnectorError` (`.restartOnFailure(strategy)`, or
 * `execution.restart_strategy`), and the ids of the dead-letter sinks it declared (which later
 * steps can name in `.deadLetter(id)`).
 *
 * @category type-level
 * @since 0.5.0
 */
export interface Policy {
  readonly strict: boolean
  readonly restarted: boolean
  readonly letters: string
}

/**
 * The {@link Policy} of a builder started without options: not strict, no restart strategy, no
 * dead-letter sink.
 *
 * @category type-level
 * @since 0.5.0
 */
export interface Lenient {
  readonly strict: false
  readonly restarted: false
  readonly letters: never
}

/**
 * The {@link Policy} a builder starts with: {@link Lenient}, strict when `Strict` is `true`,
 * restarted when the execution settings `S` have a restart strategy.
 *
 * @category type-level
 * @since 0.5.0
 */
export type Initial<Strict, S> = [Strict] extends [true] ? { readonly strict: true; readonly restarted: HasRestart<S>; readonly letters: never }
  : HasRestart<S> extends true ? { readonly strict: false; readonly restarted: true; readonly letters: never }
  : Lenient

/**
 * `true` when execution settings `S` set a restart strategy other than `none`.
 *
 * @category type-level
 * @since 0.5.0
 */
export type HasRestart<S> = S extends { readonly restart_strategy: infer Strategy } ? (Strategy extends { readonly type: "none" } ? false : true)
  : false

/**
 * `P` after execution settings `S`: restarted when `S` sets a restart strategy, `P` itself otherwise.
 *
 * @category type-level
 * @since 0.5.0
 */
export type AfterSettings<P extends Policy, S> = HasRestart<S> extends true ? Restarted<P> : P

/**
 * `P` with the connectors' `ConnectorError` handled by a restart strategy.
 *
 * @category type-level
 * @since 0.5.0
 */
export type Restarted<P extends Policy> = P["restarted"] extends true ? P
  : { readonly strict: P["strict"]; readonly restarted: true; readonly letters: P["letters"] }

/**
 * `P` with one more dead-letter sink, `Id`.
 *
 * @category type-level
 * @since 0.5.0
 */
export type WithLetters<P extends Policy, Id extends string> = {
  readonly strict: P["strict"]
  readonly restarted: P["restarted"]
  readonly letters: P["letters"] | Id
}

/**
 * What a sink (or a dead-letter sink) adds to the error type: `ConnectorError`, unless a restart
 * strategy handles it.
 *
 * @category type-level
 * @since 0.5.0
 */
export type SinkErrors<P extends Policy> = P["restarted"] extends true ? never : ConnectorError

/**
 * `E` with `ConnectorError` removed when `P` has a restart strategy.
 *
 * @category type-level
 * @since 0.5.0
 */
export type Settled<P extends Policy, E> = P["restarted"] extends true ? Exclude<E, ConnectorError> : E

/**
 * The check of a strict builder's last call (`.to`, `build()`, `toStream`): `unknown` when the
 * builder is not strict or every error `E` is handled, a {@link CompileError} naming the
 * unhandled errors' tags otherwise.
 *
 * @category type-level
 * @since 0.5.0
 */
export type StrictEnd<P extends Policy, E> = P["strict"] extends true ? ([E] extends [never] ? unknown
    : CompileError<`strict: unhandled errors: ${TagOf<E> extends never ? "(untagged)" : TagOf<E>}`>)
  : unknown

/**
 * `unknown` when the last step's errors `L` are record errors (or none), which dead-lettering
 * handles, or when the last step is a `process` declared pure (`Pure`: its failed batches are
 * bisected, so each failure names a record); a {@link CompileError} when the step fails a whole
 * batch (a user step's error: handle it with `.retry` or `.catchTag`, or declare the process
 * `{ pure: true }`).
 *
 * @category type-level
 * @since 0.5.0
 */
export type DeadLetterable<L, Pure extends boolean = false> = [Pure] extends [true] ? unknown
  : [Exclude<L, RecordError>] extends [never] ? unknown
  : CompileError<
    `deadLetter: the last step fails a whole batch with ${TagOf<Exclude<L, RecordError>>}, not one record: only record-by-record steps (filter, map, mapFields, select, rename, flatMap), aggregate, dedupe and a process declared { pure: true } can set records aside; handle it with retry or catchTag`
  >

/**
 * `true` when a `process` step's options `O` declare its function pure (`{ pure: true }`).
 *
 * @category type-level
 * @since 0.6.0
 */
export type IsPure<O> = O extends { readonly pure: true } ? true : false

/**
 * The errors a `process` step with options `O` and function errors `Err` leaves to the next
 * handler: a pure one's are handled by its own `on_error: "dead_letter"` (each failure set aside
 * with its record); a process not declared pure fails whole batches, so its errors stay.
 *
 * @category type-level
 * @since 0.6.0
 */
export type ProcessErrors<O, Err> = IsPure<O> extends true ? Unhandled<O, Err> : Err

/**
 * `unknown` when the dead-letter target of node options `O` is a file or a dead-letter sink
 * declared earlier (`Letters`), a {@link CompileError} naming the undeclared sink otherwise (for
 * the data-last combinators, which see the declared sinks only later).
 *
 * @category type-level
 * @since 0.6.0
 */
export type KnownTarget<O, Letters extends string> = O extends { readonly dead_letter: { readonly to: infer To extends string } }
  ? ([To] extends [Letters] ? unknown : CompileError<`dead_letter: no dead-letter sink '${To}' is declared yet: declare it with .deadLetter('${To}', sink)`>)
  : unknown

/**
 * `unknown` when `Id` names a dead-letter sink declared earlier (`.deadLetter(id, sink)`), a
 * {@link CompileError} otherwise.
 *
 * @category type-level
 * @since 0.5.0
 */
export type DeclaredLetters<Id extends string, Letters extends string> = [Id] extends [Letters] ? unknown
  : CompileError<`deadLetter: no dead-letter sink '${Id}' is declared yet: declare it with .deadLetter('${Id}', sink)`>

/**
 * A record a step set aside, as its dead-letter sink receives it: the record, the node that set
 * it aside, when (`at`, ISO-8601), the error's tag, message and detail, and the source and
 * position the record came from (`null` when its batch has none). A dead-letter sink must accept this type: a
 * sink typed for other records is a compile error at `.deadLetter(id, sink)`. (A type, not an
 * interface, so that it fits a sink of `{ readonly [column: string]: unknown }` such as PostgreSQL's.)
 *
 * @category models
 * @since 0.5.0
 */
export type DeadLetterEnvelope = {
  /** The id of the node that set the record aside. */
  readonly node: string
  /** When, ISO-8601. */
  readonly at: string
  /** The error's `_tag` (`RecordError`), or a thrown error's name (`Error`); `null` when unknown. */
  readonly tag: string | null
  /** The source node the record's batch came from, `null` when unknown. */
  readonly source: string | null
  /** That source's position of the batch, `null` when unknown. */
  readonly position: unknown
  /** Why: the error's message. */
  readonly error: string
  /**
   * What else the node said, `null` when nothing: a sink's `table`, `sqlstate`, an item's
   * `status` (a sink's dead letters, `config.dead_letter: { to }`), an expression's field.
   */
  readonly detail: unknown
  /** The record the step failed on, as it reached the step. */
  readonly record: unknown
}

/**
 * A restart strategy that restarts (any but `none`): what `.restartOnFailure` takes.
 *
 * @category type-level
 * @since 0.5.0
 */
export type Restarting = Exclude<RestartStrategy, { readonly type: "none" }>
