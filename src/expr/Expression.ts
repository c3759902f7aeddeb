/**
 * The safe expression language of YAML `filter` conditions and `map` fields.
 *
 * An expression such as `status == 'active' && amount >= 10` is parsed and compiled **once** into
 * a tree of JavaScript closures; evaluating it on a record is a plain function call, with no
 * `eval`, no `new Function` and no parsing per record. Only record fields (own properties, never
 * prototype members), literals, the operators and a fixed whitelist of functions are reachable.
 *
 * - Compile errors are values: {@link compile} returns `{ ok: false, message, column }` with the
 *   1-based column inside the expression text.
 * - Type errors at run time (`'a' * 2` with field values, `lower(42)`) throw a `RecordError`
 *   naming the expression, the problem and its column. Parts made of constants only are evaluated
 *   at compile time, so such an error there is a compile error.
 * - Null: a missing field reads as null; most operators and functions give null when an input is
 *   null; `==`/`!=` compare with null normally; ordering comparisons with null are false; the
 *   boolean operators read null as false. See `docs/expressions.md` for the full rules.
 *
 * @example
 * ```ts
 * import * as Expression from "./src/expr/Expression.ts"
 * const compiled = Expression.compilePredicate("country in ['DE', 'FR'] and not deleted")
 * if (compiled.ok) records.filter(compiled.test)
 * ```
 * @since 0.1.0
 */
import { RecordError } from "../Errors.ts"
import { CompileFailure, type Compiled, compileNode } from "./internal/compiler.ts"
import { FUNCTION_NAMES, FUNCTIONS } from "./internal/functions.ts"
import { type Node, parse } from "./internal/parser.ts"
import { describe, ExprTypeError, T_BOOL } from "./internal/values.ts"

/**
 * A compiled expression: `evaluate` maps a record to a value (`null`, boolean, number, string,
 * or a value taken from the record). It throws a `RecordError` on a run-time type error.
 *
 * @category models
 * @since 0.1.0
 */
export interface CompiledExpression {
  readonly ok: true
  readonly source: string
  readonly evaluate: (record: unknown) => unknown
}

/**
 * A compiled condition: `test` is true exactly when the expression gives `true` (null and false
 * both reject the record).
 *
 * @category models
 * @since 0.1.0
 */
export interface CompiledPredicate {
  readonly ok: true
  readonly source: string
  readonly test: (record: unknown) => boolean
}

/**
 * An expression that does not compile: what is wrong, and the 1-based column inside the
 * expression text where it is.
 *
 * @category models
 * @since 0.1.0
 */
export interface CompileError {
  readonly ok: false
  readonly message: string
  readonly column: number
}

/**
 * One function of the whitelist, for documentation and `--help` output.
 *
 * @category models
 * @since 0.1.0
 */
export interface FunctionInfo {
  readonly name: string
  readonly signature: string
  readonly description: string
}

/**
 * The functions an expression may call, sorted by name.
 *
 * @category getters
 * @since 0.1.0
 */
export const functions: ReadonlyArray<FunctionInfo> = FUNCTION_NAMES.map((name) => ({
  name,
  signature: FUNCTIONS[name].signature,
  description: FUNCTIONS[name].description
}))

const toRecordError = (source: string, e: ExprTypeError, record: unknown): RecordError =>
  new RecordError({ detail: `expression \`${source}\`: ${e.message} (column ${e.column})`, record })

/** Wraps a closure that may throw an {@link ExprTypeError} so that it throws a `RecordError`. */
const guarded = <A>(source: string, f: (record: unknown) => A): ((record: unknown) => A) => (record) => {
  try {
    return f(record)
  } catch (e) {
    if (e instanceof ExprTypeError) throw toRecordError(source, e, record)
    throw e
  }
}

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

/**
 * Compiles an expression once. Returns the evaluator, or a {@link CompileError} with the column
 * of the problem (e.g. `unknown function 'lowr' (did you mean 'lower'?)`).
 *
 * @example
 * ```ts
 * const total = Expression.compile("round(price * quantity, 2)")
 * if (total.ok) total.evaluate({ price: 2.5, quantity: 3 }) // 7.5
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const compile = (text: string): CompiledExpression | CompileError => {
  const c = build(text)
  if ("ok" in c) return c
  return { ok: true, source: text, evaluate: c.throws ? guarded(text, c.ev) : c.ev }
}

/**
 * Compiles a condition: like {@link compile}, but the expression must be able to give a boolean
 * (a condition that can only give a number or a string is a compile error), and the result is a
 * predicate. A record is kept when the condition gives `true`; `false` and `null` reject it; any
 * other value at run time throws a `RecordError`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const compilePredicate = (text: string): CompiledPredicate | CompileError => {
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

/**
 * Renders a compile error as `message at column N`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatError = (error: CompileError): string => `${error.message} at column ${error.column}`
