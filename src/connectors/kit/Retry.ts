/**
 * Retries of a sink's writes (or any connector call): exponential backoff with jitter, driven by
 * a classification of the error — never by its message text.
 *
 * A connector says what an error means with a {@link Classify} function: `"retry"` (transient:
 * the same call may succeed later — a lost connection, a timeout, a broker busy), `"reject"` (the
 * data is refused for good: a record the destination will never take; see `SinkKit` for what
 * happens to it) or `"fail"` (anything else: the run fails). The default, {@link classify},
 * retries a {@link Retryable} error and a `ConnectorError` whose reason `isRetryable`, rejects a
 * `RecordError`, and fails on the rest.
 *
 * The delays: `retry.delay` (default 100ms) doubling per attempt up to `retry.max_delay` (default
 * 30s), each drawn between half and all of it (jitter, from Effect's `Random`, so that many
 * writers that failed together do not retry together); at most `retry.attempts` retries (default
 * 5). The `retry` config piece ({@link RetryFields}) is the one every connector spreads into its
 * config Schema.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Retry } from "dataflare"
 *
 * const send = Effect.fail(new Retry.Retryable({ message: "broker busy" }))
 * const retried = Retry.retrying(send, { policy: Retry.policy({ attempts: 3 }) })
 * ```
 * @since 0.4.0
 */
import { Data, Duration, Effect, Random, Schedule, Schema } from "effect"
import { ConnectorError, RecordError } from "../../Errors.ts"
import { durationMillis, PositiveDuration } from "../../WorkflowGraph.ts"

/**
 * A transient failure a connector raises for a call worth retrying (the default classifier
 * retries it).
 *
 * @category errors
 * @since 0.4.0
 */
export class Retryable extends Data.TaggedError("Retryable")<{ readonly message: string; readonly cause?: unknown }> {}

/**
 * What an error means for a write: retry it, reject the records (for good), or fail the run.
 *
 * @category models
 * @since 0.4.0
 */
export type Classification = "retry" | "reject" | "fail"

/**
 * Classifies an error (see the module doc).
 *
 * @category models
 * @since 0.4.0
 */
export type Classify<E> = (error: E) => Classification

/**
 * The default classifier: a {@link Retryable}, or a `ConnectorError` whose reason is retryable,
 * is retried; a `RecordError` is a rejection; anything else fails.
 *
 * @category classifiers
 * @since 0.4.0
 */
export const classify = (error: unknown): Classification =>
  error instanceof Retryable || (error instanceof ConnectorError && error.isRetryable)
    ? "retry"
    : error instanceof RecordError
    ? "reject"
    : "fail"

/**
 * The `retry` config: `attempts` (retries after the first try, default 5), `delay` (the first
 * delay, default `100ms`), `max_delay` (the largest, default `30s`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const RetryConfig = Schema.Struct({
  attempts: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "Retries of a transient error after the first try", default: 5 })
  ),
  delay: Schema.optionalKey(PositiveDuration).annotateKey({ description: "The first retry's delay, doubling after each", default: "100ms" }),
  max_delay: Schema.optionalKey(PositiveDuration).annotateKey({ description: "The longest delay between retries", default: "30s" })
}).annotate({ description: "Retries of transient errors, with exponential backoff and jitter" })

/**
 * @category schemas
 * @since 0.4.0
 */
export type RetryConfig = typeof RetryConfig.Type

/**
 * The config fields to spread into a connector's config Schema:
 * `Schema.Struct({ url: ..., ...Retry.RetryFields })`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const RetryFields = { retry: Schema.optionalKey(RetryConfig) } as const

/**
 * A retry policy: how many retries, the first and the largest delay.
 *
 * @category models
 * @since 0.4.0
 */
export interface Policy {
  readonly attempts: number
  readonly delayMillis: number
  readonly maxDelayMillis: number
}

/**
 * The policy of a `retry` config (defaults in the module doc).
 *
 * @category constructors
 * @since 0.4.0
 */
export const policy = (config?: RetryConfig): Policy => ({
  attempts: config?.attempts ?? 5,
  delayMillis: durationMillis(config?.delay ?? "100ms"),
  maxDelayMillis: durationMillis(config?.max_delay ?? "30s")
})

/**
 * The schedule of a policy: exponential from `delayMillis`, capped at `maxDelayMillis`, each
 * delay drawn between half and all of it.
 *
 * @category constructors
 * @since 0.4.0
 */
export const schedule = (p: Policy): Schedule.Schedule<Duration.Duration> =>
  Schedule.exponential(Duration.millis(p.delayMillis)).pipe(
    Schedule.modifyDelay(({ duration }) =>
      Effect.map(Random.next, (r) => Duration.millis(Math.min(p.maxDelayMillis, Duration.toMillis(duration)) * (0.5 + r / 2)))
    )
  )

/**
 * Options of {@link retrying}.
 *
 * @category models
 * @since 0.4.0
 */
export interface RetryingOptions<E> {
  readonly policy: Policy
  /** Default {@link classify}. Only `"retry"` is retried. */
  readonly classify?: Classify<E> | undefined
  /** Run after each failed attempt, before the delay (drop a lost connection, roll back). */
  readonly recover?: ((error: E) => Effect.Effect<void>) | undefined
}

/**
 * `effect`, retried while its error classifies as `"retry"` (at most `policy.attempts` times).
 * The error of the last attempt is the result's.
 *
 * @category combinators
 * @since 0.4.0
 */
export const retrying = <A, E, R>(effect: Effect.Effect<A, E, R>, options: RetryingOptions<E>): Effect.Effect<A, E, R> => {
  const cls: Classify<E> = options.classify ?? classify
  const recover = options.recover
  return (recover === undefined ? effect : Effect.tapError(effect, recover)).pipe(
    Effect.retry({ schedule: schedule(options.policy), times: options.policy.attempts, while: (e: E) => cls(e) === "retry" })
  )
}
