/**
 * The writer of the `elasticsearch` sink: one `writeBatch` sends the batch as bulk requests
 * (bounded by `batch_size` and `max_bytes`, `concurrency` at once), sends the items a response
 * reports as retryable again — those only — after a backoff with jitter (`internal/itemWrites.ts`),
 * and returns only when every item is written or rejected for good; rejected items fail the batch
 * with a `RecordError` naming the document, or go to the dead letters. Since the runtime
 * acknowledges a checkpoint barrier only after the batches before it were written, a checkpoint
 * completes only when every item of its batches is acknowledged or dead-lettered.
 */
import { Effect } from "effect"
import * as Batch from "../../../Batch.ts"
import type * as Connector from "../../../Connector.ts"
import type { ConnectorError, RecordError } from "../../../Errors.ts"
import { type Backoff, type Outcome, RETRY_DEFAULTS, writeItems } from "../../../internal/itemWrites.ts"
import { type Rejection, rejectionError, type SetAside } from "../../../internal/rejections.ts"
import type { BulkOp, SinkConfig } from "../ElasticsearchConfig.ts"
import { classify } from "../ElasticsearchError.ts"
import { body, type BulkItem, isItem, outcomes, requests, toItem } from "./bulk.ts"

/** What the writer needs of a client: one bulk request, and a refresh of the index. */
export interface BulkTransport {
  readonly bulk: (lines: ReadonlyArray<string>) => Promise<{ readonly items?: ReadonlyArray<unknown> | undefined }>
  readonly refresh: () => Promise<unknown>
}

/** The defaults of the sink's config. */
export const DEFAULTS = { batchSize: 1000, maxBytes: 5 * 1024 * 1024, concurrency: 2 } as const

/** Options of {@link makeWriter} besides the config. */
export interface WriterOptions {
  readonly transport: BulkTransport
  /** Where rejected documents go with `on_error: dead_letter`. */
  readonly setAside: SetAside | undefined
  readonly backoff: Backoff
}

const describe = (item: { readonly key: string | undefined; readonly index: number }): string =>
  item.key !== undefined ? `document '${item.key}'` : `record ${item.index + 1} of the batch`

/** The sink writer. */
export const makeWriter = (config: SinkConfig, options: WriterOptions): Connector.SinkWriter<unknown> => {
  const op: BulkOp = config.op ?? "index"
  const bulkOptions = { index: config.index, op, idField: config.id_field, routing: config.routing }
  const maxCount = config.batch_size ?? DEFAULTS.batchSize
  const maxBytes = config.max_bytes ?? DEFAULTS.maxBytes
  const concurrency = config.concurrency ?? DEFAULTS.concurrency
  const { transport } = options

  /** Sends one request; every item of a request that failed as a whole is retried when that may help. */
  const request = (items: ReadonlyArray<BulkItem>): Effect.Effect<ReadonlyArray<Outcome>, ConnectorError> =>
    Effect.tryPromise({ try: () => transport.bulk(body(items)), catch: classify("bulk") }).pipe(
      Effect.map((response) => outcomes(op, items.length, response.items)),
      Effect.catchIf(
        (e: ConnectorError) => e.isRetryable,
        (e) => Effect.succeed(items.map((): Outcome => ({ _tag: "Retry", reason: e.reason.message })))
      )
    )

  /** Sends items as requests bounded by count and bytes, `concurrency` at once; outcomes in item order. */
  const send = (items: ReadonlyArray<BulkItem>) =>
    Effect.map(
      Effect.forEach(requests(items, maxCount, maxBytes), request, { concurrency }),
      (results) => results.flat()
    )

  const writeBatch = (batch: Batch.Batch<unknown>): Effect.Effect<Connector.WriteStats, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      const size = Batch.size(batch)
      if (size === 0) return { written: 0 }
      const items: Array<BulkItem> = []
      const rejected: Array<Rejection> = []
      let bytes = 0
      for (let i = 0; i < size; i++) {
        const built = toItem(Batch.get(batch, i), i, bulkOptions)
        if (isItem(built)) {
          items.push(built)
          bytes += built.bytes
        } else rejected.push({ index: i, record: Batch.get(batch, i), id: undefined, status: "refused before sending", reason: built.reason })
      }
      const refused = yield* writeItems(items, {
        connector: "elasticsearch",
        operation: "bulk",
        send,
        attempts: config.retry?.attempts ?? RETRY_DEFAULTS.attempts,
        backoff: options.backoff,
        describe
      })
      for (const r of refused) rejected.push({ index: r.item.index, record: Batch.get(batch, r.item.index), id: r.item.key, status: r.status, reason: r.reason })
      if (rejected.length > 0) {
        rejected.sort((a, b) => a.index - b.index)
        if (options.setAside === undefined) {
          return yield* rejectionError(rejected, {
            what: (r) => `elasticsearch ${describe({ key: typeof r.id === "string" ? r.id : undefined, index: r.index })} for index '${config.index}'`,
            field: config.id_field
          })
        }
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
