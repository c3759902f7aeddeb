/**
 * A CSV field's JSON text, written from the field's text: what `recordJson` writes for the value
 * `build` makes of it (`columns.ts`), byte for byte, without making the value where the text is
 * already that JSON (an integer or a decimal in its shortest form, `true`/`false`, a timestamp
 * `YYYY-MM-DDTHH:MM:SS.sssZ`) or is a fixed edit of it (a timestamp without milliseconds or
 * zone). Anything else is converted and written by `valueJson`. A property test compares both
 * ways on generated fields.
 *
 * No Effect here: the CSV range threads load it.
 */
import { valueJson } from "../../kit/internal/recordJson.ts"
import { BOOLEAN, convert, INTEGER, INVALID, NO_SUCH_FORM, NUMBER, STRING, TIMESTAMP, UTC_FORM, utcForm } from "./columns.ts"

const isDigit = (c: number): boolean => c >= 48 && c <= 57

/** Digits beyond which a decimal text is not written as it is (15 digits round-trip through a double). */
const MAX_DIGITS = 15

/**
 * Whether `s` is a decimal that `String(Number(s))` writes back unchanged: `-?(0|[1-9]\d*)(\.\d*[1-9])?`
 * with at most 15 digits (so the double it names is the only one of those digits, and its
 * shortest text is `s`), not `-0`, and not below 10^-6 (written with an exponent).
 */
export const canonicalDecimal = (s: string): boolean => {
  const n = s.length
  let i = s.charCodeAt(0) === 45 ? 1 : 0
  const intStart = i
  if (i >= n || !isDigit(s.charCodeAt(i))) return false
  if (s.charCodeAt(i) === 48) i++
  else while (i < n && isDigit(s.charCodeAt(i))) i++
  const zeroInt = i - intStart === 1 && s.charCodeAt(intStart) === 48
  let digits = i - intStart
  if (i === n) return !(zeroInt && intStart === 1) && digits <= MAX_DIGITS
  if (s.charCodeAt(i) !== 46) return false
  i++
  const fracStart = i
  while (i < n && isDigit(s.charCodeAt(i))) i++
  if (i !== n || i === fracStart || s.charCodeAt(n - 1) === 48) return false
  digits += n - fracStart
  if (digits > MAX_DIGITS) return false
  if (zeroInt) {
    // below 10^-6 String writes an exponent: at most five zeros after the point
    let zeros = 0
    while (s.charCodeAt(fracStart + zeros) === 48) zeros++
    if (zeros > 5) return false
  }
  return true
}

/** Whether `s` is an integer that `String(Number(s))` writes back unchanged (and not `-0`). */
const canonicalInteger = (s: string): boolean => {
  const n = s.length
  const from = s.charCodeAt(0) === 45 ? 1 : 0
  if (n - from < 1 || n - from > MAX_DIGITS) return false
  const first = s.charCodeAt(from)
  if (first === 48) return n - from === 1 && from === 0
  for (let i = from; i < n; i++) if (!isDigit(s.charCodeAt(i))) return false
  return true
}

/**
 * The JSON text of a valid field `s` of a column of type code `kind` (as `recordJson` writes the
 * value `build` makes of it). The field is one {@link valid} accepted; `json` columns are not
 * handled here (their readers keep the record path).
 */
export const fieldJson = (kind: number, s: string): string => {
  if (s.length === 0) return kind === STRING ? "\"\"" : "null"
  switch (kind) {
    case STRING:
      return valueJson(s)!
    case INTEGER:
      if (canonicalInteger(s)) return s
      break
    case NUMBER:
      if (canonicalDecimal(s)) return s
      break
    case BOOLEAN:
      if (s === "true" || s === "false") return s
      break
    case TIMESTAMP: {
      if (utcForm(s) === UTC_FORM) {
        // the forms fastUtc reads (years 0100–9999), as toISOString writes them
        switch (s.length) {
          case 24:
            return "\"" + s + "\""
          case 23:
            return "\"" + s + "Z\""
          case 20:
            return "\"" + s.slice(0, 19) + ".000Z\""
          case 19:
            return "\"" + s + ".000Z\""
          case 10:
            return "\"" + s + "T00:00:00.000Z\""
        }
      }
      break
    }
  }
  return valueJson(convert(kind, s))!
}

/**
 * Whether the non-empty field `s` converts to a value of type code `kind` (what {@link build}
 * accepts), without making the value where that can be avoided (a timestamp of the common forms).
 */
export const valid = (kind: number, s: string): boolean => {
  if (kind === STRING) return true
  if (kind === TIMESTAMP) {
    const form = utcForm(s)
    if (form !== -1) return form !== NO_SUCH_FORM
  }
  return convert(kind, s) !== INVALID
}
