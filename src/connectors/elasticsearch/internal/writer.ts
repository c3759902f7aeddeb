/**
 * The writer of the `elasticsearch` sink: one `writeBatch` sends the batch as bulk requests
 * (bounded by `batch_size` and `max_bytes`, `concurrency` at once), sends the items a response
 * reports as retryable again — those only — after a backoff with jitter, and returns only when
 * every item is written or rejected for good; rejected items fail the batch with a `RecordError`
 * naming the document, or go to the dead letters. Since the runtime acknowledges a checkpoint
 * barrier only after the batches before it were written, a checkpoint completes only when every
 * item of its batches is acknowledged or dead-lettered.
 */
import { Effect } from "effect"
import * as Batch from "../../../Batch.ts"
import type * as Connector from "../../../Connector.ts"
import { ConnectorError, RecordError, TransientError } from "../../../Errors.ts"
import type { BulkOp, SinkConfig } from "../ElasticsearchConfig.ts"
import { classify } from "../ElasticsearchError.ts"
import { body, type BulkItem, type ItemOutcome, isItem, outcomes, requests, rounds, toItem } from "./bulk.ts"
import { durationMillis } from "../../../WorkflowGraph.ts"

/** What the writer needs of a client: one bulk request, and a refresh of the index. */
export interface BulkTransport {
  readonly bulk: (lines: ReadonlyArray<string>) => Promise<{ readonly items?: ReadonlyArray<unknown> | undefined }>
  readonly refresh: () => Promise<unknown>
}

/** A document the server (or the sink, before sending) refused for good. */
export interface Rejection {
  /** Index of the record in the batch. */
  readonly index: number
  readonly record: unknown
  readonly id: string | undefined
  /** HTTP status of the item (0: refused before sending). */
  readonly status: number
  readonly reason: string
}

/** Sets rejected documents aside (the dead letters); fails when it cannot. */
export type SetAside = (rejections: ReadonlyArray<Rejection>, batch: Batch.Batch<unknown>) => Effect.Effect<void, ConnectorError>

/** Waits before retry `attempt` (1-based). */
export type Backoff = (attempt: number) => Effect.Effect<void>

/** The defaults of the sink's config. */
export const DEFAULTS = { batchSize: 1000, maxBytes: 5 * 1024 * 1024, concurrency: 2, attempts: 8, delay: 200, maxDelay: 30_000 } as const

/** Exponential backoff from `delay`, doubling up to `maxDelay`, each wait between half and all of it. */
export const backoff = (config: SinkConfig, random: () => number = Math.random): Backoff => {
  const base = config.retry?.delay !== undefined ? durationMillis(config.retry.delay) : DEFAULTS.delay
  const max = config.retry?.max_delay !== undefined ? durationMillis(config.retry.max_delay) : DEFAULTS.maxDelay
  return (attempt) => Effect.sleep(Math.round(Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + random() / 2)))
}

/** Options of {@link makeWriter} besides the config. */
export interface WriterOptions {
  readonly node: string
  readonly transport: BulkTransport
  /** Where rejected documents go with `on_error: dead_letter`. */
  readonly setAside: SetAside | undefined
  readonly backoff: Backoff
}

interface Pending {
  readonly item: BulkItem
  last: string
}

/** The sink writer. */
export const makeWriter = (config: SinkConfig, options: WriterOptions): Connector.SinkWriter<unknown> => {
  const op: BulkOp = config.op ?? "index"
  const bulkOptions = { index: config.index, op, idField: config.id_field, routing: config.routing }
  const maxCount = config.batch_size ?? DEFAULTS.batchSize
  const maxBytes = config.max_bytes ?? DEFAULTS.maxBytes
  const concurrency = config.concurrency ?? DEFAULTS.concurrency
  const attempts = config.retry?.attempts ?? DEFAULTS.attempts
  const { transport } = options

  /** Sends one request; items of a request that failed as a whole are retried when it may help. */
  const send = (items: ReadonlyArray<BulkItem>): Effect.Effect<Array<ItemOutcome>, ConnectorError> =>
    Effect.tryPromise({ try: () => transport.bulk(body(items)), catch: classify("bulk") }).pipe(
      Effect.map((response) => outcomes(op, items.length, response.items)),
      Effect.catchIf(
        (e: ConnectorError) => e.isRetryable,
        (e) => Effect.succeed(items.map((): ItemOutcome => ({ _tag: "Retry", status: 0, reason: e.reason.message })))
      )
    )

  /** Writes one round until every item is written or rejected; returns the rejections. */
  const writeRound = (items: ReadonlyArray<BulkItem>, rejected: Array<Rejection>, records: (i: number) => unknown) =>
    Effect.gen(function*() {
      let pending: Array<Pending> = items.map((item) => ({ item, last: "" }))
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) {
          if (attempt > attempts) {
            const first = pending[0]
            return yield* new ConnectorError({
              connector: "elasticsearch",
              operation: "bulk",
              reason: new TransientError({
                message: `${pending.length} document(s) still not accepted after ${attempts} retries (first: ${describe(first.item)}: ${first.last}); raise retry.attempts or retry.max_delay if the cluster is busy`
              })
            })
          }
          yield* options.backoff(attempt)
        }
        const parts = requests(pending.map((p) => p.item), maxCount, maxBytes)
        const results = yield* Effect.forEach(parts, send, { concurrency })
        const next: Array<Pending> = []
        let k = 0
        for (let r = 0; r < parts.length; r++) {
          const result = results[r]
          for (let i = 0; i < result.length; i++, k++) {
            const outcome = result[i]
            const p = pending[k]
            if (outcome._tag === "Retry") {
              p.last = outcome.status === 0 ? outcome.reason : `${outcome.status} ${outcome.reason}`
              next.push(p)
            } else if (outcome._tag === "Rejected") {
              rejected.push({ index: p.item.index, record: records(p.item.index), id: p.item.id, status: outcome.status, reason: outcome.reason })
            }
          }
        }
        pending = next
      }
    })

  const writeBatch = (batch: Batch.Batch<unknown>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      const size = Batch.size(batch)
      if (size === 0) return { written: 0 }
      const records = (i: number) => Batch.get(batch, i)
      const items: Array<BulkItem> = []
      const rejected: Array<Rejection> = []
      let bytes = 0
      for (let i = 0; i < size; i++) {
        const built = toItem(records(i), i, bulkOptions)
        if (isItem(built)) {
          items.push(built)
          bytes += built.bytes
        } else rejected.push({ index: i, record: records(i), id: undefined, status: 0, reason: built.reason })
      }
      for (const round of rounds(items)) yield* writeRound(round, rejected, records)
      if (rejected.length > 0) {
        if (options.setAside === undefined) return yield* rejectionError(rejected, config)
        rejected.sort((a, b) => a.index - b.index)
        yield* options.setAside(rejected, batch)
      }
      return { written: size - rejected.length, bytes }
    })

  return {
    writeBatch,
    flush: config.refresh === true
      ? Effect.asVoid(Effect.tryPromise({ try: () => transport.refresh(), catch: classify("refresh") }))
      : Effect.void
  }
}

const describe = (item: { readonly id: string | undefined; readonly index: number }): string =>
  item.id !== undefined ? `document '${item.id}'` : `record ${item.index + 1} of the batch`

/** The failure of a batch with rejected documents under `on_error: fail`: names the first. */
export const rejectionError = (rejected: ReadonlyArray<Rejection>, config: SinkConfig): Effect.Effect<never, RecordError> => {
  const first = rejected.reduce((a, b) => (b.index < a.index ? b : a))
  const others = rejected.length > 1 ? ` (and ${rejected.length - 1} more in the batch)` : ""
  const status = first.status === 0 ? "refused before sending" : `status ${first.status}`
  return Effect.fail(
    new RecordError({
      detail: `elasticsearch ${describe(first)} for index '${config.index}' was rejected (${status}): ${first.reason}${others}; set on_error: dead_letter to set such documents aside`,
      ...(config.id_field !== undefined ? { field: config.id_field } : {}),
      record: first.record
    })
  )
}
