/**
 * Writes whose response reports each item (Elasticsearch's `_bulk`, MongoDB's unordered
 * `bulkWrite`): send the items, read each one's outcome, send again the retryable ones — those
 * only — after the backoff of the `retry` policy (`Retry.policy`: exponential, with jitter), until
 * every item is written or rejected for good; return the rejections, which the sink hands to
 * `SinkKit` as `RecordsRejected` (dead letters or a `RecordError`). Where a sink whose server
 * answers for the batch as a whole isolates bad records by bisection, a sink that is told item by
 * item needs no bisection, only this loop.
 *
 * Order: items with the same key (a document id) go in separate rounds, in batch order (round k
 * holds the k-th item of each key), and a round is complete — retries included — before the next
 * starts: neither concurrent requests, nor a server that applies an unordered bulk in any order,
 * nor the retry of an earlier version can let it overwrite a later one.
 */
import { Effect, Random } from "effect"
import { ConnectorError, TransientError } from "../../../Errors.ts"
import type * as Retry from "../Retry.ts"

/** An item to write: where its record is in the batch, and its key (`undefined`: none). */
export interface Item {
  readonly index: number
  readonly key: string | undefined
}

/** What became of one item. */
export type Outcome =
  | { readonly _tag: "Written" }
  | { readonly _tag: "Retry"; readonly reason: string }
  | { readonly _tag: "Rejected"; readonly status: number | string; readonly reason: string }

/** The outcome of a written item (one value, shared). */
export const WRITTEN: Outcome = { _tag: "Written" }

/** An item rejected for good. */
export interface Rejected<I extends Item> {
  readonly item: I
  readonly status: number | string
  readonly reason: string
}

/** Waits before retry `attempt` (1-based). */
export type Backoff = (attempt: number) => Effect.Effect<void>

/** The wait before retry `attempt` of a policy: `delay` doubling up to `max_delay`, between half and all of it. */
export const backoffOf = (policy: Retry.Policy): Backoff => (attempt) =>
  Effect.flatMap(Random.next, (r) =>
    Effect.sleep(Math.round(Math.min(policy.maxDelayMillis, policy.delayMillis * 2 ** (attempt - 1)) * (0.5 + r / 2))))

/** Splits items into rounds: round k holds the k-th item of each key (keyless items: the first), in order. */
export const rounds = <I extends Item>(items: ReadonlyArray<I>): Array<Array<I>> => {
  const seen = new Map<string, number>()
  const out: Array<Array<I>> = []
  for (const item of items) {
    let round = 0
    if (item.key !== undefined) {
      round = seen.get(item.key) ?? 0
      seen.set(item.key, round + 1)
    }
    while (out.length <= round) out.push([])
    out[round].push(item)
  }
  return out
}

/** Options of {@link writeItems}. */
export interface WriteItemsOptions<I extends Item> {
  readonly connector: string
  readonly operation: string
  /** Sends items; the outcomes in the same order (a failure of the whole call fails the write). */
  readonly send: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<Outcome>, ConnectorError>
  /** Retries after the first attempt, and the waits between them. */
  readonly policy: Retry.Policy
  /** Default: {@link backoffOf} the policy. */
  readonly backoff?: Backoff
  /** How an item is named in a message (`document '42'`). */
  readonly describe: (item: I) => string
  /** The config key to raise when retries run out (e.g. `retry.attempts`). */
  readonly remedy?: string
}

/** Writes the items, round after round; returns the rejected ones (in no particular order). */
export const writeItems = <I extends Item>(
  items: ReadonlyArray<I>,
  options: WriteItemsOptions<I>
): Effect.Effect<Array<Rejected<I>>, ConnectorError> =>
  Effect.gen(function*() {
    const rejected: Array<Rejected<I>> = []
    const attempts = options.policy.attempts
    const wait = options.backoff ?? backoffOf(options.policy)
    for (const round of rounds(items)) {
      let pending: ReadonlyArray<I> = round
      let last = new Map<I, string>()
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) {
          if (attempt > attempts) {
            const first = pending[0]
            return yield* new ConnectorError({
              connector: options.connector,
              operation: options.operation,
              reason: new TransientError({
                message: `${pending.length} item(s) still not accepted after ${attempts} retries (first: ${options.describe(first)}: ${last.get(first) ?? "?"}); ${options.remedy ?? "raise retry.attempts or retry.max_delay"} if the server is busy`
              })
            })
          }
          yield* wait(attempt)
        }
        const outcomes = yield* options.send(pending)
        const next: Array<I> = []
        const reasons = new Map<I, string>()
        for (let i = 0; i < pending.length; i++) {
          const item = pending[i]
          const outcome: Outcome = outcomes[i] ?? { _tag: "Retry", reason: "the response did not report this item" }
          if (outcome._tag === "Retry") {
            next.push(item)
            reasons.set(item, outcome.reason)
          } else if (outcome._tag === "Rejected") rejected.push({ item, status: outcome.status, reason: outcome.reason })
        }
        pending = next
        last = reasons
      }
    }
    return rejected
  })
