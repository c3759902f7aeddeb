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

/** {@link check}: the field is not a value of its column's type (`build` refuses it). */
export const REFUSED = -1
/** {@link check}: the field is valid; its JSON is written from its value (`valueJson(convert(...))`). */
export const CONVERTED = 0
/** {@link check}: the field is valid and its JSON is its text, or a fixed edit of it (see {@link checkedJson}). */
export const AS_TEXT = 1

/**
 * Checks the non-empty field `s` of a column of type code `kind` (not `string` or `json`) as
 * `build` checks it, and says at once how its JSON is written: {@link REFUSED},
 * {@link CONVERTED} or {@link AS_TEXT}. One pass over the text where it is in the common form
 * (the check and the form used to be two: every kept row's typed fields were read again).
 */
export const check = (kind: number, s: string): number => {
  switch (kind) {
    case INTEGER:
      if (canonicalInteger(s)) return AS_TEXT
      break
    case NUMBER:
      if (canonicalDecimal(s)) return AS_TEXT
      break
    case BOOLEAN:
      if (s === "true" || s === "false") return AS_TEXT
      break
    case TIMESTAMP: {
      const form = utcForm(s)
      if (form === UTC_FORM) return AS_TEXT
      if (form === NO_SUCH_FORM) return REFUSED
      break
    }
  }
  return convert(kind, s) === INVALID ? REFUSED : CONVERTED
}

/**
 * The JSON text of the field `s` of a column of type code `kind`, which {@link check} found valid
 * with `form` ({@link CONVERTED} or {@link AS_TEXT}; anything for an empty or `string` field):
 * what `recordJson` writes for the value `build` makes of it. `json` columns are not handled here
 * (their readers keep the record path).
 */
export const checkedJson = (kind: number, s: string, form: number): string => {
  if (s.length === 0) return kind === STRING ? "\"\"" : "null"
  if (kind === STRING) return valueJson(s)!
  if (form !== AS_TEXT) return valueJson(convert(kind, s))!
  if (kind !== TIMESTAMP) return s
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
    default: // 10
      return "\"" + s + "T00:00:00.000Z\""
  }
}

/**
 * The JSON text of a valid field `s` of a column of type code `kind` (as `recordJson` writes the
 * value `build` makes of it): {@link checkedJson} with the form {@link check} finds.
 */
export const fieldJson = (kind: number, s: string): string =>
  checkedJson(kind, s, s.length === 0 || kind === STRING ? CONVERTED : check(kind, s))
