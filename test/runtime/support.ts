/**
 * Small connectors and processors defined in the test itself, so the runtime tests depend on the
 * core interfaces only (not on the file connectors or the expression language).
 */
import { Effect, Ref, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Connector from "../../src/Connector.ts"
import * as Processor from "../../src/Processor.ts"
import * as State from "../../src/State.ts"

/** A source of `count` records `{ id, group }`, `{ id }` from 0, seekable by index. */
export const Numbers = Connector.source({
  type: "numbers",
  description: "records { id: i, group: i % 3 } for i in [0, count)",
  config: Schema.Struct({ count: Schema.Int, delay_ms: Schema.optionalKey(Schema.Number) }),
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: () => Effect.void,
  open: (config, ctx) =>
    Effect.sync(() => {
      // Instances split the range by stride.
      let next = ctx.instance
      return {
        readBatch: (max: number) =>
          Effect.andThen(config.delay_ms === undefined ? Effect.void : Effect.sleep(config.delay_ms), Effect.sync(() => {
            if (next >= config.count) return undefined
            const records: Array<{ id: number; group: number }> = []
            while (records.length < max && next < config.count) {
              records.push({ id: next, group: next % 3 })
              next += ctx.parallelism
            }
            return Batch.make(records, { origin: { source: ctx.node, position: next } })
          })),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
    })
})

/**
 * A non-seekable source of `type` giving `count(config)` records, the i-th (from 0) made by
 * `record(i, config)`, in batches of up to the runtime's batch size.
 */
export const generated = <C>(options: {
  readonly type: string
  readonly description: string
  readonly config: Schema.Decoder<C>
  readonly count: (config: C) => number
  readonly record: (i: number, config: C) => unknown
}) =>
  Connector.source({
    type: options.type,
    description: options.description,
    config: options.config,
    capabilities: () => ({ seekable: false, unbounded: false }),
    check: () => Effect.void,
    open: (config) =>
      Effect.sync(() => {
        const count = options.count(config)
        let next = 0
        return {
          readBatch: (max: number) =>
            Effect.sync(() => {
              if (next >= count) return undefined
              const records: Array<unknown> = []
              while (records.length < max && next < count) records.push(options.record(next++, config))
              return Batch.make(records)
            }),
          position: Effect.sync(() => next),
          seek: () => Effect.void,
          commit: () => Effect.void
        }
      })
  })

/**
 * A sink of `type` that appends the records it is given to a new list, set in `lists` under its
 * config's `name` when it opens (after `delay_ms` per batch, when set).
 */
export const listSink = (type: string, description: string, lists: Map<string, Array<unknown>>) =>
  Connector.sink({
    type,
    description,
    config: Schema.Struct({ name: Schema.String, delay_ms: Schema.optionalKey(Schema.Number) }),
    capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
    check: () => Effect.void,
    open: (config) =>
      Effect.sync(() => {
        const list: Array<unknown> = []
        lists.set(config.name, list)
        return {
          writeBatch: (batch: Batch.Batch<unknown>) =>
            Effect.gen(function*() {
              if (config.delay_ms !== undefined) yield* Effect.sleep(config.delay_ms)
              Batch.forEach(batch, (r) => list.push(r))
              return { written: Batch.size(batch) }
            }),
          flush: Effect.void
        }
      })
  })

/** A sink that appends records to a named in-memory list (see `collected`). */
const lists = new Map<string, Array<unknown>>()
export const collected = (name: string): Array<unknown> => lists.get(name) ?? []
export const Collect = listSink("collect_test", "appends to an in-memory list", lists)

/** keep records whose `field` is even */
export const KeepEven = Processor.define({
  type: "keep_even",
  description: "keeps records whose field is even",
  config: Schema.Struct({ field: Schema.String }),
  make: (config) =>
    Processor.stateless({ _tag: "filter", f: (r) => ((r as Record<string, number>)[config.field] ?? 1) % 2 === 0 })
})

/** adds `by` to field `id` */
export const AddTo = Processor.define({
  type: "add",
  description: "adds a number to id",
  config: Schema.Struct({ by: Schema.Number }),
  make: (config) =>
    Processor.stateless({
      _tag: "map",
      f: (r) => ({ ...(r as Record<string, number>), id: (r as Record<string, number>).id + config.by })
    })
})

/** throws on the record whose id equals `at` */
export const Explode = Processor.define({
  type: "explode",
  description: "throws on one record",
  config: Schema.Struct({ at: Schema.Number }),
  make: (config) =>
    Processor.stateless({
      _tag: "map",
      f: (r) => {
        if ((r as { id: number }).id === config.at) throw new Error(`boom at ${config.at}`)
        return r
      }
    })
})

/** counts open/close of a resource, to check release on every path */
export const makeTracked = () =>
  Effect.gen(function*() {
    const opened = yield* Ref.make(0)
    const closed = yield* Ref.make(0)
    const definition = Connector.sink({
      type: "tracked",
      description: "a sink that records open/close",
      config: Schema.Struct({}),
      capabilities: () => ({ guarantee: "at-least-once", transactional: false }),
      check: () => Effect.void,
      open: () =>
        Effect.acquireRelease(Ref.update(opened, (n) => n + 1), () => Ref.update(closed, (n) => n + 1)).pipe(
          Effect.as({
            writeBatch: (batch: Batch.Batch<unknown>) => Effect.succeed({ written: Batch.size(batch) }),
            flush: Effect.void
          })
        )
    })
    return { definition, opened, closed }
  })

export const definitions = [Numbers, Collect, KeepEven, AddTo, Explode]

/**
 * An exactly-once in-memory sink: writes after the last pre-commit are pending, pre-committed
 * writes are published on commit, and `restore(id)` discards whatever came after checkpoint `id`.
 * The store outlives writers (like a file or a table would), keyed by `name`.
 */
export interface ExactlyOnceStore {
  committed: Array<unknown>
  prepared: Array<{ id: number; records: Array<unknown> }>
  pending: Array<unknown>
}
const stores = new Map<string, ExactlyOnceStore>()
export const exactlyOnceStore = (name: string): ExactlyOnceStore => {
  let store = stores.get(name)
  if (store === undefined) {
    store = { committed: [], prepared: [], pending: [] }
    stores.set(name, store)
  }
  return store
}
export const ExactlyOnce = Connector.sink({
  type: "exactly_once_test",
  description: "exactly-once in-memory sink",
  config: Schema.Struct({ name: Schema.String }),
  capabilities: () => ({ guarantee: "exactly-once", transactional: true }),
  check: () => Effect.void,
  open: (config) =>
    Effect.sync(() => {
      const store = exactlyOnceStore(config.name)
      return {
        writeBatch: (batch: Batch.Batch<unknown>) =>
          Effect.sync(() => {
            Batch.forEach(batch, (r) => store.pending.push(r))
            return { written: Batch.size(batch) }
          }),
        flush: Effect.void,
        preCommit: (id: number) =>
          Effect.sync(() => {
            store.prepared.push({ id, records: store.pending })
            store.pending = []
          }),
        commit: (id: number) =>
          Effect.sync(() => {
            const ready = store.prepared.filter((p) => p.id <= id)
            store.prepared = store.prepared.filter((p) => p.id > id)
            for (const p of ready) store.committed.push(...p.records)
          }),
        restore: (id: number | undefined) =>
          Effect.sync(() => {
            // a checkpoint that completed is committed even if commit() did not run before the crash
            const ready = store.prepared.filter((p) => id !== undefined && p.id <= id)
            for (const p of ready) store.committed.push(...p.records)
            store.prepared = []
            store.pending = []
          })
      }
    })
})

/** Throws once (per `flag` name) on the record whose id is `at`, then lets everything through. */
const fired = new Set<string>()
export const FailOnce = Processor.define({
  type: "fail_once",
  description: "throws once",
  config: Schema.Struct({ at: Schema.Number, flag: Schema.String }),
  make: (config) =>
    Processor.stateless({
      _tag: "map",
      f: (r) => {
        if ((r as { id: number }).id === config.at && !fired.has(config.flag)) {
          fired.add(config.flag)
          throw new Error(`injected failure at ${config.at}`)
        }
        return r
      }
    })
})

/** Keyed running count: emits { group, n, instance, id } per record; ids > `late_after` go to port "late". */
export const RunningCount = Processor.define({
  type: "running_count",
  description: "per-key running count",
  config: Schema.Struct({ late_after: Schema.optionalKey(Schema.Number) }),
  make: (config): Processor.StatefulProcessor => ({
    _tag: "Stateful",
    key: (r) => (r as { group: number }).group,
    ports: ["late"],
    stateSchema: Schema.Number as Schema.Codec<unknown, unknown>,
    stateVersion: 1,
    make: ({ instance }) => {
      const state = State.inMemory<unknown>()
      return {
        state,
        onBatch: (batch) => {
          const records: Array<unknown> = []
          const late: Array<unknown> = []
          Batch.forEach(batch, (r) => {
            const { group, id } = r as { group: number; id: number }
            if (config.late_after !== undefined && id > config.late_after) {
              late.push(r)
              return
            }
            const n = ((state.get(String(group)) as number | undefined) ?? 0) + 1
            state.set(String(group), n)
            records.push({ group, n, instance, id })
          })
          return { records, side: { late } }
        },
        // like a window firing: emit the totals, then forget them
        onEnd: () => {
          const records = [...state.entries()].map(([group, n]) => ({ group: Number(group), final: n }))
          for (const { group } of records) state.delete(String(group))
          return { records }
        }
      }
    }
  })
})

