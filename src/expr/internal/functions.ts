/**
 * The whitelist of expression functions. Each takes already-evaluated arguments (except the lazy
 * `coalesce` and `if`, which the compiler handles) and throws an {@link ExprTypeError} on a type
 * mismatch. Null in gives null out unless stated otherwise.
 */
import { describe, equals, ExprTypeError, order, T_ANY, T_BOOL, T_NULL, T_NUM, T_OTHER, T_STR, toText } from "./values.ts"

/** One function of the whitelist. `returns` is its static result type; `call` the implementation. */
export interface FunctionSpec {
  readonly min: number
  readonly max: number
  readonly returns: number
  readonly signature: string
  readonly description: string
  readonly call: (args: ReadonlyArray<unknown>, column: number) => unknown
}

const expect = (fn: string, what: string, v: unknown, column: number): never => {
  throw new ExprTypeError(`${fn}() expects ${what}, got ${describe(v)}`, column)
}

const str1 = (fn: string, f: (s: string) => unknown) => (args: ReadonlyArray<unknown>, column: number): unknown => {
  const v = args[0]
  if (typeof v === "string") return f(v)
  if (v === null) return null
  return expect(fn, "a string", v, column)
}

const num1 = (fn: string, f: (n: number) => number) => (args: ReadonlyArray<unknown>, column: number): unknown => {
  const v = args[0]
  if (typeof v === "number") return f(v)
  if (v === null) return null
  return expect(fn, "a number", v, column)
}

const str2 = (fn: string, f: (a: string, b: string) => unknown) => (args: ReadonlyArray<unknown>, column: number): unknown => {
  const a = args[0]
  const b = args[1]
  if (a === null || b === null) return null
  if (typeof a !== "string") return expect(fn, "a string as its first argument", a, column)
  if (typeof b !== "string") return expect(fn, "a string as its second argument", b, column)
  return f(a, b)
}

/** Rounds half away from zero, to `digits` decimal places (negative digits round to tens, hundreds...). */
const roundHalfAway = (x: number, digits: number): number => {
  if (digits > 15) return x
  const f = 10 ** Math.max(digits, -308)
  const r = Math.round(Math.abs(x) * f) / f
  return x < 0 ? -r : r
}

const extreme = (fn: string, sign: 1 | -1) => (args: ReadonlyArray<unknown>, column: number): unknown => {
  const values = args.length === 1 && Array.isArray(args[0]) ? (args[0] as ReadonlyArray<unknown>) : args
  let best: unknown = null
  for (const v of values) {
    if (v === null || v === undefined) continue
    if (best === null) {
      if (typeof v !== "number" && typeof v !== "string" && !(v instanceof Date)) {
        return expect(fn, "numbers, strings or timestamps", v, column)
      }
      best = v
    } else if (sign * order(v, best, fn === "min" ? "<" : ">", column) > 0) {
      best = v
    }
  }
  return best
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** The functions, by name. */
export const FUNCTIONS: { readonly [name: string]: FunctionSpec } = {
  lower: {
    min: 1, max: 1, returns: T_STR | T_NULL, signature: "lower(s)", description: "the string in lower case",
    call: str1("lower", (s) => s.toLowerCase())
  },
  upper: {
    min: 1, max: 1, returns: T_STR | T_NULL, signature: "upper(s)", description: "the string in upper case",
    call: str1("upper", (s) => s.toUpperCase())
  },
  trim: {
    min: 1, max: 1, returns: T_STR | T_NULL, signature: "trim(s)", description: "the string without leading and trailing white space",
    call: str1("trim", (s) => s.trim())
  },
  length: {
    min: 1, max: 1, returns: T_NUM | T_NULL, signature: "length(x)", description: "characters of a string, or elements of a list",
    call: (args, column) => {
      const v = args[0]
      if (typeof v === "string" || Array.isArray(v)) return v.length
      if (v === null) return null
      return expect("length", "a string or a list", v, column)
    }
  },
  concat: {
    min: 1, max: Number.POSITIVE_INFINITY, returns: T_STR, signature: "concat(a, b, ...)",
    description: "the arguments as text, joined; null arguments are skipped",
    call: (args) => {
      let out = ""
      for (const v of args) if (v !== null && v !== undefined) out += toText(v)
      return out
    }
  },
  coalesce: {
    min: 1, max: Number.POSITIVE_INFINITY, returns: T_ANY, signature: "coalesce(a, b, ...)",
    description: "the first argument that is not null (later arguments are not evaluated)",
    call: (args) => {
      for (const v of args) if (v !== null && v !== undefined) return v
      return null
    }
  },
  if: {
    min: 3, max: 3, returns: T_ANY, signature: "if(condition, then, else)",
    description: "`then` when the condition is true, `else` when it is false or null (only one branch is evaluated)",
    call: (args, column) => {
      const c = args[0]
      if (c === true) return args[1]
      if (c === false || c === null) return args[2]
      return expect("if", "a boolean condition", c, column)
    }
  },
  abs: { min: 1, max: 1, returns: T_NUM | T_NULL, signature: "abs(x)", description: "absolute value", call: num1("abs", Math.abs) },
  floor: { min: 1, max: 1, returns: T_NUM | T_NULL, signature: "floor(x)", description: "largest integer <= x", call: num1("floor", Math.floor) },
  ceil: { min: 1, max: 1, returns: T_NUM | T_NULL, signature: "ceil(x)", description: "smallest integer >= x", call: num1("ceil", Math.ceil) },
  round: {
    min: 1, max: 2, returns: T_NUM | T_NULL, signature: "round(x, digits = 0)",
    description: "x rounded half away from zero to `digits` decimal places",
    call: (args, column) => {
      const x = args[0]
      const d = args.length > 1 ? args[1] : 0
      if (x === null || d === null) return null
      if (typeof x !== "number") return expect("round", "a number", x, column)
      if (typeof d !== "number" || !Number.isInteger(d)) return expect("round", "an integer number of digits", d, column)
      return roundHalfAway(x, d)
    }
  },
  min: {
    min: 1, max: Number.POSITIVE_INFINITY, returns: T_NUM | T_STR | T_OTHER | T_NULL, signature: "min(a, b, ...) or min(list)",
    description: "the smallest non-null argument (null if all are null)", call: extreme("min", -1)
  },
  max: {
    min: 1, max: Number.POSITIVE_INFINITY, returns: T_NUM | T_STR | T_OTHER | T_NULL, signature: "max(a, b, ...) or max(list)",
    description: "the largest non-null argument (null if all are null)", call: extreme("max", 1)
  },
  contains: {
    min: 2, max: 2, returns: T_BOOL | T_NULL, signature: "contains(s, part) or contains(list, x)",
    description: "whether the string contains `part`, or the list contains an element equal to `x`",
    call: (args, column) => {
      const a = args[0]
      const b = args[1]
      if (Array.isArray(a)) {
        for (const x of a) if (equals(x, b)) return true
        return false
      }
      return str2("contains", (s, p) => s.includes(p))(args, column)
    }
  },
  starts_with: {
    min: 2, max: 2, returns: T_BOOL | T_NULL, signature: "starts_with(s, prefix)", description: "whether the string starts with `prefix`",
    call: str2("starts_with", (s, p) => s.startsWith(p))
  },
  ends_with: {
    min: 2, max: 2, returns: T_BOOL | T_NULL, signature: "ends_with(s, suffix)", description: "whether the string ends with `suffix`",
    call: str2("ends_with", (s, p) => s.endsWith(p))
  },
  replace: {
    min: 3, max: 3, returns: T_STR | T_NULL, signature: "replace(s, search, replacement)",
    description: "the string with every occurrence of `search` replaced (literal text, not a pattern)",
    call: (args, column) => {
      const r = args[2]
      if (r !== null && typeof r !== "string") return expect("replace", "a string replacement", r, column)
      return str2("replace", (s, search) => (r === null ? null : search === "" ? s : s.split(search).join(r)))(args, column)
    }
  },
  substring: {
    min: 2, max: 3, returns: T_STR | T_NULL, signature: "substring(s, start, length?)",
    description: "`length` characters (or the rest) from the 0-based `start`",
    call: (args, column) => {
      const s = args[0]
      const start = args[1]
      const len = args.length > 2 ? args[2] : undefined
      if (s === null || start === null || len === null) return null
      if (typeof s !== "string") return expect("substring", "a string", s, column)
      if (typeof start !== "number" || !Number.isInteger(start) || start < 0) {
        return expect("substring", "a non-negative integer start", start, column)
      }
      if (len === undefined) return s.slice(start)
      if (typeof len !== "number" || !Number.isInteger(len) || len < 0) {
        return expect("substring", "a non-negative integer length", len, column)
      }
      return s.slice(start, start + len)
    }
  },
  is_null: {
    min: 1, max: 1, returns: T_BOOL, signature: "is_null(x)", description: "whether x is null or missing",
    call: (args) => args[0] === null || args[0] === undefined
  },
  to_number: {
    min: 1, max: 1, returns: T_NUM | T_NULL, signature: "to_number(x)",
    description: "a number from a number, a numeric string (blank gives null) or a boolean (1/0)",
    call: (args, column) => {
      const v = args[0]
      if (typeof v === "number") return v
      if (v === null) return null
      if (typeof v === "boolean") return v ? 1 : 0
      if (typeof v === "string") {
        const t = v.trim()
        if (t === "") return null
        if (NUMERIC.test(t)) return Number(t)
        throw new ExprTypeError(`to_number() cannot read ${describe(v)} as a number`, column)
      }
      return expect("to_number", "a string, number or boolean", v, column)
    }
  },
  to_string: {
    min: 1, max: 1, returns: T_STR | T_NULL, signature: "to_string(x)",
    description: "x as text (timestamps as ISO 8601, lists and objects as JSON); null stays null",
    call: (args) => (args[0] === null || args[0] === undefined ? null : toText(args[0]))
  }
}

/** The function names, sorted (for suggestions and docs). */
export const FUNCTION_NAMES: ReadonlyArray<string> = Object.keys(FUNCTIONS).sort()

