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
 * import { Expression } from "dataflare"
 * const compiled = Expression.compilePredicate("country in ['DE', 'FR'] and not deleted")
 * if (compiled.ok) records.filter(compiled.test)
 * ```
 * @since 0.1.0
 */
import { type DefinitionSite, RecordError } from "../Errors.ts"
import { makeCompiler } from "./internal/compile.ts"
import { FUNCTION_NAMES, FUNCTIONS } from "./internal/functions.ts"
import { type FieldRead, fieldsRead as readFields } from "./internal/fields.ts"

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

/**
 * Options of {@link compile} and {@link compilePredicate}.
 *
 * @category models
 * @since 0.1.0
 */
export interface CompileOptions {
  /**
   * Where the expression is written, at a 1-based column inside it (see `MakeContext.site`): a
   * run-time type error's `RecordError` then names that place (`definition`), so the message
   * reads `orders.yaml:14:22 transformations.large.config.condition: ...`.
   */
  readonly site?: ((column: number) => DefinitionSite) | undefined
}

/** The compiler of the facade: a run-time type error throws a `RecordError`. */
const compiler = makeCompiler((detail, record) => new RecordError({ detail, record }))

/** A compiler whose `RecordError`s name where the expression is written. */
const compilerAt = (site: (column: number) => DefinitionSite) =>
  makeCompiler((detail, record, column) => new RecordError({ detail, record, definition: site(column) }))

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
export const compile = (text: string, options?: CompileOptions): CompiledExpression | CompileError =>
  options?.site !== undefined ? compilerAt(options.site).compile(text) : compiler.compile(text)

/**
 * Compiles a condition: like {@link compile}, but the expression must be able to give a boolean
 * (a condition that can only give a number or a string is a compile error), and the result is a
 * predicate. A record is kept when the condition gives `true`; `false` and `null` reject it; any
 * other value at run time throws a `RecordError`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const compilePredicate = (text: string, options?: CompileOptions): CompiledPredicate | CompileError =>
  options?.site !== undefined ? compilerAt(options.site).compilePredicate(text) : compiler.compilePredicate(text)

/**
 * Renders a compile error as `message at column N`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatError = (error: CompileError): string => `${error.message} at column ${error.column}`

/**
 * The record fields an expression reads at its root, with the column where each is named
 * (`address` for `address.city`, `first name` for `` `first name` `` and `$['first name']`);
 * `undefined` when the text does not parse. What a check of an expression against the fields of
 * the records it will see needs (`Runtime.prepare` does one where a source declares its fields).
 *
 * @example
 * ```ts
 * Expression.fieldsRead("amout >= 3 && lower(status) == 'x'") // [{ name: "amout", column: 1 }, { name: "status", column: 22 }]
 * ```
 * @category introspection
 * @since 0.1.0
 */
export const fieldsRead: (text: string) => ReadonlyArray<FieldRead> | undefined = readFields

/**
 * A root field an expression reads (see {@link fieldsRead}).
 *
 * @category models
 * @since 0.1.0
 */
export type { FieldRead } from "./internal/fields.ts"
