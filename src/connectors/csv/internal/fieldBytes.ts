/**
 * Typed field checks on the bytes of an ASCII text (one byte per character, the same offsets):
 * the common forms of `fieldJson.ts`'s {@link check} read from a `Buffer` instead of a string —
 * a byte is read several times faster than a character of a sliced string, and no string is made
 * for the field. Only the forms whose JSON is the text itself are decided here; for anything else
 * {@link checkAt} answers {@link UNSURE} and the caller checks the field's text. A property test
 * compares both on generated fields.
 *
 * No Effect here: the CSV range threads load it.
 */
import { BOOLEAN, dayExists, dig, INTEGER, NUMBER, POW10, TIMESTAMP } from "./columns.ts"
import { AS_TEXT, REFUSED } from "./fieldJson.ts"

/** {@link checkAt}: not one of the forms read here; check the field's text (`check`). */
export const UNSURE = 2

/** Digits beyond which a decimal text is not written as it is (as `fieldJson.ts`). */
const MAX_DIGITS = 15

/** `canonicalInteger` of `fieldJson.ts` on `b[from, to)`. */
const integerAt = (b: Uint8Array, from: number, to: number): boolean => {
  const negative = b[from] === 45
  const first = negative ? from + 1 : from
  const digits = to - first
  if (digits < 1 || digits > MAX_DIGITS) return false
  if (b[first] === 48) return digits === 1 && !negative
  for (let i = first; i < to; i++) if (dig(b[i]) < 0) return false
  return true
}

/** `canonicalDecimal` of `fieldJson.ts` on `b[from, to)`. */
const decimalAt = (b: Uint8Array, from: number, to: number): boolean => {
  let i = b[from] === 45 ? from + 1 : from
  const intStart = i
  if (i >= to || dig(b[i]) < 0) return false
  if (b[i] === 48) i++
  else while (i < to && dig(b[i]) >= 0) i++
  const zeroInt = i - intStart === 1 && b[intStart] === 48
  let digits = i - intStart
  if (i === to) return !(zeroInt && intStart > from) && digits <= MAX_DIGITS
  if (b[i] !== 46) return false
  i++
  const fracStart = i
  while (i < to && dig(b[i]) >= 0) i++
  if (i !== to || i === fracStart || b[to - 1] === 48) return false
  digits += to - fracStart
  if (digits > MAX_DIGITS) return false
  if (zeroInt) {
    // below 10^-6 String writes an exponent: at most five zeros after the point
    let zeros = 0
    while (b[fracStart + zeros] === 48) zeros++
    if (zeros > 5) return false
  }
  return true
}

/** `utcForm` of `columns.ts` on `b[from, to)`, as {@link checkAt} answers: AS_TEXT, REFUSED or UNSURE. */
const timestampAt = (b: Uint8Array, from: number, to: number): number => {
  const n = to - from
  const end = (n === 20 || n === 24) && b[to - 1] === 90 ? n - 1 : n
  if (end !== 10 && end !== 19 && end !== 23) return UNSURE
  if (b[from + 4] !== 45 || b[from + 7] !== 45) return UNSURE
  const year = dig(b[from]) * 1000 + dig(b[from + 1]) * 100 + dig(b[from + 2]) * 10 + dig(b[from + 3])
  const month = dig(b[from + 5]) * 10 + dig(b[from + 6])
  const day = dig(b[from + 8]) * 10 + dig(b[from + 9])
  if (year < 100 || month < 0 || day < 0) return UNSURE
  if (end > 10) {
    if (b[from + 10] !== 84 || b[from + 13] !== 58 || b[from + 16] !== 58) return UNSURE
    const hour = dig(b[from + 11]) * 10 + dig(b[from + 12])
    const minute = dig(b[from + 14]) * 10 + dig(b[from + 15])
    const second = dig(b[from + 17]) * 10 + dig(b[from + 18])
    const ms = end === 23 ? (b[from + 19] === 46 ? dig(b[from + 20]) * 100 + dig(b[from + 21]) * 10 + dig(b[from + 22]) : -1) : 0
    if (hour < 0 || minute < 0 || second < 0 || ms < 0) return UNSURE
    if (hour > 23 || minute > 59 || second > 59) return REFUSED
  }
  return dayExists(year, month, day) ? AS_TEXT : REFUSED
}

/**
 * `check(kind, text)` for the non-empty field `b[from, to)` of an ASCII text, where it can be
 * told from the bytes ({@link AS_TEXT}, or {@link REFUSED} for a timestamp of the common form
 * naming no such date or time); {@link UNSURE} otherwise.
 */
export const checkAt = (kind: number, b: Uint8Array, from: number, to: number): number => {
  switch (kind) {
    case INTEGER:
      return integerAt(b, from, to) ? AS_TEXT : UNSURE
    case NUMBER:
      return decimalAt(b, from, to) ? AS_TEXT : UNSURE
    case BOOLEAN: {
      const n = to - from
      if (n === 4) return b[from] === 116 && b[from + 1] === 114 && b[from + 2] === 117 && b[from + 3] === 101 ? AS_TEXT : UNSURE
      return n === 5 && b[from] === 102 && b[from + 1] === 97 && b[from + 2] === 108 && b[from + 3] === 115 && b[from + 4] === 101 ? AS_TEXT : UNSURE
    }
    case TIMESTAMP:
      return timestampAt(b, from, to)
    default:
      return UNSURE
  }
}

/** Whether the ASCII string field `b[from, to)` is its own JSON between quotes (no `"`, `\` or control character). */
export const plainAt = (b: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) {
    const c = b[i]
    if (c < 32 || c === 34 || c === 92) return false
  }
  return true
}

/**
 * Whether the field `b[from, to)` of a quoted CSV field holding `""` (each one `"` of the value)
 * is written in JSON as its bytes with each `""` as `\"`: no control character, no backslash.
 */
export const quotesOnlyAt = (b: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) {
    const c = b[i]
    if (c < 32 || c === 92) return false
  }
  return true
}

/**
 * The value `convert` makes of the field `b[from, to)` of an `integer`, `number` or `boolean`
 * column that {@link checkAt} found {@link AS_TEXT} (an integer or decimal of at most 15 digits in
 * shortest form, `true`, `false`): read from the bytes, as `integer`/`number` read the text (a
 * decimal is its digits over a power of ten, both exact doubles, so the one division is correctly
 * rounded). `undefined` for another column type.
 */
export const valueAt = (kind: number, b: Uint8Array, from: number, to: number): number | boolean | undefined => {
  if (kind === BOOLEAN) return b[from] === 116
  if (kind !== INTEGER && kind !== NUMBER) return undefined
  const negative = b[from] === 45
  let mantissa = 0
  let fraction = -1
  for (let i = negative ? from + 1 : from; i < to; i++) {
    const c = b[i]
    if (c === 46) fraction = 0
    else {
      mantissa = mantissa * 10 + (c - 48)
      if (fraction >= 0) fraction++
    }
  }
  const v = fraction > 0 ? mantissa / POW10[fraction] : mantissa
  return negative ? -v : v
}
