/**
 * JSON text for records that `JSON.stringify` would refuse or change: a `bigint` (refused) is
 * written as a JSON number with all its digits; `-0` (written `0`) as `-0`; `NaN` and `±Infinity`
 * (written `null`) as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has no such numbers;
 * the strings are what PostgreSQL's float input reads); a `Uint8Array` (written as an object of
 * indexes) as its bytes in PostgreSQL's hex form `"\\x0aff"`. Everything else as `JSON.stringify`
 * writes it (a `Date` through its `toJSON`: ISO-8601, milliseconds).
 *
 * {@link needsExactJson} is a quick check so the common record still goes through the native
 * `JSON.stringify`; only a record holding one of those values takes the slower {@link exactJson}.
 */

/** True when `JSON.stringify(value)` would throw or change a value (see the module doc). */
export const needsExactJson = (value: unknown): boolean => needs(value, 0)

const needs = (value: unknown, depth: number): boolean => {
  if (typeof value !== "object" || value === null) return scalarNeeds(value)
  if (depth > 64) return false
  if (value instanceof Uint8Array) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      if (typeof v === "object" ? v !== null && needs(v, depth + 1) : scalarNeeds(v)) return true
    }
    return false
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false
  const o = value as { readonly [k: string]: unknown }
  for (const k in o) {
    const v = o[k]
    if (typeof v === "object" ? v !== null && needs(v, depth + 1) : scalarNeeds(v)) return true
  }
  return false
}

/** A bigint, a non-finite number or `-0`. */
const scalarNeeds = (v: unknown): boolean =>
  typeof v === "number" ? v - v !== 0 || (v === 0 && 1 / v < 0) : typeof v === "bigint"

/** A number's JSON text: `-0` kept, non-finite numbers as strings. */
export const numberJson = (v: number): string =>
  Number.isFinite(v) ? (v === 0 && 1 / v < 0 ? "-0" : String(v)) : `"${String(v)}"`

/** A byte array in PostgreSQL's hex text form (`\x` then two hex digits per byte). */
export const byteaText = (bytes: Uint8Array): string =>
  "\\x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

/**
 * The JSON text of `value` with the values of the module doc written exactly. Like
 * `JSON.stringify`: `undefined`, functions and symbols are left out of objects and are `null` in
 * arrays; `toJSON` is called. Throws on a cycle.
 */
export const exactJson = (value: unknown): string => {
  const seen = new Set<object>()
  const write = (v: unknown, key: string, inArray: boolean): string | undefined => {
    if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
      const toJSON = (v as { toJSON?: unknown }).toJSON
      if (typeof toJSON === "function") v = (toJSON as (k: string) => unknown).call(v, key)
    }
    switch (typeof v) {
      case "string":
        return JSON.stringify(v)
      case "number":
        return numberJson(v)
      case "bigint":
        return v.toString()
      case "boolean":
        return v ? "true" : "false"
      case "undefined":
      case "function":
      case "symbol":
        return inArray ? "null" : undefined
      case "object": {
        if (v === null) return "null"
        if (v instanceof Uint8Array) return JSON.stringify(byteaText(v))
        if (seen.has(v)) throw new TypeError("Converting circular structure to JSON")
        seen.add(v)
        let out: string
        if (Array.isArray(v)) {
          out = "["
          for (let i = 0; i < v.length; i++) out += (i > 0 ? "," : "") + write(v[i], String(i), true)
          out += "]"
        } else {
          out = "{"
          let first = true
          const o = v as { readonly [k: string]: unknown }
          for (const k of Object.keys(o)) {
            const text = write(o[k], k, false)
            if (text === undefined) continue
            out += (first ? "" : ",") + JSON.stringify(k) + ":" + text
            first = false
          }
          out += "}"
        }
        seen.delete(v)
        return out
      }
    }
  }
  return write(value, "", false) ?? "null"
}

/** `JSON.stringify`, or {@link exactJson} for a value it would refuse or change. */
export const toJsonText = (value: unknown): string => (needsExactJson(value) ? exactJson(value) : JSON.stringify(value))
