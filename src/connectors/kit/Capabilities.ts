/**
 * A definition's `capabilities`, declared from what the connector is rather than spelled field by
 * field: a source following a log ({@link stream}: a broker, a change stream), a source reading a
 * table or a query ({@link table}), a sink neither committing with its checkpoints nor
 * de-duplicating ({@link atLeastOnceSink}); and the two pieces they are made of, a configured
 * `batch_size` as the preferred batch size ({@link preferredBatch}) and a limit of one instance
 * with its reason ({@link onlyOne}), which the runtime shows when it refuses a larger
 * `parallelism` (`dataflare validate`).
 *
 * @example
 * ```ts
 * import { Capabilities } from "dataflare"
 *
 * // a replication slot: one reader, batches of the configured size
 * const cdc = (config: { readonly batch_size?: number }) =>
 *   Capabilities.stream({ batchSize: config.batch_size, onlyOne: "a replication slot is read by one session" })
 * ```
 * @since 0.5.0
 */
import type { Encoded } from "../../Batch.ts"
import type { SinkCapabilities, SourceCapabilities } from "../../Connector.ts"

/**
 * `{ preferredBatchSize }` when a batch size is configured, else nothing (the runtime's own
 * `execution.batch_size` applies).
 *
 * @category constructors
 * @since 0.5.0
 */
export const preferredBatch = (size: number | undefined): { readonly preferredBatchSize?: number } =>
  size === undefined ? {} : { preferredBatchSize: size }

/**
 * At most one instance of the node, and why (shown in the refusal of a larger `parallelism`).
 *
 * @category constructors
 * @since 0.5.0
 */
export const onlyOne = (reason: string): { readonly maxParallelism: 1; readonly maxParallelismReason: string } => ({
  maxParallelism: 1,
  maxParallelismReason: reason
})

/**
 * A source following an unbounded log it can seek in (a broker's stream, a replication slot, a
 * binlog): `batchSize` its preferred batch size when set, `onlyOne` the reason it runs as one
 * instance when it does.
 *
 * @category constructors
 * @since 0.5.0
 */
export const stream = (options: { readonly batchSize: number | undefined; readonly onlyOne?: string }): SourceCapabilities => ({
  seekable: true,
  unbounded: true,
  ...(options.onlyOne !== undefined ? onlyOne(options.onlyOne) : {}),
  ...preferredBatch(options.batchSize)
})

/**
 * A source reading a table or a query to its end, seekable: `batchSize` its preferred batch size
 * when set; `query`, when the config reads a query (which has no key to split it by), the reason
 * it then runs as one instance; `encodes` the encoded forms it can hand on.
 *
 * @category constructors
 * @since 0.5.0
 */
export const table = (options: {
  readonly batchSize: number | undefined
  readonly query: string | undefined
  readonly encodes?: ReadonlyArray<Encoded["format"]>
}): SourceCapabilities => ({
  seekable: true,
  unbounded: false,
  ...(options.encodes !== undefined ? { encodes: options.encodes } : {}),
  ...preferredBatch(options.batchSize),
  ...(options.query !== undefined ? onlyOne(options.query) : {})
})

/**
 * A sink writing a SQL table in transactions with its checkpoint ids (`postgres`, `mysql`): exactly
 * once unless the config asks for `guarantee: at-least-once` (an `upsert` stays exactly-once: it
 * is idempotent); `mode: replace` empties the table, so it runs as one instance.
 *
 * @category constructors
 * @since 0.5.0
 */
export const tableSink = (
  config: { readonly mode?: "insert" | "upsert" | "replace" | undefined; readonly guarantee?: "exactly-once" | "at-least-once" | undefined },
  preferredBatchSize: number
): SinkCapabilities => ({
  guarantee: config.mode === "upsert" || config.guarantee !== "at-least-once" ? "exactly-once" : "at-least-once",
  transactional: true,
  preferredBatchSize,
  ...(config.mode === "replace" ? { maxParallelism: 1 } : {})
})

/**
 * A sink whose writes are neither committed with its checkpoints nor de-duplicated: after a
 * restore, what it wrote since the last completed checkpoint is written again.
 *
 * @category constructors
 * @since 0.5.0
 */
export const atLeastOnceSink = (): SinkCapabilities => ({ guarantee: "at-least-once", transactional: false })
