/**
 * How the stateful processors keep their state in a {@link KeyedState}, so that a checkpoint can
 * snapshot it and a fresh operator can be restored from it.
 *
 * One operator instance owns one keyed state holding:
 * - under {@link CLOCK_KEY}, the event-time clock: the largest event time seen, the watermark and
 *   the number of late records dropped;
 * - for `aggregate`, one {@link Pane} per (window, group): the group's values and one
 *   accumulator slot per output field;
 * - for `dedupe`, one entry per key seen: the end of its dedupe window.
 *
 * Each processor's `stateSchema` encodes these values to JSON and back; {@link tracked} wraps
 * an in-memory state so the operator rebuilds its in-memory indexes after a restore.
 *
 * @since 0.1.0
 */
import { Schema, SchemaGetter } from "effect"
import * as State from "../../State.ts"
import { JsonSafe } from "./aggregateOps.ts"
import { keyOfValues } from "./windows.ts"

/**
 * The state key of the clock entry (pane and dedupe keys never equal it: they start with `p`,
 * `g` or `k`).
 *
 * @category constants
 * @since 0.1.0
 */
export const CLOCK_KEY = "clock"

/**
 * The event-time clock as stored (JSON: `null` for "nothing seen yet").
 *
 * @category schemas
 * @since 0.1.0
 */
export const ClockState = Schema.Struct({
  _tag: Schema.Literal("Clock"),
  max: Schema.NullOr(Schema.Number),
  watermark: Schema.NullOr(Schema.Number),
  late: Schema.Number
})

/**
 * The stored form of the event-time clock.
 *
 * @category models
 * @since 0.1.0
 */
export type ClockState = typeof ClockState.Type

/**
 * The event-time clock of an operator instance, as the hot loop uses it (`-Infinity`: nothing
 * seen yet).
 *
 * @category models
 * @since 0.1.0
 */
export interface Clock {
  max: number
  watermark: number
  late: number
}

/**
 * A new clock (nothing seen).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeClock = (): Clock => ({ max: -Infinity, watermark: -Infinity, late: 0 })

const finiteOrNull = (n: number): number | null => (Number.isFinite(n) ? n : null)

/**
 * The stored form of a clock (a fresh value: the clock itself keeps changing).
 *
 * @category codecs
 * @since 0.1.0
 */
export const clockToState = (c: Clock): ClockState => ({
  _tag: "Clock",
  max: finiteOrNull(c.max),
  watermark: finiteOrNull(c.watermark),
  late: c.late
})

/**
 * The clock of a stored value (a new clock when there is none).
 *
 * @category codecs
 * @since 0.1.0
 */
export const clockFromState = (s: unknown): Clock => {
  if (!Schema.is(ClockState)(s)) return makeClock()
  return { max: s.max ?? -Infinity, watermark: s.watermark ?? -Infinity, late: s.late }
}

/**
 * The state of one group in one window (`start` is `null` for a global aggregate). `gk` is the
 * group's key string (not stored: recomputed from `group` on restore); `acc` holds one slot per
 * output field and is updated in place. `key` (its state key) and `mark` (the last batch that
 * changed it) are the operator's bookkeeping, not stored either.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pane {
  readonly _tag: "Pane"
  readonly start: number | null
  readonly gk: string
  readonly group: ReadonlyArray<unknown>
  readonly acc: Array<unknown>
  key: string
  mark: number
}

const isPane = (u: unknown): u is Pane => typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Pane"

/**
 * The state Schema of an aggregate whose accumulator slots are encoded by `slots`: a clock or a
 * pane, to and from JSON-safe values.
 *
 * @category schemas
 * @since 0.1.0
 */
export const aggregateStateSchema = (slots: ReadonlyArray<Schema.Codec<unknown, unknown>>): Schema.Codec<unknown, unknown> => {
  // one codec per slot: the tuple's length is only known at run time
  const Acc = Schema.Tuple(slots) as unknown as Schema.Codec<ReadonlyArray<unknown>, ReadonlyArray<unknown>>
  const PaneCodec = Schema.Struct({
    _tag: Schema.Literal("Pane"),
    start: Schema.NullOr(Schema.Number),
    group: Schema.Array(JsonSafe),
    acc: Acc
  }).pipe(
    Schema.decodeTo(Schema.declare(isPane), {
      decode: SchemaGetter.transform((e): Pane => ({
        _tag: "Pane",
        start: e.start,
        gk: keyOfValues(e.group),
        group: e.group,
        acc: [...e.acc],
        key: "",
        mark: -1
      })),
      encode: SchemaGetter.transform((p: Pane) => ({ _tag: "Pane" as const, start: p.start, group: p.group, acc: p.acc }))
    })
  )
  return Schema.Union([ClockState, PaneCodec])
}

/**
 * The state Schema of `dedupe`: a clock, or for a key the end of its dedupe window (epoch ms; 0
 * when there is no window).
 *
 * @category schemas
 * @since 0.1.0
 */
export const dedupeStateSchema: Schema.Codec<unknown, unknown> = Schema.Union([ClockState, Schema.Number])

/**
 * An in-memory keyed state that calls `onRestore` after every `restore`, so the operator can
 * rebuild what it derives from the state (its clock, its window index).
 *
 * @category constructors
 * @since 0.1.0
 */
export const tracked = (onRestore: () => void): State.KeyedState<unknown> => {
  const inner = State.inMemory<unknown>()
  return {
    ...inner,
    restore: (entries) => {
      inner.restore(entries)
      onRestore()
    }
  }
}

/**
 * The partitioning key of an aggregate state entry: a pane's group key (what the aggregate's
 * `key` gives its records), nothing for the clock.
 *
 * @category keys
 * @since 0.1.0
 */
export const paneGroupKey = (stateKey: string, value: unknown): { readonly key: unknown } | undefined =>
  stateKey === CLOCK_KEY || !isPane(value) ? undefined : { key: value.gk }

/**
 * The partitioning key of a dedupe state entry (its key after the `k` prefix), nothing for the clock.
 *
 * @category keys
 * @since 0.1.0
 */
export const dedupeKey = (stateKey: string): { readonly key: unknown } | undefined =>
  stateKey === CLOCK_KEY ? undefined : { key: stateKey.slice(1) }

/**
 * The clock of an instance that takes over the key groups of several instances after a
 * parallelism change: the highest event time and watermark among them (so no window that one of
 * them had fired opens again), and the largest late count (late counts after a rescale are a
 * lower bound).
 *
 * @category codecs
 * @since 0.1.0
 */
export const mergeClocks = (stateKey: string, values: ReadonlyArray<unknown>): unknown => {
  if (stateKey !== CLOCK_KEY) return values[0]
  const clocks = values.map(clockFromState)
  const merged = clocks.reduce((a, b) => ({ max: Math.max(a.max, b.max), watermark: Math.max(a.watermark, b.watermark), late: Math.max(a.late, b.late) }), makeClock())
  return clockToState(merged)
}
