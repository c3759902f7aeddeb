/**
 * Typed decoding of CSV fields: a precomputed layout (names, type codes, required flags) and a
 * record builder that is one plain loop over the fields — no regex, no closure, no Effect per
 * field.
 *
 * @since 0.1.0
 */
import { JsonRefusal, MAX_DEPTH, parseJson } from "../../../internal/json.ts"
import type { ColumnType } from "../CsvConfig.ts"

/** Type code of a `string` column. */
export const STRING = 0
/** Type code of an `integer` column. */
export const INTEGER = 1
/** Type code of a `number` column. */
export const NUMBER = 2
/** Type code of a `boolean` column. */
export const BOOLEAN = 3
/** Type code of a `timestamp` column. */
export const TIMESTAMP = 4
/** Type code of a `json` column. */
export const JSON_VALUE = 5

const codes: { readonly [K in ColumnType]: number } = {
  string: STRING,
  integer: INTEGER,
  number: NUMBER,
  boolean: BOOLEAN,
  timestamp: TIMESTAMP,
  json: JSON_VALUE
}

const expected = ["a string", "an integer", "a number", "a boolean (true or false)", "an ISO-8601 timestamp", "JSON"]

/** The columns of a file, in field order, with their decoders (plain data: it is sent to worker threads). */
export interface Layout {
  names: Array<string>
  kinds: Array<number>
  required: Array<boolean>
  /** The field count every record must have; -1: any (no header and no `columns`). */
  readonly fixed: number
}

/** Makes a record from its decoded values, in column order. */
export type Factory = (values: ReadonlyArray<unknown>) => { [name: string]: unknown }

/**
 * A record factory per layout: one object literal with the column names as keys, so every record
 * of a file is created in one step with one hidden class (V8 fast properties), instead of one
 * keyed store per field (measured 5× faster to create here). The names are embedded as JSON
 * string literals — data, never code. Without a fixed field count (or with a `__proto__` column,
 * which a literal would take as the prototype), records are built field by field.
 */
const factories = new WeakMap<Layout, { readonly make: Factory | undefined; readonly values: Array<unknown> }>()

/** The factory of records with these keys (none may be `__proto__`), values in this order. */
export const recordFactory = (names: ReadonlyArray<string>): Factory =>
  new Function("v", `return {${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(", ")}}`) as Factory

const factoryOf = (layout: Layout) => {
  let entry = factories.get(layout)
  if (entry === undefined) {
    const { names, fixed } = layout
    const literal = fixed >= 0 && !names.includes("__proto__")
    entry = { make: literal ? recordFactory(names) : undefined, values: new Array(names.length) }
    factories.set(layout, entry)
  }
  return entry
}

/** Why the last {@link build} failed. */
export interface BuildError {
  detail: string
  /** 1-based field index. */
  column: number
  field: string | undefined
}

/** Builds the layout from the header (or `columns` / `c1..cN` without one). */
export const makeLayout = (
  names: ReadonlyArray<string> | undefined,
  columns: { readonly [name: string]: ColumnType } | undefined,
  required: ReadonlyArray<string> | undefined
): Layout => {
  const list = names ?? (columns !== undefined ? Object.keys(columns) : [])
  const req = new Set(required ?? [])
  return {
    names: [...list],
    kinds: list.map((n) => (columns !== undefined && Object.hasOwn(columns, n) ? codes[columns[n]] : STRING)),
    required: list.map((n) => req.has(n)),
    fixed: names !== undefined || columns !== undefined ? list.length : -1
  }
}

/** What {@link convert} returns for a text that is not a value of its column's type. */
export const INVALID: unique symbol = Symbol("invalid")

/**
 * Why the last conversion returned {@link INVALID}, when there is more to say than "expected a
 * number" (a number out of range, a date that does not exist): read once by `build`, then cleared.
 */
let reason = ""

/**
 * Builds one record from `n` fields, or returns `undefined` and fills `error`.
 */
export const build = (
  layout: Layout,
  fields: ReadonlyArray<string>,
  n: number,
  error: BuildError
): { [name: string]: unknown } | undefined => {
  const { names, kinds, required, fixed } = layout
  if (fixed >= 0 && n !== fixed) {
    error.detail = `expected ${fixed} field${fixed === 1 ? "" : "s"}, found ${n}`
    error.column = n > fixed ? fixed + 1 : n + 1
    error.field = n > fixed ? undefined : names[n]
    return undefined
  }
  if (fixed < 0) {
    for (let i = names.length; i < n; i++) {
      names.push(`c${i + 1}`)
      kinds.push(STRING)
      required.push(false)
    }
  }
  const { make, values } = factoryOf(layout)
  for (let i = 0; i < n; i++) {
    const text = fields[i]
    const kind = kinds[i]
    if (text.length === 0) {
      if (required[i]) {
        error.detail = "empty value in a required column"
        error.column = i + 1
        error.field = names[i]
        return undefined
      }
      values[i] = kind === STRING ? "" : null
      continue
    }
    if (kind === STRING) {
      values[i] = text
      continue
    }
    const value = convert(kind, text)
    if (value === INVALID) {
      const got = JSON.stringify(text.length > 60 ? text.slice(0, 60) + "…" : text)
      error.detail = reason.length > 0 ? `${reason}: ${got}` : `expected ${expected[kind]}, got ${got}`
      reason = ""
      error.column = i + 1
      error.field = names[i]
      return undefined
    }
    values[i] = value
  }
  if (make !== undefined) return make(values)
  const record: { [name: string]: unknown } = {}
  for (let i = 0; i < n; i++) {
    const name = names[i]
    if (name === "__proto__") Object.defineProperty(record, name, { value: values[i], enumerable: true, writable: true, configurable: true })
    else record[name] = values[i]
  }
  return record
}

/**
 * The value of the non-empty text `s` of a column of type code `kind` (not {@link STRING}), or
 * {@link INVALID} (then {@link build} says why).
 */
export const convert = (kind: number, s: string): unknown => {
  switch (kind) {
    case INTEGER:
      return integer(s)
    case NUMBER:
      return number(s)
    case BOOLEAN:
      return boolean(s)
    case TIMESTAMP:
      return timestamp(s)
    default:
      return json(s)
  }
}

/** An `integer` column's value (see {@link convert}). */
export const integer = (s: string): number | typeof INVALID => {
  const n = s.length
  let i = 0
  let negative = false
  const first = s.charCodeAt(0)
  if (first === 45 || first === 43) {
    negative = first === 45
    i = 1
    if (n === 1) return INVALID
  }
  if (n - i > 15) {
    for (let k = i; k < n; k++) {
      const c = s.charCodeAt(k)
      if (c < 48 || c > 57) return INVALID
    }
    const v = Number(s)
    if (Number.isSafeInteger(v)) return v
    reason = `an integer beyond ±(2^53 − 1) would be read as ${v} (read the column as string to keep it)`
    return INVALID
  }
  let v = 0
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return INVALID
    v = v * 10 + (c - 48)
  }
  return negative ? -v : v
}

/** Exact powers of ten (up to 10^22 every one is a double exactly). */
export const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

/**
 * A decimal `[+-]digits[.digits]` with at most 15 digits is `mantissa / 10^fraction` with both
 * exact doubles, so the one division is correctly rounded: the same value as `Number(s)`, without
 * the generic parser (Clinger's fast path). Anything else goes through `Number`.
 */
/** A `number` column's value (see {@link convert}). */
export const number = (s: string): number | typeof INVALID => {
  const n = s.length
  let i = 0
  let negative = false
  const first = s.charCodeAt(0)
  if (first === 45 || first === 43) {
    negative = first === 45
    i = 1
  }
  let mantissa = 0
  let digits = 0
  let fraction = -1
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48)
      digits++
      if (fraction >= 0) fraction++
    } else if (c === 46 && fraction < 0) fraction = 0
    else return numberSlow(s)
  }
  if (digits === 0 || digits > 15) return numberSlow(s)
  const v = fraction > 0 ? mantissa / POW10[fraction] : mantissa
  return negative ? -v : v
}

const numberSlow = (s: string): number | typeof INVALID => {
  let digits = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) digits = true
    else if (c !== 46 && c !== 43 && c !== 45 && c !== 101 && c !== 69) return INVALID
  }
  if (!digits) return INVALID
  const v = Number(s)
  if (Number.isNaN(v)) return INVALID
  if (!Number.isFinite(v)) {
    reason = "the number is beyond the range of a double (about ±1.8e308)"
    return INVALID
  }
  if (v === 0 && /[1-9]/.test(s.split(/[eE]/)[0])) {
    reason = "the number is too small for a double (it would read as 0)"
    return INVALID
  }
  if (!Number.isSafeInteger(v) && Number.isInteger(v) && changedInteger(s, v)) {
    reason = `an integer beyond ±(2^53 − 1) would be read as ${v} (read the column as string to keep it)`
    return INVALID
  }
  return v
}

/**
 * Whether `s`, written as an integer (digits after an optional sign: no point, no exponent) beyond
 * ±(2^53 − 1), names another integer than the double `v` it reads as writes: `9007199254740993`
 * reads as 9007199254740992 (refused, as the `integer` column and the ndjson source refuse it),
 * while `100000000000000000000` or `49216459571713050` are the texts of the doubles they read as,
 * and read. A decimal fraction or an exponent is a double's approximation by its nature, and reads
 * as the nearest double.
 */
const changedInteger = (s: string, v: number): boolean => {
  const sign = s.charCodeAt(0) === 45 || s.charCodeAt(0) === 43 ? 1 : 0
  let first = sign
  for (let i = sign; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
    if (c === 48 && first === i && i < s.length - 1) first++
  }
  return (s.charCodeAt(0) === 45 ? "-" : "") + s.slice(first) !== String(v)
}

/**
 * Whether the time of a timestamp text has a fraction of a second finer than milliseconds with a
 * digit other than 0 past the third (`10:20:30.123456`): a `Date` holds milliseconds, and reading
 * it would cut the rest without a word.
 */
const finerThanMilliseconds = (s: string): boolean => {
  const dot = s.indexOf(".", 11)
  if (dot === -1) return false
  let i = dot + 1
  while (i < s.length && isDigit(s.charCodeAt(i))) {
    if (i - dot > 3 && s.charCodeAt(i) !== 48) return true
    i++
  }
  return false
}

/** A `boolean` column's value (see {@link convert}). */
export const boolean = (s: string): boolean | typeof INVALID => {
  if (s === "true") return true
  if (s === "false") return false
  const lower = s.toLowerCase()
  return lower === "true" ? true : lower === "false" ? false : INVALID
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57

const twoDigits = (s: string, at: number): number => {
  const a = s.charCodeAt(at)
  const b = s.charCodeAt(at + 1)
  return isDigit(a) && isDigit(b) ? (a - 48) * 10 + (b - 48) : -1
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * Whether the date (and the time, when there is one) written in `s` exists: `Date` rolls
 * `2024-02-30` over to March 1 and `25:00` to the next day without a word.
 */
const exists = (s: string): boolean => {
  const year = Number(s.slice(0, 4))
  const month = twoDigits(s, 5)
  const day = twoDigits(s, 8)
  if (month < 1 || month > 12 || day < 1) return false
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  if (day > (month === 2 && leap ? 29 : DAYS[month - 1])) return false
  if (s.length <= 10) return true
  const hour = twoDigits(s, 11)
  const minute = s.charCodeAt(13) === 58 ? twoDigits(s, 14) : 0
  const second = s.charCodeAt(16) === 58 ? twoDigits(s, 17) : 0
  // (a time that is not digits is left to `Date`, which refuses it)
  return hour <= 23 && minute <= 59 && second <= 59
}

/** The digits `s[at..at+n)` as a number, or -1 when one is not a digit. */
const digitsAt = (s: string, at: number, n: number): number => {
  let v = 0
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return -1
    v = v * 10 + (c - 48)
  }
  return v
}

/** {@link fastUtc}: the text has the form but names no such date or time. */
export const NO_SUCH = Number.POSITIVE_INFINITY

/**
 * The time value of the common forms `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS`, and the same with `.sss`
 * and/or `Z` (UTC, years 0100–9999), in one pass over the digits with integer arithmetic (days
 * from civil, H. Hinnant): what `new Date(text)` gives, without its string parser, `Date.UTC`
 * or a slice (a quarter of a typed row's time in a profile went to reading its timestamp).
 * {@link NO_SUCH} when the form names no such date or time (as {@link exists} says); `NaN` for
 * any other form (the general path reads it).
 */
export const fastUtc = (s: string): number => {
  const n = s.length
  // (a `Z` follows a time only)
  const end = (n === 20 || n === 24) && s.charCodeAt(n - 1) === 90 ? n - 1 : n
  if (end !== 10 && end !== 19 && end !== 23) return Number.NaN
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NaN
  const year = digitsAt(s, 0, 4)
  const month = digitsAt(s, 5, 2)
  const day = digitsAt(s, 8, 2)
  if (year < 100 || month < 0 || day < 0) return Number.NaN
  let time = 0
  if (end > 10) {
    if (s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return Number.NaN
    const hour = digitsAt(s, 11, 2)
    const minute = digitsAt(s, 14, 2)
    const second = digitsAt(s, 17, 2)
    const ms = end === 23 ? (s.charCodeAt(19) === 46 ? digitsAt(s, 20, 3) : -1) : 0
    if (hour < 0 || minute < 0 || second < 0 || ms < 0) return Number.NaN
    if (hour > 23 || minute > 59 || second > 59) return NO_SUCH
    time = hour * 3600000 + minute * 60000 + second * 1000 + ms
  }
  if (month < 1 || month > 12 || day < 1) return NO_SUCH
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  if (day > (month === 2 && leap ? 29 : DAYS[month - 1])) return NO_SUCH
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return (era * 146097 + doe - 719468) * 86400000 + time
}

/** A digit's value; a large negative one for any other character (a sum of digits with it stays negative). */
export const dig = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : -10000)

/** {@link utcForm}: one of the forms {@link fastUtc} reads, naming a date and time that exist. */
export const UTC_FORM = 1
/** {@link utcForm}: one of the forms {@link fastUtc} reads, naming no such date or time. */
export const NO_SUCH_FORM = 0
/** {@link utcForm}: another form. */
export const OTHER_FORM = -1

/**
 * What {@link fastUtc} would say of `s` — a time value ({@link UTC_FORM}), {@link NO_SUCH}
 * ({@link NO_SUCH_FORM}) or `NaN` ({@link OTHER_FORM}) — without computing the time value, with
 * one expression per digit group: what checking a timestamp column that is not converted costs.
 */
export const utcForm = (s: string): number => {
  const n = s.length
  const end = (n === 20 || n === 24) && s.charCodeAt(n - 1) === 90 ? n - 1 : n
  if (end !== 10 && end !== 19 && end !== 23) return OTHER_FORM
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return OTHER_FORM
  const year = dig(s.charCodeAt(0)) * 1000 + dig(s.charCodeAt(1)) * 100 + dig(s.charCodeAt(2)) * 10 + dig(s.charCodeAt(3))
  const month = dig(s.charCodeAt(5)) * 10 + dig(s.charCodeAt(6))
  const day = dig(s.charCodeAt(8)) * 10 + dig(s.charCodeAt(9))
  if (year < 100 || month < 0 || day < 0) return OTHER_FORM
  if (end > 10) {
    if (s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return OTHER_FORM
    const hour = dig(s.charCodeAt(11)) * 10 + dig(s.charCodeAt(12))
    const minute = dig(s.charCodeAt(14)) * 10 + dig(s.charCodeAt(15))
    const second = dig(s.charCodeAt(17)) * 10 + dig(s.charCodeAt(18))
    const ms = end === 23 ? (s.charCodeAt(19) === 46 ? dig(s.charCodeAt(20)) * 100 + dig(s.charCodeAt(21)) * 10 + dig(s.charCodeAt(22)) : -1) : 0
    if (hour < 0 || minute < 0 || second < 0 || ms < 0) return OTHER_FORM
    if (hour > 23 || minute > 59 || second > 59) return NO_SUCH_FORM
  }
  return dayExists(year, month, day) ? UTC_FORM : NO_SUCH_FORM
}

/** Whether `day` of `month` (both from 1; any value) of `year` is a day of the calendar. */
export const dayExists = (year: number, month: number, day: number): boolean => {
  if (month < 1 || month > 12 || day < 1) return false
  if (day <= 28) return true
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  return day <= (month === 2 && leap ? 29 : DAYS[month - 1])
}

/** A `timestamp` column's value (see {@link convert}). */
export const timestamp = (s: string): Date | typeof INVALID => {
  const fast = fastUtc(s)
  if (fast === NO_SUCH) {
    reason = "no such date or time"
    return INVALID
  }
  if (!Number.isNaN(fast)) return new Date(fast)
  // YYYY-MM-DD, then optionally a time; no offset means UTC.
  if (
    s.length < 10 || !isDigit(s.charCodeAt(0)) || !isDigit(s.charCodeAt(1)) || !isDigit(s.charCodeAt(2)) ||
    !isDigit(s.charCodeAt(3)) || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45
  ) return INVALID
  if (!exists(s)) {
    reason = "no such date or time"
    return INVALID
  }
  let text = s
  if (s.length > 10) {
    const sep = s.charCodeAt(10)
    if (sep !== 84 && sep !== 116 && sep !== 32) return INVALID
    if (finerThanMilliseconds(s)) {
      reason = "a fraction of a second finer than milliseconds would be cut (a timestamp column holds milliseconds; read the column as string to keep it)"
      return INVALID
    }
    const last = s.charCodeAt(s.length - 1)
    const hasOffset = last === 90 || last === 122 || s.indexOf("+", 11) !== -1 || s.indexOf("-", 11) !== -1
    if (!hasOffset) text = s + "Z"
  }
  const d = new Date(text)
  return Number.isNaN(d.getTime()) ? INVALID : d
}

const JSON_OPTIONS = { maxDepth: MAX_DEPTH, bigIntegers: "error" } as const

const json = (s: string): unknown => {
  const value = parseJson(s, JSON_OPTIONS)
  if (!(value instanceof JsonRefusal)) return value
  const why = value.reason
  if (why instanceof SyntaxError) return INVALID
  reason = `${why.field !== undefined ? `at ${why.field}: ` : ""}${why.detail}`
  return INVALID
}
