/**
 * The expression compiler without its error type: `makeCompiler(toError)` compiles expressions
 * whose run-time type errors throw `toError(detail, record)`. The `Expression` facade throws a
 * `RecordError`; a CSV range thread, which loads no Effect, throws a plain error carrying the same
 * fields. Nothing here imports Effect.
 */
import type { CompiledExpression, CompiledPredicate, CompileError } from "../Expression.ts"
import { CompileFailure, type Compiled, compileNode } from "./compiler.ts"
import { type Node, parse } from "./parser.ts"
import { describe, ExprTypeError, T_BOOL } from "./values.ts"

/**
 * Makes the error a run-time type error throws: its message (`detail`), the record, and the
 * 1-based column of the failing part inside the expression.
 */
export type TypeErrorFactory = (detail: string, record: unknown, column: number) => unknown

/** The deepest nesting accepted: deeper trees could overflow the stack when evaluated. */
const MAX_DEPTH = 200

/** The depth of the tree, without recursion. */
const depth = (root: Node): number => {
  let max = 0
  const stack: Array<readonly [Node, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [node, d] = stack.pop()!
    if (d > max) max = d
    for (const child of children(node)) stack.push([child, d + 1])
  }
  return max
}

const children = (node: Node): ReadonlyArray<Node> => {
  switch (node.kind) {
    case "literal":
    case "root":
    case "field":
      return []
    case "member":
      return [node.target]
    case "index":
      return [node.target, node.index]
    case "list":
      return node.items
    case "unary":
      return [node.operand]
    case "binary":
    case "in":
      return [node.left, node.right]
    case "call":
      return node.args
  }
}

const tooDeep: CompileError = { ok: false, message: `expression is nested too deeply (more than ${MAX_DEPTH} levels)`, column: 1 }

const build = (text: string): Compiled | CompileError => {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(text)
  } catch (e) {
    if (e instanceof RangeError) return tooDeep
    throw e
  }
  if (!("ast" in parsed)) return { ok: false, message: parsed.message, column: parsed.column }
  if (depth(parsed.ast) > MAX_DEPTH) return tooDeep
  try {
    return compileNode(parsed.ast)
  } catch (e) {
    if (e instanceof CompileFailure) return { ok: false, message: e.message, column: e.column }
    throw e
  }
}

/** The compiler functions, with run-time type errors thrown as `toError(detail, record)`. */
export const makeCompiler = (toError: TypeErrorFactory) => {
  /** Wraps a closure that may throw an ExprTypeError so that it throws `toError(...)`. */
  const guarded = <A>(source: string, f: (record: unknown) => A): ((record: unknown) => A) => (record) => {
    try {
      return f(record)
    } catch (e) {
      if (e instanceof ExprTypeError) throw toError(`expression \`${source}\`: ${e.message} (column ${e.column})`, record, e.column)
      throw e
    }
  }
  const compile = (text: string): CompiledExpression | CompileError => {
    const c = build(text)
    if ("ok" in c) return c
    return { ok: true, source: text, evaluate: c.throws ? guarded(text, c.ev) : c.ev }
  }
  const compilePredicate = (text: string): CompiledPredicate | CompileError => {
    const c = build(text)
    if ("ok" in c) return c
    if ((c.t & T_BOOL) === 0) {
      return { ok: false, message: "a condition must give true or false, but this expression never does", column: 1 }
    }
    const ev = c.ev
    if (c.t === T_BOOL && !c.throws) return { ok: true, source: text, test: ev as (record: unknown) => boolean }
    const test = (record: unknown): boolean => {
      const v = ev(record)
      if (v === true) return true
      if (v === false || v === null) return false
      throw new ExprTypeError(`a condition must give true or false, got ${describe(v)}`, 1)
    }
    return { ok: true, source: text, test: guarded(text, test) }
  }
  return { compile, compilePredicate }
}
