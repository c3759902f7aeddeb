/**
 * The routing steps of the cluster's keyed exchange: the last step of a stage that feeds a keyed
 * operator turns each record into an exchange row — its key group by the key the records travel
 * by, its text — which the stage's exactly-once `postgres` sink moves into `<prefix>_exchange`
 * with the part's checkpoints. In front of a windowed operator the step also writes the producer's
 * event-time clock with every row (see exchange.ts).
 */
import { Schema } from "effect"
import type { Batch } from "../../Batch.ts"
import { keyGroupOf } from "../../internal/keyGroups.ts"
import type * as Processor from "../../Processor.ts"
import { eventTime } from "../../processors/internal/windows.ts"
import type { Entry } from "../../Registry.ts"
import * as State from "../../State.ts"
import { encodeRecord } from "./exchangeCodec.ts"

/** The type of the routing step (registered only in the registry of a part that writes the exchange). */
export const EXCHANGE_ROUTE = "__dataflare_exchange_route"

/** The event-time settings of a windowed keyed operator. */
export interface Windowed {
  readonly timeField: string
  /** `max_out_of_orderness` in milliseconds. */
  readonly outOfOrderness: number
}

const NoConfig = Schema.Struct({})

/** Where a routing step writes: the workflow, the edge (1: into the first keyed operator), its producer number. */
export interface RouteTarget {
  readonly workflow: string
  readonly edge: number
  readonly producer: number
  /** The key records travel by (the keyed node's `key_by`, else its own key). */
  readonly key: (record: unknown) => unknown
  /** `execution.key_groups`. */
  readonly groups: number
}

/** The exchange row of a record (`wm`: the producer's clock, for windowed operators; `null` otherwise). */
const rowOf = ({ edge, groups, key, producer, workflow }: RouteTarget, record: unknown, wm: number | null) => ({
  workflow,
  edge,
  producer,
  kg: keyGroupOf(key(record), groups),
  payload: encodeRecord(record),
  wm
})

/** A routing step's registry entry (`value`: what it runs). */
const entryOf = (description: string, value: Processor.Processor): Entry => ({
  kind: "processor",
  type: EXCHANGE_ROUTE,
  description,
  apiVersion: 1,
  configSchema: NoConfig,
  prepare: () => ({ ok: true, value })
})

/**
 * A routing step that turns each batch into rows with `onBatch` — given the batch and the step's
 * state, one instance (its state is the part's: checkpointed with it).
 */
const statefulRoute = (
  description: string,
  fingerprint: unknown,
  onBatch: (batch: Batch<unknown>, state: State.KeyedState<unknown>) => ReadonlyArray<unknown>
): Entry =>
  entryOf(description, {
    _tag: "Stateful",
    key: undefined,
    ports: [],
    stateSchema: Schema.Unknown,
    stateVersion: 1,
    fingerprint,
    make: () => {
      const state = State.inMemory<unknown>()
      return { state, onBatch: (batch) => ({ records: onBatch(batch, state) }), onEnd: () => ({ records: [] }) }
    }
  })

/**
 * The routing step in front of a keyed operator: each record becomes an exchange row (`workflow`,
 * `edge`, `producer`, its key group `kg`, `payload`).
 */
export const routeEntry = (target: RouteTarget): Entry =>
  entryOf("routes records to the cluster's keyed exchange", {
    _tag: "Stateless",
    steps: [{ _tag: "map", f: (record: unknown) => rowOf(target, record, null) }]
  })

/** The routing step's state key: the producer's largest event time read so far. */
const CLOCK = "max"

/**
 * The routing step in front of a windowed operator: as {@link routeEntry}, and every row carries
 * the producer's clock (`wm`: the largest event time read so far minus `max_out_of_orderness`;
 * `null` before the first valid time). A stateful step of one instance: the clock is part of the
 * part's checkpoints, so a producer resumed elsewhere goes on from the clock it had. A record
 * without a valid event time passes unchanged (the operator sets it aside or fails on it).
 */
export const windowedRouteEntry = (target: RouteTarget, windowed: Windowed): Entry =>
  statefulRoute(
    "routes records to the cluster's keyed exchange, with the producer's event-time clock",
    { route: "windowed", timeField: windowed.timeField },
    (batch, state) => {
      const stored = state.get(CLOCK)
      let max = typeof stored === "number" ? stored : Number.NEGATIVE_INFINITY
      const out: Array<unknown> = []
      for (let i = batch.start; i < batch.end; i++) {
        const record = batch.records[i]
        let t: number | undefined
        try {
          t = eventTime(record, windowed.timeField)
        } catch {
          t = undefined
        }
        if (t !== undefined && t > max) max = t
        out.push(rowOf(target, record, Number.isFinite(max) ? max - windowed.outOfOrderness : null))
      }
      if (Number.isFinite(max) && max !== stored) state.set(CLOCK, max)
      return out
    }
  )

/**
 * The routing step behind a keyed operator that hands records on as they come (a `dedupe` without
 * window), in front of a windowed one: the records are then in no event-time order (they come
 * from several producers of the edge before), so the clock is not taken from them but passed on —
 * every row carries the watermark of its batch (the smallest clock of the edge before's producers,
 * see exchangeSource.ts), `null` while there is none. Nothing to checkpoint: the clock comes back
 * with the batches.
 */
export const passingRouteEntry = (target: RouteTarget): Entry =>
  statefulRoute("routes records to the cluster's keyed exchange, passing the event-time clock on", { route: "passing" }, (batch) => {
    const wm = batch.watermark ?? null
    const out: Array<unknown> = []
    for (let i = batch.start; i < batch.end; i++) out.push(rowOf(target, batch.records[i], wm))
    return out
  })
