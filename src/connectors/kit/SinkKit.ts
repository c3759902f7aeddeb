/**
 * The sink kit: what every sink does around its client call — retries with backoff and jitter,
 * per-record rejection with bisection of a failed batch, and dead letters — so a new sink is
 * mostly its write.
 *
 * `SinkKit.make({ connector, context, config, writeBatch, classify })` wraps a sink's
 * `writeBatch(records)` into a `SinkWriter`:
 * - an error classified `"retry"` ({@link Retry.classify} by default) is retried with exponential
 *   backoff and jitter (`retry: { attempts, delay, max_delay }`); `recover` runs between attempts;
 * - an error classified `"reject"` means the destination refused the batch *as a whole and wrote
 *   none of it* (a transaction, an atomic bulk call): the batch is split in halves, each written
 *   again, until the rejected records are isolated ({@link bisect}); every other record is written
 *   once;
 * - a {@link RecordsRejected} failure means the destination wrote the batch except the records it
 *   names (a bulk API answering per record): those are rejected, nothing is written again;
 * - a rejected record fails the run with a `RecordError` naming it and the reason
 *   (`on_error: fail`, the default; the rest of the batch is then not written), or goes to the
 *   dead-letter file (`on_error: dead_letter`, see {@link DeadLetter}) while the rest is written;
 * - anything else (`"fail"`, or retries used up) fails the run with a `ConnectorError`.
 *
 * A sink with its own transaction protocol (the PostgreSQL sink: savepoints around each half)
 * uses the parts — {@link bisect}, `Retry.retrying`, `DeadLetter.writer` — directly.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Connector, DeadLetter, Retry, SinkKit } from "dataflare"
 *
 * const Config = Schema.Struct({ url: Schema.String, ...Retry.RetryFields, ...DeadLetter.ErrorHandlingFields })
 * declare const send: (records: ReadonlyArray<unknown>) => Effect.Effect<void, Retry.Retryable>
 *
 * const MySink = Connector.sink({
 *   type: "my-sink",
 *   description: "Sends records to my service",
 *   config: Config,
 *   capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
 *   check: () => Effect.void,
 *   open: (config, context) =>
 *     Effect.succeed(SinkKit.make({ connector: "my-sink", context, config, writeBatch: send }))
 * })
 * ```
 * @since 0.4.0
 */
import { Data, Effect } from "effect"
import * as Batch from "../../Batch.ts"
import type * as Connector from "../../Connector.ts"
import { ConnectorError, RecordError, RejectedError, TransientError } from "../../Errors.ts"
import * as DeadLetter from "./DeadLetter.ts"
import * as Retry from "./Retry.ts"

/**
 * The destination wrote a batch except these records (their indexes in the records written, and
 * why): what a bulk API answering per record reports. `written` counts the records written.
 *
 * @category errors
 * @since 0.4.0
 */
export class RecordsRejected extends Data.TaggedError("RecordsRejected")<{
  readonly written: number
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly reason: string; readonly fields?: { readonly [key: string]: unknown } }>
}> {}

/**
 * A record isolated by {@link bisect}: its index and the error of its write.
 *
 * @category models
 * @since 0.4.0
 */
export interface Rejection<E> {
  readonly index: number
  readonly error: E
}

/**
 * Options of {@link bisect}.
 *
 * @category models
 * @since 0.4.0
 */
export interface BisectOptions<E, R> {
  /** How many records. */
  readonly size: number
  /** Writes records `[from, to)` all or nothing; returns how many it wrote. */
  readonly attempt: (from: number, to: number) => Effect.Effect<number, E, R>
  /** Whether an error is the destination refusing a record of the range. */
  readonly isRejection: (error: E) => boolean
  /** Stop at the first record isolated (`on_error: fail`: the run fails on it anyway). */
  readonly stopAtFirst?: boolean
}

/**
 * Writes `[0, size)` with `attempt`; when a range is rejected, writes its halves, down to single
 * records, which are then the rejected ones. Each record that is not rejected is written once
 * (`attempt` must write nothing when it fails). Returns the records written and the rejected
 * ones, in order; an error that is not a rejection fails it.
 *
 * @category combinators
 * @since 0.4.0
 */
export const bisect = <E, R>(options: BisectOptions<E, R>): Effect.Effect<{ readonly written: number; readonly rejected: ReadonlyArray<Rejection<E>> }, E, R> =>
  Effect.gen(function*() {
    const rejected: Array<Rejection<E>> = []
    const stop = options.stopAtFirst === true
    const go = (from: number, to: number): Effect.Effect<number, E, R> =>
      Effect.gen(function*() {
        if (to <= from || (stop && rejected.length > 0)) return 0
        const result = yield* options.attempt(from, to).pipe(
          Effect.map((n) => ({ ok: true as const, n })),
          Effect.catchIf(options.isRejection, (error) => Effect.succeed({ ok: false as const, error }))
        )
        if (result.ok) return result.n
        if (to - from === 1) {
          rejected.push({ index: from, error: result.error })
          return 0
        }
        const mid = from + ((to - from) >> 1)
        const left = yield* go(from, mid)
        return left + (yield* go(mid, to))
      })
    const written = yield* go(0, options.size)
    return { written, rejected }
  })

/**
 * Options of {@link make}. `E` is the error of `writeBatch`.
 *
 * @category models
 * @since 0.4.0
 */
export interface SinkKitOptions<A, E> {
  /** The connector's type, for errors. */
  readonly connector: string
  readonly context: Connector.OpenContext
  /** The sink's decoded config: `on_error`, `dead_letter`, `retry` are read from it. */
  readonly config: DeadLetter.ErrorHandling & { readonly retry?: Retry.RetryConfig | undefined }
  /**
   * Writes records: all of them, or — failing with an error classified `"retry"` or `"reject"` —
   * none of them; or all but some, failing with {@link RecordsRejected}. Returns how many it
   * wrote (a number, or `WriteStats`; anything else, e.g. `void`: all of them).
   */
  readonly writeBatch: (records: ReadonlyArray<A>) => Effect.Effect<unknown, E | RecordsRejected>
  /** What an error means (default {@link Retry.classify}). */
  readonly classify?: Retry.Classify<E>
  /** Run after each failed attempt that is retried (drop a connection, roll back). */
  readonly recover?: (error: E) => Effect.Effect<void>
  /** The reason of a rejection, as a dead letter and an error say it (default: the error's message). */
  readonly reasonOf?: (error: E) => string
  /** Fields of a rejection for its dead letter (e.g. `{ sqlstate }`). */
  readonly fieldsOf?: (error: E) => { readonly [key: string]: unknown }
  /** Fields first in every dead letter (the destination: `{ stream }`, `{ table }`). */
  readonly deadLetterContext?: { readonly [key: string]: unknown }
  /** The rest of the writer, as they are. */
  readonly flush?: Effect.Effect<void, ConnectorError>
  readonly preCommit?: (checkpointId: number) => Effect.Effect<void, ConnectorError>
  readonly commit?: (checkpointId: number) => Effect.Effect<void, ConnectorError>
  readonly restore?: (checkpointId: number | undefined) => Effect.Effect<void, ConnectorError>
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e))

const countOf = (result: unknown, size: number): number =>
  typeof result === "number"
    ? result
    : typeof result === "object" && result !== null && "written" in result && typeof result.written === "number"
    ? result.written
    : size

/**
 * A `SinkWriter` around `writeBatch` with retries, bisection and dead letters (see the module doc).
 *
 * @category constructors
 * @since 0.4.0
 */
export const make = <A, E>(options: SinkKitOptions<A, E>): Connector.SinkWriter<A> => {
  const { config, connector, context } = options
  const classify = (options.classify ?? Retry.classify) as Retry.Classify<E>
  const policy = Retry.policy(config.retry)
  const onError = config.on_error ?? "fail"
  const reasonOf = options.reasonOf ?? messageOf
  const letters = DeadLetter.ofNode({ connector, open: context, config: { ...config, on_error: onError }, context: options.deadLetterContext })
  const recover = options.recover
  const isPartial = (e: E | RecordsRejected): e is RecordsRejected => e instanceof RecordsRejected
  const classifyAny = (e: E | RecordsRejected): Retry.Classification => (isPartial(e) ? "fail" : classify(e))

  /** A failure that is not a rejection, as the run sees it. */
  const toRunError = (e: E): ConnectorError | RecordError => {
    if (e instanceof ConnectorError || e instanceof RecordError) return e
    const message = messageOf(e)
    return new ConnectorError({
      connector,
      operation: "write",
      reason: classify(e) === "retry"
        ? new TransientError({ message: `gave up after ${policy.attempts} retries: ${message}`, cause: e })
        : new RejectedError({ message, cause: e })
    })
  }

  const writeBatch = (batch: Batch.Batch<A>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      const decoded = Batch.decodeRecords(batch)
      if (!Array.isArray(decoded)) {
        const error = (decoded as { readonly error: unknown }).error
        return yield* (error instanceof RecordError ? Effect.fail(error) : Effect.die(error))
      }
      const records = decoded as ReadonlyArray<A>
      if (records.length === 0) return { written: 0 }
      // records the destination refused from a partial write, by index in `records`
      const partial: Array<{ readonly index: number; readonly reason: string; readonly fields?: { readonly [key: string]: unknown } }> = []
      const attempt = (from: number, to: number): Effect.Effect<number, E> =>
        Retry.retrying(options.writeBatch(from === 0 && to === records.length ? records : records.slice(from, to)), {
          policy,
          classify: classifyAny,
          ...(recover !== undefined ? { recover: (e: E | RecordsRejected) => (isPartial(e) ? Effect.void : recover(e)) } : {})
        }).pipe(
          Effect.map((r) => countOf(r, to - from)),
          Effect.catchIf(isPartial, (e) => {
            for (const r of e.rejected) partial.push({ ...r, index: from + r.index })
            return Effect.succeed(e.written)
          })
        ) as Effect.Effect<number, E>
      const result = yield* bisect({
        size: records.length,
        attempt,
        isRejection: (e: E) => classify(e) === "reject",
        stopAtFirst: letters === undefined
      }).pipe(Effect.mapError(toRunError))
      const rejected = [
        ...result.rejected.map((r) => ({ index: r.index, reason: reasonOf(r.error), fields: options.fieldsOf?.(r.error), error: r.error as unknown })),
        ...partial.map((r) => ({ ...r, error: undefined as unknown }))
      ].sort((a, b) => a.index - b.index)
      if (rejected.length > 0) {
        if (letters === undefined) {
          const first = rejected[0]
          if (first.error instanceof RecordError) {
            return yield* (first.error.record === undefined ? new RecordError({ ...first.error.fields(), record: records[first.index] }) : first.error)
          }
          return yield* new RecordError({ detail: `${connector}: ${first.reason}`, record: records[first.index] })
        }
        yield* letters(rejected.map((r) => ({ record: records[r.index], error: r.reason, ...(r.fields !== undefined ? { fields: r.fields } : {}) })))
      }
      return { written: result.written }
    })

  return {
    writeBatch,
    flush: options.flush ?? Effect.void,
    ...(options.preCommit !== undefined ? { preCommit: options.preCommit } : {}),
    ...(options.commit !== undefined ? { commit: options.commit } : {}),
    ...(options.restore !== undefined ? { restore: options.restore } : {})
  }
}
