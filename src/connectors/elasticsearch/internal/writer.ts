/**
 * The writer of the `elasticsearch` sink: one `writeBatch` sends the batch as bulk requests
 * (bounded by `batch_size` and `max_bytes`, `concurrency` at once), sends the items a response
 * reports as retryable again — those only — after a backoff with jitter (`kit/internal/itemWrites.ts`),
 * and returns only when every item is written or rejected for good; `SinkKit` fails the batch on
 * a rejected item with a `RecordError` naming the document, or sets it aside in the dead letters
 * (`RecordsRejected`). Since the runtime
 * acknowledges a checkpoint barrier only after the batches before it were written, a checkpoint
 * completes only when every item of its batches is acknowledged or dead-lettered.
 */
import { Effect } from "effect"
import type * as Connector from "../../../Connector.ts"
import type { ConnectorError } from "../../../Errors.ts"
import { type Backoff, type Outcome, writeItems } from "../../kit/internal/itemWrites.ts"
import * as Retry from "../../kit/Retry.ts"
import * as SinkKit from "../../kit/SinkKit.ts"
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
  readonly context: Connector.OpenContext
  /** The waits between retries (default: the `retry` policy's). */
  readonly backoff?: Backoff
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

  const policy = Retry.policy(config.retry)

  /** Writes records: all of them, or all but the rejected ones (`RecordsRejected`). */
  const writeRecords = (records: ReadonlyArray<unknown>): Effect.Effect<Connector.WriteStats, ConnectorError | SinkKit.RecordsRejected> =>
    Effect.gen(function*() {
      const items: Array<BulkItem> = []
      const rejected: Array<{ readonly index: number; readonly reason: string; readonly fields: { readonly [key: string]: unknown } }> = []
      let bytes = 0
      for (let i = 0; i < records.length; i++) {
        const built = toItem(records[i], i, bulkOptions)
        if (isItem(built)) {
          items.push(built)
          bytes += built.bytes
        } else rejected.push({ index: i, reason: `elasticsearch record ${i + 1} of the batch was refused before sending: ${built.reason}`, fields: { index: config.index } })
      }
      const refused = yield* writeItems(items, {
        connector: "elasticsearch",
        operation: "bulk",
        send,
        policy,
        ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
        describe
      })
      for (const r of refused) {
        rejected.push({
          index: r.item.index,
          reason: `elasticsearch ${describe(r.item)} for index '${config.index}' was rejected (status ${r.status}): ${r.reason}`,
          fields: { index: config.index, ...(r.item.key !== undefined ? { id: r.item.key } : {}), status: r.status, reason: r.reason }
        })
      }
      if (rejected.length > 0) {
        return yield* new SinkKit.RecordsRejected({ written: records.length - rejected.length, rejected: rejected.sort((a, b) => a.index - b.index) })
      }
      return { written: records.length, bytes }
    })

  return SinkKit.make({
    connector: "elasticsearch",
    context: options.context,
    config,
    writeBatch: writeRecords,
    // writeRecords retried what can be retried, item by item: what is left fails the run
    classify: () => "fail",
    flush: config.refresh === true
      ? Effect.asVoid(Effect.tryPromise({ try: () => transport.refresh(), catch: classify("refresh") }))
      : Effect.void
  })
}
