/**
 * Run-time semantics of expression values: type names, equality, ordering, string conversion,
 * and the internal error raised by a type mismatch (turned into a `RecordError` by the facade).
 */

/** Static type bits: what a compiled node may evaluate to. */
export const T_NULL = 1
export const T_BOOL = 2
export const T_NUM = 4
export const T_STR = 8
export const T_OTHER = 16
export const T_ANY = T_NULL | T_BOOL | T_NUM | T_STR | T_OTHER

/** A type problem found while evaluating; `column` is where in the expression text it happened. */
export class ExprTypeError extends Error {
  readonly column: number
  constructor(message: string, column: number) {
    super(message)
    this.column = column
  }
}

/** Reads an own, non-inherited property of an object, or null. Never reads prototypes. */
export const getKey = (v: unknown, key: string | number): unknown => {
  if (typeof v !== "object" || v === null) return null
  if (Array.isArray(v)) {
    if (typeof key !== "number" || !Number.isInteger(key) || key < 0 || key >= v.length) return null
    const x: unknown = v[key]
    return x === undefined ? null : x
  }
  if (v instanceof Date) return null
  const k = String(key)
  if (!Object.hasOwn(v, k)) return null
  const x = (v as { readonly [k: string]: unknown })[k]
  return x === undefined || typeof x === "function" ? null : x
}

/** Keys that exist on some built-in prototype: reading them needs the own-property check. */
const protoKeys = new Set<string>()
for (const proto of [Object.prototype, Array.prototype, Function.prototype, String.prototype, Number.prototype]) {
  for (const k of Object.getOwnPropertyNames(proto)) protoKeys.add(k)
}
protoKeys.add("__proto__")

/** True when `key` can be read with a plain property access without reaching a prototype member. */
export const isPlainKey = (key: string): boolean => !protoKeys.has(key) && !/^\d+$/.test(key)

/** The type name used in messages: null, boolean, number, string, list, object, timestamp. */
export const typeName = (v: unknown): string => {
  if (v === null || v === undefined) return "null"
  if (Array.isArray(v)) return "list"
  if (v instanceof Date) return "timestamp"
  const t = typeof v
  return t === "object" ? "object" : t
}

/** A value as shown in a message: its type and a short rendering. */
export const describe = (v: unknown): string => {
  const name = typeName(v)
  if (name === "null") return "null"
  if (typeof v === "string") return `string '${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `${name} ${String(v)}`
  return name
}

/** Structural equality: no coercion between types; NaN is not equal to itself. */
export const equals = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (a === undefined) return b === null
  if (b === undefined) return a === null
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime()
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b) || b instanceof Date) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false
    if (!equals((a as { readonly [k: string]: unknown })[k], (b as { readonly [k: string]: unknown })[k])) return false
  }
  return true
}

/**
 * Orders two non-null values of the same type (numbers, strings, timestamps, booleans): negative,
 * zero or positive; NaN when a number is NaN. Throws an {@link ExprTypeError} for other types.
 */
export const order = (a: unknown, b: unknown, op: string, column: number): number => {
  if (typeof a === "number" && typeof b === "number") return a - b
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime()
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b)
  throw new ExprTypeError(`cannot compare ${describe(a)} ${op} ${describe(b)}`, column)
}

/** A value as text (for `concat` and `to_string`): numbers and booleans as written, timestamps as ISO 8601, lists and objects as JSON. */
export const toText = (v: unknown): string => {
  if (typeof v === "string") return v
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v)
  if (v instanceof Date) return v.toISOString()
  return JSON.stringify(v) ?? "null"
}

/** The static type bits of a constant value. */
export const typeOfValue = (v: unknown): number => {
  if (v === null || v === undefined) return T_NULL
  switch (typeof v) {
    case "boolean":
      return T_BOOL
    case "number":
      return T_NUM
    case "string":
      return T_STR
    default:
      return T_OTHER
  }
}
