/**
 * The JSON text of a record, exactly as `toJsonText` (`internal/jsonText.ts`) writes it, faster for
 * the records sources make: a plain object whose values are strings, numbers, booleans, `null`
 * and `Date`s. `JSON.stringify` calls `Date.prototype.toJSON` for every date (a slow call into
 * `toISOString`, half of the time of a typed CSV row in a profile) and scans every string; here a
 * date's ISO text is computed from its time value, a string without a character JSON escapes is
 * written as it is, and a key's quoted text is kept. Any other value (an array, a nested object,
 * a `bigint`, a non-finite number, bytes, an object with its own `toJSON`) is written by
 * `toJsonText`, so the output is the same byte for byte (tests compare the two).
 *
 * No Effect here: the CSV range threads load it.
 */
import { toJsonText } from "../../../internal/jsonText.ts"

/** Characters `JSON.stringify` writes escaped: `"`, `\`, controls, and surrogates (lone ones are escaped; pairs go the slow way). */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/

const P2 = Array.from({ length: 100 }, (_, i) => (i < 10 ? "0" : "") + i)
const P3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"))

/** The first time value of year 10000: from there (and before year 0) `toISOString` writes 6-digit years. */
const YEAR_10000 = 253402300800000
const YEAR_0 = -62167219200000

/** `new Date(ms).toISOString()` for a time value of years 0000–9999 (days from civil, H. Hinnant). */
const isoOf = (ms: number): string => {
  const days = Math.floor(ms / 86400000)
  let rem = ms - days * 86400000
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
  const h = Math.floor(rem / 3600000)
  rem -= h * 3600000
  const mi = Math.floor(rem / 60000)
  rem -= mi * 60000
  const s = Math.floor(rem / 1000)
  rem -= s * 1000
  const year = y >= 1000 ? String(y) : String(y).padStart(4, "0")
  return year + "-" + P2[m] + "-" + P2[d] + "T" + P2[h] + ":" + P2[mi] + ":" + P2[s] + "." + P3[rem] + "Z"
}

/** A value's JSON text as {@link recordJson} writes it, or `undefined` to leave the key out (as `JSON.stringify` does). */
export const valueJson = (v: unknown): string | undefined => {
  switch (typeof v) {
    case "string":
      return ESCAPED.test(v) ? JSON.stringify(v) : "\"" + v + "\""
    case "number":
      // -0 and non-finite numbers: toJsonText's own forms
      return v - v === 0 && (v !== 0 || 1 / v > 0) ? String(v) : toJsonText(v)
    case "boolean":
      return v ? "true" : "false"
    case "undefined":
    case "function":
    case "symbol":
      return undefined
    case "object":
      if (v === null) return "null"
      if (Object.getPrototypeOf(v) === Date.prototype && !Object.hasOwn(v, "toJSON")) {
        const ms = (v as Date).getTime()
        // an invalid date is `null` (its toJSON); years outside 0000–9999 as toISOString writes them
        return Number.isNaN(ms) ? "null" : ms >= YEAR_0 && ms < YEAR_10000 ? "\"" + isoOf(ms) + "\"" : "\"" + (v as Date).toISOString() + "\""
      }
      return toJsonText(v)
    default:
      return toJsonText(v)
  }
}

const keyTexts = new Map<string, string>()
/** The keys of the last record, in order, and their texts: the next record most often has the same. */
const lastKeys: Array<string> = []
const lastTexts: Array<string> = []

/** `"key":` of the `i`th key of a record (kept for the keys seen, up to a bound). */
const keyText = (k: string, i: number): string => {
  if (lastKeys[i] === k) return lastTexts[i]
  let text = keyTexts.get(k)
  if (text === undefined) {
    text = JSON.stringify(k) + ":"
    if (keyTexts.size < 10_000) keyTexts.set(k, text)
  }
  if (i < 256) {
    lastKeys[i] = k
    lastTexts[i] = text
  }
  return text
}

/**
 * `toJsonText(record)`: the same text, faster for a plain object of scalars and dates. Throws where
 * `toJsonText` does (a cycle in a nested value).
 */
export const recordJson = (record: unknown): string => {
  if (typeof record !== "object" || record === null) return toJsonText(record)
  const proto: unknown = Object.getPrototypeOf(record)
  if ((proto !== Object.prototype && proto !== null) || "toJSON" in record) return toJsonText(record)
  const o = record as { readonly [k: string]: unknown }
  let out = "{"
  let i = 0
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue
    const text = valueJson(o[k])
    if (text !== undefined) out += (out.length === 1 ? "" : ",") + keyText(k, i) + text
    i++
  }
  return out + "}"
}
