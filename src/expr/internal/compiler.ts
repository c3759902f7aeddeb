/**
 * The expression compiler: AST to a tree of JS closures, built once. Each compiled node knows its
 * static type (a bit set, see `values.ts`), whether it can throw, and whether it is a constant.
 * Constants are folded at compile time (a type error in a constant part is a compile error);
 * common shapes (`field == literal`, `field >= number`, `x in [constants]`, paths of plain keys)
 * get tight specialised closures.
 */
import { closest } from "../../internal/suggest.ts"
import { FUNCTION_NAMES, FUNCTIONS } from "./functions.ts"
import type { BinaryOp, Node } from "./parser.ts"
import {
  describe,
  equals,
  ExprTypeError,
  getKey,
  isPlainKey,
  order,
  T_ANY,
  T_BOOL,
  T_NULL,
  T_NUM,
  T_OTHER,
  T_STR,
  typeOfValue
} from "./values.ts"

/** A compiled closure: record in, value out (null, never undefined). */
export type Ev = (record: unknown) => unknown

/** A compiled node. */
export interface Compiled {
  readonly ev: Ev
  readonly t: number
  readonly throws: boolean
  readonly constant: boolean
  /** Static keys from the record root, when the node is a plain path (`a.b["c"]`). */
  readonly path?: ReadonlyArray<string | number>
}

/** A compile error at a column, thrown inside the compiler and caught by `compileNode`'s caller. */
export class CompileFailure {
  readonly message: string
  readonly column: number
  constructor(message: string, column: number) {
    this.message = message
    this.column = column
  }
}

type Rec = { readonly [k: string]: unknown }

/** A constant node. A constant list is frozen: every evaluation (and every output record) shares it. */
const constant = (value: unknown): Compiled => {
  if (Array.isArray(value)) Object.freeze(value)
  return { ev: () => value, t: typeOfValue(value), throws: false, constant: true }
}

const TYPE_WORDS: ReadonlyArray<readonly [number, string]> = [
  [T_NULL, "null"],
  [T_BOOL, "boolean"],
  [T_NUM, "number"],
  [T_STR, "string"],
  [T_OTHER, "list/object"]
]
const typeWords = (t: number): string => TYPE_WORDS.filter(([b]) => (t & b) !== 0).map(([, w]) => w).join(" or ")

/** Folds a node whose inputs are all constants; a type error becomes a compile error. */
const fold = (c: Compiled, inputs: ReadonlyArray<Compiled>): Compiled => {
  if (!inputs.every((i) => i.constant)) return c
  try {
    return constant(c.ev(undefined))
  } catch (e) {
    if (e instanceof ExprTypeError) throw new CompileFailure(e.message, e.column)
    throw e
  }
}

/** Path reader for static keys. */
const pathReader = (keys: ReadonlyArray<string | number>): Ev => {
  const plain = keys.every((k) => typeof k === "string" && isPlainKey(k))
  if (plain && keys.length === 1) {
    const k = keys[0] as string
    return (r) => {
      if (r === null || r === undefined) return null
      const v = (r as Rec)[k]
      return v === undefined ? null : v
    }
  }
  if (plain && keys.length === 2) {
    const k0 = keys[0] as string
    const k1 = keys[1] as string
    return (r) => {
      if (r === null || r === undefined) return null
      const a = (r as Rec)[k0]
      if (typeof a !== "object" || a === null) return null
      const v = (a as Rec)[k1]
      return v === undefined ? null : v
    }
  }
  const n = keys.length
  return (r) => {
    let v: unknown = r
    for (let i = 0; i < n; i++) {
      v = getKey(v, keys[i])
      if (v === null) return null
    }
    return v
  }
}

const asBool = (op: string, column: number) => (v: unknown): boolean => {
  if (v === true) return true
  if (v === false || v === null) return false
  throw new ExprTypeError(`'${op}' expects booleans, got ${describe(v)}`, column)
}

const checkOperand = (op: string, c: Compiled, allowed: number, column: number): void => {
  if ((c.t & allowed) === 0) {
    throw new CompileFailure(`'${op}' cannot be applied to a ${typeWords(c.t)} value`, column)
  }
}

const compileLogic = (op: "&&" | "||", a: Compiled, b: Compiled, column: number): Compiled => {
  checkOperand(op, a, T_BOOL | T_NULL, column)
  checkOperand(op, b, T_BOOL | T_NULL, column)
  const safe = (a.t & ~(T_BOOL | T_NULL)) === 0 && (b.t & ~(T_BOOL | T_NULL)) === 0
  const x = a.ev
  const y = b.ev
  let ev: Ev
  if (safe) {
    ev = op === "&&" ? (r) => x(r) === true && y(r) === true : (r) => x(r) === true || y(r) === true
  } else {
    const ca = asBool(op, column)
    ev = op === "&&" ? (r) => ca(x(r)) && ca(y(r)) : (r) => ca(x(r)) || ca(y(r))
  }
  return fold({ ev, t: T_BOOL, throws: !safe || a.throws || b.throws, constant: false }, [a, b])
}

const compileEquality = (negate: boolean, a: Compiled, b: Compiled): Compiled => {
  const x = a.ev
  const y = b.ev
  let ev: Ev
  const lit = b.constant ? b.ev(undefined) : a.constant ? a.ev(undefined) : undefined
  const other = b.constant ? x : y
  const simpleLiteral = typeof lit === "string" || typeof lit === "boolean" || (typeof lit === "number" && !Number.isNaN(lit))
  const onePlain = (a.constant ? b : a).path
  if ((a.constant || b.constant) && (simpleLiteral || lit === null)) {
    if (onePlain !== undefined && onePlain.length === 1 && typeof onePlain[0] === "string" && isPlainKey(onePlain[0]) && lit !== null) {
      const k = onePlain[0]
      ev = negate
        ? (r) => r === null || r === undefined || (r as Rec)[k] !== lit
        : (r) => r !== null && r !== undefined && (r as Rec)[k] === lit
    } else {
      ev = negate ? (r) => other(r) !== lit : (r) => other(r) === lit
    }
  } else {
    ev = negate ? (r) => !equals(x(r), y(r)) : (r) => equals(x(r), y(r))
  }
  return fold({ ev, t: T_BOOL, throws: a.throws || b.throws, constant: false }, [a, b])
}

const compileOrdering = (op: "<" | "<=" | ">" | ">=", a: Compiled, b: Compiled, column: number): Compiled => {
  const test: (d: number) => boolean = op === "<" ? (d) => d < 0 : op === "<=" ? (d) => d <= 0 : op === ">" ? (d) => d > 0 : (d) => d >= 0
  const x = a.ev
  const y = b.ev
  const numbersOnly = (a.t & ~(T_NUM | T_NULL)) === 0 && (b.t & ~(T_NUM | T_NULL)) === 0
  const stringsOnly = (a.t & ~(T_STR | T_NULL)) === 0 && (b.t & ~(T_STR | T_NULL)) === 0
  let ev: Ev
  if (b.constant && typeof b.ev(undefined) === "number") {
    const n = b.ev(undefined) as number
    const slow = (v: unknown): boolean => v !== null && test(order(v, n, op, column))
    ev = op === "<"
      ? (r) => { const v = x(r); return typeof v === "number" ? v < n : slow(v) }
      : op === "<="
      ? (r) => { const v = x(r); return typeof v === "number" ? v <= n : slow(v) }
      : op === ">"
      ? (r) => { const v = x(r); return typeof v === "number" ? v > n : slow(v) }
      : (r) => { const v = x(r); return typeof v === "number" ? v >= n : slow(v) }
  } else {
    ev = (r) => {
      const u = x(r)
      const v = y(r)
      if (u === null || v === null) return false
      return test(order(u, v, op, column))
    }
  }
  return fold({ ev, t: T_BOOL, throws: !(numbersOnly || stringsOnly) || a.throws || b.throws, constant: false }, [a, b])
}

const ARITH_NAMES: { readonly [op: string]: string } = { "-": "subtract", "*": "multiply", "/": "divide", "%": "take the remainder of" }

const compileArithmetic = (op: "+" | "-" | "*" | "/" | "%", a: Compiled, b: Compiled, column: number): Compiled => {
  const x = a.ev
  const y = b.ev
  const allowed = op === "+" ? T_NUM | T_STR | T_NULL : T_NUM | T_NULL
  checkOperand(op, a, allowed, column)
  checkOperand(op, b, allowed, column)
  const numeric = (a.t & ~T_NUM) === 0 && (b.t & ~T_NUM) === 0
  let ev: Ev
  if (op === "+") {
    ev = numeric
      ? (r) => (x(r) as number) + (y(r) as number)
      : (r) => {
        const u = x(r)
        const v = y(r)
        if (typeof u === "number" && typeof v === "number") return u + v
        if (u === null || v === null) return null
        if (typeof u === "string" && typeof v === "string") return u + v
        throw new ExprTypeError(
          `cannot add ${describe(u)} and ${describe(v)} ('+' adds two numbers or joins two strings; use concat() or to_string())`,
          column
        )
      }
  } else {
    const f: (u: number, v: number) => unknown = op === "-"
      ? (u, v) => u - v
      : op === "*"
      ? (u, v) => u * v
      : op === "/"
      ? (u, v) => (v === 0 ? null : u / v)
      : (u, v) => (v === 0 ? null : u % v)
    ev = (r) => {
      const u = x(r)
      const v = y(r)
      if (typeof u === "number" && typeof v === "number") return f(u, v)
      if (u === null || v === null) return null
      throw new ExprTypeError(`cannot ${ARITH_NAMES[op]} ${describe(u)} ${op === "-" ? "and" : "by"} ${describe(v)}`, column)
    }
  }
  const divides = op === "/" || op === "%"
  const t = op === "+" ? (numeric ? T_NUM : (a.t | b.t) & (T_NUM | T_STR | T_NULL)) : numeric && !divides ? T_NUM : T_NUM | T_NULL
  return fold({ ev, t, throws: !numeric || a.throws || b.throws, constant: false }, [a, b])
}

const compileIn = (negated: boolean, a: Compiled, b: Compiled, column: number): Compiled => {
  checkOperand(negated ? "not in" : "in", b, T_OTHER | T_NULL, column)
  const x = a.ev
  let ev: Ev
  const items = b.constant ? b.ev(undefined) : undefined
  if (Array.isArray(items) && items.every((v) => v === null || (typeof v !== "object" && !Number.isNaN(v)))) {
    const set = new Set<unknown>(items)
    ev = negated ? (r) => !set.has(x(r)) : (r) => set.has(x(r))
  } else {
    const y = b.ev
    const member = (r: unknown): boolean => {
      const v = x(r)
      const list = y(r)
      if (list === null) return false
      if (!Array.isArray(list)) {
        throw new ExprTypeError(`'in' expects a list on its right, got ${describe(list)} (for text use contains())`, column)
      }
      for (const e of list) if (equals(v, e)) return true
      return false
    }
    ev = negated ? (r) => !member(r) : member
  }
  return fold({ ev, t: T_BOOL, throws: !Array.isArray(items) || a.throws, constant: false }, [a, b])
}

const compileCall = (name: string, args: ReadonlyArray<Compiled>, column: number): Compiled => {
  const spec = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined
  if (spec === undefined) {
    const guess = closest(name, FUNCTION_NAMES)
    throw new CompileFailure(`unknown function '${name}'${guess !== undefined ? ` (did you mean '${guess}'?)` : ""}`, column)
  }
  if (args.length < spec.min || args.length > spec.max) {
    const want = spec.min === spec.max
      ? `${spec.min} argument${spec.min === 1 ? "" : "s"}`
      : spec.max === Number.POSITIVE_INFINITY
      ? `at least ${spec.min} argument${spec.min === 1 ? "" : "s"}`
      : `${spec.min} to ${spec.max} arguments`
    throw new CompileFailure(`${name}() takes ${want}, got ${args.length} (${spec.signature})`, column)
  }
  const evs = args.map((a) => a.ev)
  const throws = args.some((a) => a.throws)
  let ev: Ev
  let t = spec.returns
  if (name === "coalesce") {
    ev = (r) => {
      for (let i = 0; i < evs.length; i++) {
        const v = evs[i](r)
        if (v !== null) return v
      }
      return null
    }
    t = args.reduce((acc, a) => acc | a.t, 0)
    if (args.some((a) => (a.t & T_NULL) === 0)) t &= ~T_NULL
    return fold({ ev, t, throws, constant: false }, args)
  }
  if (name === "if") {
    const [c, a, b] = evs
    ev = (r) => {
      const v = c(r)
      if (v === true) return a(r)
      if (v === false || v === null) return b(r)
      throw new ExprTypeError(`if() expects a boolean condition, got ${describe(v)}`, column)
    }
    return fold({ ev, t: args[1].t | args[2].t, throws: true, constant: false }, args)
  }
  // One argument buffer per call site, reused for every record: expressions have no recursion, so
  // a call site is never re-entered while its arguments are in use, and no function keeps `args`.
  const n = evs.length
  const buffer: Array<unknown> = new Array(n).fill(null)
  const call = spec.call
  if (n === 1) {
    const a0 = evs[0]
    ev = (r) => {
      buffer[0] = a0(r)
      return call(buffer, column)
    }
  } else if (n === 2) {
    const a0 = evs[0]
    const a1 = evs[1]
    ev = (r) => {
      const v0 = a0(r)
      buffer[1] = a1(r)
      buffer[0] = v0
      return call(buffer, column)
    }
  } else {
    ev = (r) => {
      for (let i = 0; i < n; i++) buffer[i] = evs[i](r)
      return call(buffer, column)
    }
  }
  return fold({ ev, t, throws: true, constant: false }, args)
}

/** Compiles one AST node. Throws {@link CompileFailure} on a compile-time error. */
export const compileNode = (node: Node): Compiled => {
  switch (node.kind) {
    case "literal":
      return constant(node.value)
    case "root":
      return { ev: (r) => (r === undefined ? null : r), t: T_ANY, throws: false, constant: false, path: [] }
    case "field":
      return { ev: pathReader([node.name]), t: T_ANY, throws: false, constant: false, path: [node.name] }
    case "member":
    case "index": {
      const target = compileNode(node.target)
      const key = node.kind === "member" ? constant(node.key) : compileNode(node.index)
      checkOperand("[]", key, T_STR | T_NUM | T_NULL, node.column)
      if (key.constant) {
        const k = key.ev(undefined)
        if (k === null) return constant(null)
        if (target.path !== undefined) {
          const path = [...target.path, k as string | number]
          return { ev: pathReader(path), t: T_ANY, throws: target.throws, constant: false, path }
        }
        const te = target.ev
        return fold({ ev: (r) => getKey(te(r), k as string | number), t: T_ANY, throws: target.throws, constant: false }, [target])
      }
      const te = target.ev
      const ke = key.ev
      const column = node.column
      const ev: Ev = (r) => {
        const k = ke(r)
        if (k === null) return null
        if (typeof k !== "string" && typeof k !== "number") {
          throw new ExprTypeError(`an index must be a string or a number, got ${describe(k)}`, column)
        }
        return getKey(te(r), k)
      }
      return { ev, t: T_ANY, throws: true, constant: false }
    }
    case "list": {
      const items = node.items.map(compileNode)
      const evs = items.map((i) => i.ev)
      return fold({ ev: (r) => evs.map((e) => e(r)), t: T_OTHER, throws: items.some((i) => i.throws), constant: false }, items)
    }
    case "unary": {
      const a = compileNode(node.operand)
      const x = a.ev
      const column = node.column
      if (node.op === "-") {
        checkOperand("-", a, T_NUM | T_NULL, column)
        const ev: Ev = (r) => {
          const v = x(r)
          if (typeof v === "number") return -v
          if (v === null) return null
          throw new ExprTypeError(`cannot negate ${describe(v)}`, column)
        }
        return fold({ ev, t: a.t & (T_NUM | T_NULL), throws: (a.t & ~(T_NUM | T_NULL)) !== 0 || a.throws, constant: false }, [a])
      }
      checkOperand(node.op, a, T_BOOL | T_NULL, column)
      const safe = (a.t & ~(T_BOOL | T_NULL)) === 0
      const check = asBool(node.op, column)
      const ev: Ev = safe ? (r) => x(r) !== true : (r) => !check(x(r))
      return fold({ ev, t: T_BOOL, throws: !safe || a.throws, constant: false }, [a])
    }
    case "in":
      return compileIn(node.negated, compileNode(node.left), compileNode(node.right), node.column)
    case "call":
      return compileCall(node.name, node.args.map(compileNode), node.column)
    case "binary":
      return compileBinary(node.op, compileNode(node.left), compileNode(node.right), node.column)
  }
}

const compileBinary = (op: BinaryOp, a: Compiled, b: Compiled, column: number): Compiled => {
  switch (op) {
    case "&&":
    case "||":
      return compileLogic(op, a, b, column)
    case "==":
    case "!=":
      return compileEquality(op === "!=", a, b)
    case "<":
    case "<=":
    case ">":
    case ">=":
      return compileOrdering(op, a, b, column)
    default:
      return compileArithmetic(op, a, b, column)
  }
}
