/**
 * The `collect` sink: keeps every record it receives in memory, in a list named by `name`
 * (default `"default"`), readable with {@link collected}. Lists live as long as the process;
 * clear one with {@link clearCollected} between runs.
 *
 * For tests prefer `Testing.collector()` from `dataflare/testing`, which gives each test its own
 * list and needs no name.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"

/**
 * The `collect` sink config: `name` of the list (default `"default"`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const CollectConfig = Schema.Struct({
  name: Schema.optionalKey(Schema.NonEmptyString)
})

/**
 * @category models
 * @since 0.1.0
 */
export type CollectConfig = typeof CollectConfig.Type

const lists = new Map<string, Array<unknown>>()

const list = (name: string): Array<unknown> => {
  let l = lists.get(name)
  if (l === undefined) {
    l = []
    lists.set(name, l)
  }
  return l
}

/**
 * The records collected so far by `collect` sinks named `name` (a copy).
 *
 * @category getters
 * @since 0.1.0
 */
export const collected = (name: string = "default"): ReadonlyArray<unknown> => [...(lists.get(name) ?? [])]

/**
 * Empties the list `name` (or every list).
 *
 * @category combinators
 * @since 0.1.0
 */
export const clearCollected = (name?: string): void => {
  if (name === undefined) lists.clear()
  else lists.delete(name)
}

/**
 * A sink writer that pushes every record into `target` (and each batch into `batches`, if given).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeWriter = (
  target: Array<unknown>,
  batches?: Array<ReadonlyArray<unknown>>
): Connector.SinkWriter<unknown> => ({
  writeBatch: (batch) =>
    Effect.sync(() => {
      const { records, start, end } = batch
      for (let i = start; i < end; i++) target.push(records[i])
      if (batches !== undefined) batches.push(Batch.toArray(batch))
      return { written: end - start }
    }),
  flush: Effect.void
})

/**
 * The `collect` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const CollectSink: Connector.SinkDefinition<CollectConfig, unknown> = Connector.sink({
  type: "collect",
  description: "Keeps the records in memory (for tests and examples)",
  config: CollectConfig,
  capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
  check: () => Effect.void,
  open: (config) => Effect.sync(() => makeWriter(list(config.name ?? "default")))
})
