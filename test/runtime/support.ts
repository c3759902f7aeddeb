/**
 * Small connectors and processors defined in the test itself, so the runtime tests depend on the
 * core interfaces only (not on the file connectors or the expression language).
 */
import { Effect, Ref, Schema } from "effect"
import * as Batch from "../../src/Batch.ts"
import * as Connector from "../../src/Connector.ts"
import * as Processor from "../../src/Processor.ts"

/** A source of `count` records `{ id, group }`, `{ id }` from 0, seekable by index. */
export const Numbers = Connector.source({
  type: "numbers",
  description: "records { id: i, group: i % 3 } for i in [0, count)",
  config: Schema.Struct({ count: Schema.Int }),
  capabilities: () => ({ seekable: true, unbounded: false }),
  check: () => Effect.void,
  open: (config, ctx) =>
    Effect.sync(() => {
      // Instances split the range by stride.
      let next = ctx.instance
      return {
        readBatch: (max: number) =>
          Effect.sync(() => {
            if (next >= config.count) return undefined
            const records: Array<{ id: number; group: number }> = []
            while (records.length < max && next < config.count) {
              records.push({ id: next, group: next % 3 })
              next += ctx.parallelism
            }
            return Batch.make(records, { origin: { source: ctx.node, position: next } })
          }),
        position: Effect.sync(() => next),
        seek: (p) => Effect.sync(() => void (next = Number(p))),
        commit: () => Effect.void
      }
    })
})

/** A sink that appends records to a named in-memory list (see `collected`). */
const lists = new Map<string, Array<unknown>>()
export const collected = (name: string): Array<unknown> => lists.get(name) ?? []
export const Collect = Connector.sink({
  type: "collect_test",
  description: "appends to an in-memory list",
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
