/**
 * The compiled evaluator against an independent reference interpreter (property test).
 *
 * fast-check generates expression trees and records with values of mixed types (so type errors
 * and nulls are frequent). Each tree is rendered twice — fully parenthesised, and with only the
 * parentheses the precedence table requires — and both texts must compile to evaluators that
 * agree with the reference on every record: the same value, or an error where the reference
 * errs. This checks the parser's precedence and the compiler's specialised closures together.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { numRuns, timeoutFor } from "../../property-tests/support/effectProperty.ts"
import { RecordError } from "../../src/Errors.ts"
import * as Expression from "../../src/expr/Expression.ts"

type E =
  | { readonly k: "lit"; readonly v: null | boolean | number | string }
  | { readonly k: "field"; readonly name: string }
  | { readonly k: "bin"; readonly op: string; readonly l: E; readonly r: E }
  | { readonly k: "un"; readonly op: "-" | "!" | "not"; readonly e: E }
  | { readonly k: "in"; readonly neg: boolean; readonly e: E; readonly items: ReadonlyArray<E> }
  | { readonly k: "call"; readonly fn: string; readonly args: ReadonlyArray<E> }

const lit = (v: null | boolean | number | string): E => ({ k: "lit", v })
const fieldOf = (...names: ReadonlyArray<string>) => fc.constantFrom(...names).map((name): E => ({ k: "field", name }))
const bin = (ops: ReadonlyArray<string>, l: fc.Arbitrary<E>, r: fc.Arbitrary<E>) =>
  fc.tuple(fc.constantFrom(...ops), l, r).map(([op, x, y]): E => ({ k: "bin", op, l: x, r: y }))
const call = (fn: string, ...args: ReadonlyArray<fc.Arbitrary<E>>) => fc.tuple(...args).map((as): E => ({ k: "call", fn, args: as }))

// Mostly well-typed trees (numbers, strings, booleans), with a mixed-type field `m` and null
// literals, so that values, nulls and type errors all occur.
const trees = fc.letrec<{ num: E; str: E; bool: E; any: E }>((tie) => ({
  num: fc.oneof(
    { depthSize: "medium", withCrossShrink: true },
    fc.integer({ min: 0, max: 4 }).map(lit),
    fieldOf("a", "b", "a", "b", "m"),
    bin(["+", "-", "*", "/", "%"], tie("num"), tie("num")),
    tie("num").map((e): E => ({ k: "un", op: "-", e })),
    call("abs", tie("num")),
    call("length", tie("str")),
    call("coalesce", tie("num"), tie("num")),
    call("if", tie("bool"), tie("num"), tie("num"))
  ),
  str: fc.oneof(
    { depthSize: "medium", withCrossShrink: true },
    fc.constantFrom("", "x", "X", "ab").map(lit),
    fieldOf("s", "t", "m"),
    bin(["+"], tie("str"), tie("str")),
    call("lower", tie("str")),
    call("upper", tie("str")),
    call("coalesce", tie("str"), tie("str")),
    call("if", tie("bool"), tie("str"), tie("str"))
  ),
  bool: fc.oneof(
    { depthSize: "medium", withCrossShrink: true },
    fc.boolean().map(lit),
    fieldOf("f", "f", "m"),
    bin(["==", "!=", "<", "<=", ">", ">="], tie("num"), tie("num")),
    bin(["==", "!=", "<", "<=", ">", ">="], tie("str"), tie("str")),
    bin(["==", "!="], tie("any"), tie("any")),
    bin(["&&", "||"], tie("bool"), tie("bool")),
    bin(["&&", "||"], tie("bool"), tie("bool")),
    fc.tuple(fc.constantFrom("!" as const, "not" as const), tie("bool")).map(([op, e]): E => ({ k: "un", op, e })),
    fc.tuple(fc.boolean(), tie("num"), fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }).map(lit), fieldOf("a", "b")), { maxLength: 3 }))
      .map(([neg, e, items]): E => ({ k: "in", neg, e, items })),
    call("is_null", tie("any"))
  ),
  any: fc.oneof({ depthSize: "medium" }, tie("num"), tie("str"), tie("bool"), fc.constant(lit(null)))
}))
const expr = trees.bool

const maybe = <A>(a: fc.Arbitrary<A>) => fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: fc.constant(null) })
const record = fc.record(
  {
    a: maybe(fc.integer({ min: -3, max: 3 })),
    b: maybe(fc.integer({ min: -3, max: 3 })),
    s: maybe(fc.constantFrom("", "x", "X", "ab")),
    t: maybe(fc.constantFrom("", "x", "X", "ab")),
    f: maybe(fc.boolean()),
    m: fc.oneof(fc.constant(null), fc.boolean(), fc.integer({ min: -3, max: 3 }), fc.constantFrom("", "x"))
  },
  { requiredKeys: ["a", "b", "s", "t", "f"] }
)

// ---- reference interpreter (written from docs/expressions.md, independent of the compiler) ----

class Err {}
const ERR = new Err()
const fail = (): never => {
  throw ERR
}
const bool = (v: unknown): boolean => (v === true ? true : v === false || v === null ? false : fail())

const ref = (e: E, r: { readonly [k: string]: unknown }): unknown => {
  switch (e.k) {
    case "lit":
      return e.v
    case "field":
      return Object.hasOwn(r, e.name) ? r[e.name] : null
    case "un": {
      if (e.op === "-") {
        const v = ref(e.e, r)
        return typeof v === "number" ? -v : v === null ? null : fail()
      }
      return !bool(ref(e.e, r))
    }
    case "in": {
      const items = e.items.map((i) => ref(i, r))
      const v = ref(e.e, r)
      const found = items.some((i) => i === v)
      return e.neg ? !found : found
    }
    case "call": {
      if (e.fn === "coalesce") {
        const first = ref(e.args[0], r)
        return first !== null ? first : ref(e.args[1], r)
      }
      if (e.fn === "if") return bool(ref(e.args[0], r)) ? ref(e.args[1], r) : ref(e.args[2], r)
      const v = ref(e.args[0], r)
      if (e.fn === "is_null") return v === null
      if (v === null) return null
      switch (e.fn) {
        case "lower":
          return typeof v === "string" ? v.toLowerCase() : fail()
        case "upper":
          return typeof v === "string" ? v.toUpperCase() : fail()
        case "abs":
          return typeof v === "number" ? Math.abs(v) : fail()
        default:
          return typeof v === "string" ? v.length : fail()
      }
    }
    case "bin": {
      if (e.op === "&&") return bool(ref(e.l, r)) && bool(ref(e.r, r))
      if (e.op === "||") return bool(ref(e.l, r)) || bool(ref(e.r, r))
      const x = ref(e.l, r)
      const y = ref(e.r, r)
      switch (e.op) {
        case "==":
          return x === y
        case "!=":
          return x !== y
        case "<":
        case "<=":
        case ">":
        case ">=": {
          if (x === null || y === null) return false
          if (typeof x !== typeof y || typeof x === "object") return fail()
          const c = (x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0
          return e.op === "<" ? c < 0 : e.op === "<=" ? c <= 0 : e.op === ">" ? c > 0 : c >= 0
        }
        case "+":
          if (typeof x === "number" && typeof y === "number") return x + y
          if (x === null || y === null) return null
          return typeof x === "string" && typeof y === "string" ? x + y : fail()
        default: {
          if (typeof x === "number" && typeof y === "number") {
            if (e.op === "-") return x - y
            if (e.op === "*") return x * y
            if (y === 0) return null
            return e.op === "/" ? x / y : x % y
          }
          return x === null || y === null ? null : fail()
        }
      }
    }
  }
}

// ---- rendering ----

const show = (v: null | boolean | number | string): string => (typeof v === "string" ? `'${v}'` : String(v))
const LEVEL: { readonly [op: string]: number } = { "||": 1, "&&": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6 }
const level = (e: E): number => (e.k === "bin" ? LEVEL[e.op] : e.k === "in" ? 4 : e.k === "un" ? (e.op === "not" ? 3 : 7) : 8)

const render = (e: E, minimal: boolean): string => {
  const sub = (x: E, min: number): string => {
    const text = render(x, minimal)
    return !minimal || level(x) < min ? `(${text})` : text
  }
  switch (e.k) {
    case "lit":
      return show(e.v)
    case "field":
      return e.name
    case "un":
      return e.op === "not" ? `not ${sub(e.e, 3)}` : `${e.op}${sub(e.e, 7)}`
    case "in":
      return `${sub(e.e, 5)} ${e.neg ? "not in" : "in"} [${e.items.map((i) => render(i, minimal)).join(", ")}]`
    case "call":
      return `${e.fn}(${e.args.map((a) => render(a, minimal)).join(", ")})`
    case "bin": {
      const p = LEVEL[e.op]
      // left-associative; comparisons do not chain, so both sides need a higher level
      const left = p === 4 ? 5 : p
      return `${sub(e.l, left)} ${e.op} ${sub(e.r, p + 1)}`
    }
  }
}

const outcome = (f: () => unknown): { readonly value: unknown } | "error" => {
  try {
    return { value: f() }
  } catch (e) {
    if (e === ERR || e instanceof RecordError) return "error"
    throw e
  }
}

describe("Expression against a reference interpreter", () => {
  it("gives the reference's value or error on every record, for both renderings", () => {
    let compiled = 0
    let total = 0
    let values = 0
    let errors = 0
    fc.assert(
      fc.property(expr, fc.array(record, { minLength: 1, maxLength: 12 }), (e, records) => {
        total++
        for (const minimal of [false, true]) {
          const text = render(e, minimal)
          const c = Expression.compile(text)
          if (!c.ok) {
            // only a static type error may refuse to compile: never a syntax error
            assert.notMatch(c.message, /unexpected|expected|unknown|chained/, `${text}: ${c.message}`)
            continue
          }
          compiled++
          for (const r of records) {
            const want = outcome(() => ref(e, r))
            const got = outcome(() => c.evaluate(r))
            assert.deepStrictEqual(got, want, `${text} on ${JSON.stringify(r)}`)
            if (want === "error") errors++
            else values++
          }
        }
      }),
      { numRuns: numRuns(500) }
    )
    // most generated expressions compile, and both values and errors occur: the property is not vacuous
    assert.isAbove(compiled, total)
    assert.isAbove(values, 3 * errors)
    assert.isAbove(errors, 0)
  }, timeoutFor(numRuns(500), 50, 60_000))
})
