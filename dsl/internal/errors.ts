/**
 * Type-level machinery of typed errors in the DSL: which errors a step leaves unhandled, the tags
 * `catchTag` accepts, and the checks of `retry` and `strict`. Nothing here exists at run time.
 *
 * @since 0.1.0
 */
import type { RecordError } from "../../src/Errors.ts"
import type { CompileError } from "../../src/Spec.ts"

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
