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
 * The `collect` sink config: `name` of the list (default `"default"`) and the `guarantee` it
 * gives after a restore: `at-least-once` (default: every write lands in the list at once, so a
 * replay after a restore appends again) or `exactly-once` (writes become visible in the list only
 * when the checkpoint that covers them completes; a restore discards what came after it).
 *
 * @category schemas
 * @since 0.1.0
 */
export const CollectConfig = Schema.Struct({
  name: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "The in-memory list the records go to", default: "default" })),
  guarantee: Schema.optionalKey(Schema.Literals(["at-least-once", "exactly-once"]).annotate({
    description: "exactly-once: writes become visible when their checkpoint completes; at-least-once: at once (a replay appends again)",
    default: "at-least-once"
  }))
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
  if (name === undefined) {
    lists.clear()
    staged.clear()
  } else {
    lists.delete(name)
    for (const key of [...staged.keys()]) if (key.startsWith(`${name}#`)) staged.delete(key)
  }
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
): Connector.SinkWriter<unknown> => {
  const write = (batch: Batch.Batch<unknown>): Connector.WriteStats => {
    const { records, start, end } = batch
    for (let i = start; i < end; i++) target.push(records[i])
    if (batches !== undefined) batches.push(Batch.toArray(batch))
    return { written: end - start }
  }
  return {
    writeBatch: (batch) => Effect.sync(() => write(batch)),
    writeBatchSync: write,
    flush: Effect.void
  }
}

/** Writes staged per checkpoint, outliving writers (like a file would), per list name. */
const staged = new Map<string, { pending: Array<unknown>; prepared: Array<{ readonly id: number; readonly records: ReadonlyArray<unknown> }> }>()

/**
 * An exactly-once writer over `target`: pending → pre-committed (per checkpoint) → appended to
 * `target` on commit; `restore(id)` publishes what was pre-committed up to `id` and drops the rest.
 * `name` keys the staged writes (they outlive the writer, as a file would): give each writer
 * instance its own.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeExactlyOnceWriter = (name: string, target: Array<unknown>): Connector.SinkWriter<unknown> => {
  let stage = staged.get(name)
  if (stage === undefined) {
    stage = { pending: [], prepared: [] }
    staged.set(name, stage)
  }
  const st = stage
  const publish = (upTo: number) => {
    for (const p of st.prepared) if (p.id <= upTo) target.push(...p.records)
    st.prepared = st.prepared.filter((p) => p.id > upTo)
  }
  const write = (batch: Batch.Batch<unknown>): Connector.WriteStats => {
    const { records, start, end } = batch
    for (let i = start; i < end; i++) st.pending.push(records[i])
    return { written: end - start }
  }
  return {
    writeBatch: (batch) => Effect.sync(() => write(batch)),
    writeBatchSync: write,
    flush: Effect.void,
    preCommit: (id) =>
      Effect.sync(() => {
        st.prepared.push({ id, records: st.pending })
        st.pending = []
      }),
    commit: (id) => Effect.sync(() => publish(id)),
    restore: (id) =>
      Effect.sync(() => {
        if (id !== undefined) publish(id)
        st.prepared = []
        st.pending = []
      })
  }
}

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
  // writes only append to an array: the sink can run in its producer's fiber
  capabilities: (config) => ({
    guarantee: config.guarantee ?? "at-least-once",
    transactional: config.guarantee === "exactly-once",
    inline: true
  }),
  check: () => Effect.void,
  open: (config, context) =>
    Effect.sync(() =>
      config.guarantee === "exactly-once"
        // each instance stages its own writes: one instance's restore must not drop another's
        ? makeExactlyOnceWriter(`${config.name ?? "default"}#${context.instance}`, list(config.name ?? "default"))
        : makeWriter(list(config.name ?? "default"))
    )
})
