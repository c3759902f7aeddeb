/**
 * The accumulators of the `aggregate` processor: one per output field, each with an initial
 * slot, an `add` that folds one record into the slot, a `result`, and a Schema that encodes the
 * slot to JSON for checkpoints.
 *
 * Slots that are objects (`avg`, `first`, `last`, `count_distinct`) are updated in place; their
 * codecs always build fresh JSON values, so an encoded checkpoint never aliases live state.
 *
 * @since 0.1.0
 */
import { Schema, SchemaGetter } from "effect"
import { RecordError } from "../../Errors.ts"
import { describe, fieldOf, fromJsonSafe, keyPart, toJsonSafe } from "./windows.ts"

/**
 * The built-in aggregate operations.
 *
 * @category models
 * @since 0.1.0
 */
export const OPS = ["count", "sum", "min", "max", "avg", "first", "last", "count_distinct"] as const

/**
 * The name of a built-in aggregate operation.
 *
 * @category models
 * @since 0.1.0
 */
export type Op = (typeof OPS)[number]

/**
 * A user reducer (DSL only): `init` makes the empty state, `add` folds one record into it
 * (returning the new state; do not mutate the old one), `result` turns it into the output value.
 * `schema` encodes the state for checkpoints; without it the state must be JSON-safe (`Date`
 * and `bigint` values are kept too).
 *
 * @category models
 * @since 0.1.0
 */
export interface Reducer<S = unknown, R = unknown> {
  readonly init: () => S
  readonly add: (state: S, record: unknown) => S
  readonly result: (state: S) => R
  readonly schema?: Schema.Codec<S, unknown> | undefined
}

/**
 * One accumulator.
 *
 * @category models
 * @since 0.1.0
 */
export interface Accumulator {
  readonly init: () => unknown
  /** Folds one record (with its event time, 0 without a time field) into the slot; returns the slot. */
  readonly add: (slot: unknown, record: unknown, t: number) => unknown
  readonly result: (slot: unknown) => unknown
  readonly codec: Schema.Codec<unknown, unknown>
  /**
   * Throws the error `add` would throw on `record`, without touching a slot (built-in ops: a
   * field of the wrong type). Absent: `add` never throws, or (`staged`) may only be known by
   * running it.
   */
  readonly check?: ((record: unknown) => void) | undefined
  /**
   * `add` returns a new slot and leaves the old one as it was (a user reducer): to set aside a
   * record it throws on, the operator runs it on every pane before storing any result.
   */
  readonly staged?: boolean | undefined
}

interface Avg {
  sum: number
  n: number
}

interface Timed {
  t: number
  v: unknown
}

const isAvg = (u: unknown): u is Avg => typeof u === "object" && u !== null && "sum" in u && "n" in u
const isTimed = (u: unknown): u is Timed => typeof u === "object" && u !== null && "t" in u && "v" in u
const isSet = (u: unknown): u is Set<string> => u instanceof Set

const AvgCodec = Schema.Tuple([Schema.Number, Schema.Number]).pipe(
  Schema.decodeTo(Schema.declare(isAvg), {
    decode: SchemaGetter.transform(([sum, n]): Avg => ({ sum, n })),
    encode: SchemaGetter.transform((a: Avg) => [a.sum, a.n] as const)
  })
)

const TimedCodec = Schema.NullOr(
  Schema.Struct({ t: Schema.Number, v: Schema.Unknown }).pipe(
    Schema.decodeTo(Schema.declare(isTimed), {
      decode: SchemaGetter.transform((e): Timed => ({ t: e.t, v: fromJsonSafe(e.v) })),
      encode: SchemaGetter.transform((x: Timed) => ({ t: x.t, v: toJsonSafe(x.v) }))
    })
  )
)

const DistinctCodec = Schema.Array(Schema.String).pipe(
  Schema.decodeTo(Schema.declare(isSet), {
    decode: SchemaGetter.transform((a) => new Set(a)),
    encode: SchemaGetter.transform((s: Set<string>) => [...s])
  })
)

/**
 * A codec for a value that is JSON-safe except for `Date`, `bigint` and non-finite numbers
 * (see {@link toJsonSafe}).
 *
 * @category codecs
 * @since 0.1.0
 */
export const JsonSafe: Schema.Codec<unknown, unknown> = Schema.Unknown.pipe(
  Schema.decodeTo(Schema.Unknown, {
    decode: SchemaGetter.transform(fromJsonSafe),
    encode: SchemaGetter.transform(toJsonSafe)
  })
)

const NullableNumber = Schema.NullOr(Schema.Number)

/** A numeric field value, or `undefined` when missing or null; throws on anything else. */
const numeric = (op: string, record: unknown, field: string): number | undefined => {
  const v = fieldOf(record, field)
  if (typeof v === "number") return v
  if (v === undefined || v === null) return undefined
  if (typeof v === "bigint") return Number(v)
  throw new RecordError({ detail: `${op} needs a number, got ${describe(v)}`, field, record })
}

/**
 * The accumulator of a built-in operation (`field` is required by every op except `count`,
 * which counts records without it and non-null values with it).
 *
 * @category constructors
 * @since 0.1.0
 */
export const builtin = (op: Op, field: string | undefined): Accumulator => {
  const f = field ?? ""
  switch (op) {
    case "count":
      return {
        init: () => 0,
        add: field === undefined
          ? (slot) => (slot as number) + 1
          : (slot, record) => {
            const v = fieldOf(record, f)
            return v === undefined || v === null ? slot : (slot as number) + 1
          },
        result: (slot) => slot,
        codec: Schema.Number
      }
    case "sum":
      return {
        init: () => 0,
        add: (slot, record) => {
          const v = numeric("sum", record, f)
          return v === undefined ? slot : (slot as number) + v
        },
        result: (slot) => slot,
        codec: Schema.Number,
        check: (record) => void numeric("sum", record, f)
      }
    case "min":
    case "max": {
      const isMin = op === "min"
      return {
        init: () => null,
        add: (slot, record) => {
          const v = numeric(op, record, f)
          if (v === undefined) return slot
          const cur = slot as number | null
          return cur === null || (isMin ? v < cur : v > cur) ? v : cur
        },
        result: (slot) => slot,
        codec: NullableNumber,
        check: (record) => void numeric(op, record, f)
      }
    }
    case "avg":
      return {
        init: (): Avg => ({ sum: 0, n: 0 }),
        add: (slot, record) => {
          const v = numeric("avg", record, f)
          if (v !== undefined) {
            const a = slot as Avg
            a.sum += v
            a.n += 1
          }
          return slot
        },
        result: (slot) => {
          const a = slot as Avg
          return a.n === 0 ? null : a.sum / a.n
        },
        codec: AvgCodec,
        check: (record) => void numeric("avg", record, f)
      }
    case "first":
    case "last": {
      const isFirst = op === "first"
      return {
        init: () => null,
        add: (slot, record, t) => {
          const v = fieldOf(record, f)
          if (v === undefined || v === null) return slot
          const cur = slot as Timed | null
          if (cur === null) return { t, v }
          // first: the smallest event time (earliest arrival on ties); last: the largest (latest arrival)
          if (isFirst ? t < cur.t : t >= cur.t) {
            cur.t = t
            cur.v = v
          }
          return cur
        },
        result: (slot) => (slot === null ? null : (slot as Timed).v),
        codec: TimedCodec
      }
    }
    case "count_distinct":
      return {
        init: () => new Set<string>(),
        add: (slot, record) => {
          const v = fieldOf(record, f)
          if (v !== undefined && v !== null) (slot as Set<string>).add(keyPart(v))
          return slot
        },
        result: (slot) => (slot as Set<string>).size,
        codec: DistinctCodec,
        check: (record) => {
          const v = fieldOf(record, f)
          if (v !== undefined && v !== null) keyPart(v)
        }
      }
  }
}

/**
 * The accumulator of a user reducer.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromReducer = (reducer: Reducer): Accumulator => ({
  init: reducer.init,
  add: (slot, record) => reducer.add(slot, record),
  result: reducer.result,
  codec: reducer.schema ?? JsonSafe,
  staged: true
})

/**
 * True for a value that looks like a {@link Reducer}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isReducer = (u: unknown): u is Reducer => {
  if (typeof u !== "object" || u === null) return false
  const r = u as { readonly [k: string]: unknown }
  return typeof r.init === "function" && typeof r.add === "function" && typeof r.result === "function" &&
    (r.schema === undefined || Schema.isSchema(r.schema))
}
