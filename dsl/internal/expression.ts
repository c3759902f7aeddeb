/**
 * Type-level check of expression steps (`.filter(id, "amount >= 3")`, `.mapFields(id, { … })`):
 * the fields an expression reads must be fields of the records reaching the step, so
 * `"amout >= 3"` on typed records is a compile error instead of a filter that drops everything
 * (a missing field reads as null).
 *
 * The scan finds the **root** fields an expression names: identifiers (and backticked names)
 * outside string literals, not after a `.` (a path step inside a field), not keywords, not
 * numbers, and not function names (a field that has a function's name is not checked). It is a
 * scanner, not the parser: an expression it misreads is still compiled and checked when the
 * workflow is prepared. Records whose type does not list its fields (`unknown`, an index
 * signature) are not checked. One step of type recursion per character (tail-recursive, so
 * expressions up to ~1,000 characters).
 *
 * @since 0.1.0
 */
import type { CompileError } from "./types.ts"

type Lower =
  | "a" | "b" | "c" | "d" | "e" | "f" | "g" | "h" | "i" | "j" | "k" | "l" | "m"
  | "n" | "o" | "p" | "q" | "r" | "s" | "t" | "u" | "v" | "w" | "x" | "y" | "z"
type Letter = Lower | Uppercase<Lower> | "_"
type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"

type Keyword = "and" | "or" | "not" | "in" | "true" | "false" | "null"

type FunctionName =
  | "lower" | "upper" | "trim" | "length" | "concat" | "coalesce" | "if" | "abs" | "floor" | "ceil"
  | "round" | "min" | "max" | "contains" | "starts_with" | "ends_with" | "replace" | "substring"
  | "is_null" | "to_number" | "to_string"

/** The token read so far, as a root field name when it is one. */
type Root<Token extends string, AfterDot extends boolean> = AfterDot extends true ? never
  : Token extends `${Letter}${string}` ? (Token extends Keyword | FunctionName ? never : Token)
  : never

/** Skips a string literal up to its closing quote `Q` (a backslash escapes the next character). */
type SkipString<S extends string, Q extends string, Acc extends string> = S extends `${infer C}${infer Rest}`
  ? C extends "\\" ? (Rest extends `${string}${infer After}` ? SkipString<After, Q, Acc> : Acc)
  : C extends Q ? Scan<Rest, "", false, Acc>
  : SkipString<Rest, Q, Acc>
  : Acc

/** Reads a backticked name up to the closing backtick. */
type Backticked<S extends string, Name extends string, AfterDot extends boolean, Acc extends string> = S extends
  `${infer C}${infer Rest}` ? C extends "`" ? Scan<Rest, "", false, Acc | (AfterDot extends true ? never : Name)>
  : C extends "\\" ? (Rest extends `${infer N}${infer After}` ? Backticked<After, `${Name}${N}`, AfterDot, Acc> : Acc)
  : Backticked<Rest, `${Name}${C}`, AfterDot, Acc>
  : Acc

/**
 * The root field names in `S`: `Token` is the identifier being read, `AfterDot` whether it
 * follows a `.`, `Acc` the names found.
 */
type Scan<S extends string, Token extends string, AfterDot extends boolean, Acc extends string> = S extends
  `${infer C}${infer Rest}` ? C extends Letter | Digit ? Scan<Rest, `${Token}${C}`, AfterDot, Acc>
  : C extends "'" | "\"" ? SkipString<Rest, C, Acc | Root<Token, AfterDot>>
  : C extends "`" ? Backticked<Rest, "", Token extends "" ? AfterDot : false, Acc | Root<Token, AfterDot>>
  : C extends "(" ? Scan<Rest, "", false, Acc> // a function call
  : C extends " " | "\t" | "\n" | "\r" ? (Token extends "" ? Scan<Rest, "", AfterDot, Acc> : Scan<Rest, "", false, Acc | Root<Token, AfterDot>>)
  : Scan<Rest, "", C extends "." ? true : false, Acc | Root<Token, AfterDot>>
  : Acc | Root<Token, AfterDot>

/**
 * The root field names an expression reads.
 *
 * @category type-level
 * @since 0.1.0
 */
export type FieldsRead<S extends string> = string extends S ? never : Scan<S, "", false, never>

/** Every field name of a record type (of any member of a union); `string` when it does not list them. */
type KnownNames<A> = unknown extends A ? string : A extends unknown ? keyof A : never

/**
 * `unknown` when every field `expression` reads is a field of `A`, else a {@link CompileError}
 * naming the step and the first unknown field.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ReadsKnownFields<What extends string, A, Expression extends string> = string extends KnownNames<A> ? unknown
  : [Exclude<FieldsRead<Expression>, KnownNames<A>>] extends [never] ? unknown
  : CompileError<`${What}: the records have no field '${Exclude<FieldsRead<Expression>, KnownNames<A>> & string}'`>

/**
 * {@link ReadsKnownFields} over the expressions of a `mapFields` step.
 *
 * @category type-level
 * @since 0.1.0
 */
export type FieldsReadKnown<What extends string, A, F> = ReadsKnownFields<What, A, F[keyof F] & string>
