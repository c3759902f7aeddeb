/**
 * Event-time machinery shared by the stateful processors (`aggregate`, `dedupe`): reading an
 * event time from a record, assigning a time to tumbling or sliding windows, the per-instance
 * watermark clock, and key strings that cannot collide.
 *
 * Everything here is plain functions over plain values: no Effect, no allocation per record
 * beyond the key string.
 *
 * @since 0.1.0
 */
import { RecordError } from "../../Errors.ts"

/**
 * How records are grouped in time: fixed windows of `size` every `slide` ms (`tumbling` has
 * `slide === size`), or one global window that closes at end of input.
 *
 * @category models
 * @since 0.1.0
 */
export type WindowSpec =
  | { readonly _tag: "Global" }
  | { readonly _tag: "Fixed"; readonly size: number; readonly slide: number }

/** Non-negative remainder (JavaScript's `%` keeps the sign of the dividend). */
const mod = (a: number, b: number): number => {
  const r = a % b
  return r < 0 ? r + b : r
}

/**
 * Writes the starts of every window that contains `t`, in ascending order, into `out` (reused
 * between calls to avoid an allocation per record) and returns how many there are. Only
 * windows whose end is after `watermark` are written: the others have already fired.
 *
 * @category windows
 * @since 0.1.0
 */
export const openStarts = (size: number, slide: number, t: number, watermark: number, out: Array<number>): number => {
  const last = t - mod(t, slide)
  let first = last
  while (first - slide > t - size) first -= slide
  while (first <= last && first + size <= watermark) first += slide
  let n = 0
  for (let s = first; s <= last; s += slide) out[n++] = s
  return n
}

/**
 * Reads the event time of a record: a number (epoch ms), an ISO-8601 string or a `Date`.
 * Throws a {@link RecordError} naming the field and the record when it is missing or invalid.
 *
 * @category time
 * @since 0.1.0
 */
export const eventTime = (record: unknown, field: string): number => {
  const v = fieldOf(record, field)
  if (typeof v === "number") {
    if (Number.isFinite(v)) return v
  } else if (typeof v === "string") {
    const t = Date.parse(v)
    if (!Number.isNaN(t)) return t
  } else if (v instanceof Date) {
    const t = v.getTime()
    if (!Number.isNaN(t)) return t
  }
  throw new RecordError({
    detail: v === undefined || v === null
      ? "the event-time field is missing"
      : `expected an event time (epoch ms number, ISO-8601 string or Date), got ${describe(v)}`,
    field,
    record
  })
}

/**
 * The value of a top-level field of a record (`undefined` when the record is not an object or
 * has no such field).
 *
 * @category fields
 * @since 0.1.0
 */
export const fieldOf = (record: unknown, field: string): unknown =>
  typeof record === "object" && record !== null ? (record as { readonly [k: string]: unknown })[field] : undefined

/**
 * A short description of a value for error messages.
 *
 * @category fields
 * @since 0.1.0
 */
export const describe = (v: unknown): string => {
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`
  if (v instanceof Date) return "a Date"
  if (Array.isArray(v)) return "an array"
  if (typeof v === "bigint") return `the bigint ${v}`
  return v === null ? "null" : typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`
}

/**
 * One value as a key part: the type is part of the string (`1` and `"1"` differ), so parts of
 * different types never collide. Missing and `null` are the same part.
 *
 * @category keys
 * @since 0.1.0
 */
export const keyPart = (v: unknown): string => {
  switch (typeof v) {
    case "string":
      return "s" + v
    case "number":
      return "n" + v
    case "boolean":
      return v ? "T" : "F"
    case "bigint":
      return "i" + v
    case "undefined":
      return "z"
    default:
      if (v === null) return "z"
      if (v instanceof Date) return "d" + v.getTime()
      return "j" + JSON.stringify(toJsonSafe(v))
  }
}

/**
 * The key string of the values of `fields` in a record. One field: its {@link keyPart}; several:
 * the parts each prefixed by their length, so no two different tuples share a key string.
 *
 * @category keys
 * @since 0.1.0
 */
export const keyOf = (record: unknown, fields: ReadonlyArray<string>): string => {
  if (fields.length === 1) return keyPart(fieldOf(record, fields[0]))
  let key = ""
  for (let i = 0; i < fields.length; i++) {
    const part = keyPart(fieldOf(record, fields[i]))
    key += part.length + ":" + part
  }
  return key
}

/**
 * The key string of a tuple of values (same encoding as {@link keyOf}).
 *
 * @category keys
 * @since 0.1.0
 */
export const keyOfValues = (values: ReadonlyArray<unknown>): string => {
  if (values.length === 1) return keyPart(values[0])
  let key = ""
  for (const v of values) {
    const part = keyPart(v)
    key += part.length + ":" + part
  }
  return key
}

/**
 * Orders key strings (plain code-unit order, the same in every locale and process).
 *
 * @category keys
 * @since 0.1.0
 */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Turns a value into a JSON-safe one for a checkpoint: `Date` → `{ $date: iso }`, `bigint` →
 * `{ $bigint: "…" }`, `undefined` → `null`, recursively through arrays and plain objects.
 *
 * @category codecs
 * @since 0.1.0
 */
export const toJsonSafe = (v: unknown): unknown => {
  if (v === undefined) return null
  if (v === null || typeof v === "string" || typeof v === "boolean") return v
  if (typeof v === "number") return Number.isFinite(v) ? v : { $number: String(v) }
  if (typeof v === "bigint") return { $bigint: v.toString() }
  if (v instanceof Date) return { $date: v.toISOString() }
  if (Array.isArray(v)) return v.map(toJsonSafe)
  if (typeof v === "object") {
    const out: { [k: string]: unknown } = {}
    for (const k of Object.keys(v)) out[k] = toJsonSafe((v as { readonly [k: string]: unknown })[k])
    return out
  }
  return null
}

/**
 * The inverse of {@link toJsonSafe}.
 *
 * @category codecs
 * @since 0.1.0
 */
export const fromJsonSafe = (v: unknown): unknown => {
  if (v === null || typeof v !== "object") return v
  if (Array.isArray(v)) return v.map(fromJsonSafe)
  const o = v as { readonly [k: string]: unknown }
  const keys = Object.keys(o)
  if (keys.length === 1) {
    if (typeof o.$date === "string") return new Date(o.$date)
    if (typeof o.$bigint === "string") return BigInt(o.$bigint)
    if (typeof o.$number === "string") return Number(o.$number)
  }
  const out: { [k: string]: unknown } = {}
  for (const k of keys) out[k] = fromJsonSafe(o[k])
  return out
}

/**
 * Inserts `value` into an ascending array of distinct numbers (no-op when present).
 *
 * @category utils
 * @since 0.1.0
 */
export const insertSorted = (sorted: Array<number>, value: number): void => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < value) lo = mid + 1
    else hi = mid
  }
  if (sorted[lo] !== value) sorted.splice(lo, 0, value)
}

/**
 * Milliseconds as an ISO-8601 string (`window_format: iso`) or unchanged (`epoch_ms`).
 *
 * @category time
 * @since 0.1.0
 */
export const formatTime = (format: "iso" | "epoch_ms", ms: number): string | number =>
  format === "iso" ? new Date(ms).toISOString() : ms
