/**
 * Fuzzing the expression language (issue 21): random token streams — real tokens, keywords,
 * unbalanced brackets, stray characters, deep nesting — must compile to an expression or to a
 * `CompileError` whose column lies in the text, never throw; and an expression that compiles,
 * evaluated on random records (every JSON shape, dates, bigints as `big_integers: bigint` reads
 * them, odd keys), returns a value or throws the `RecordError` of a type error — nothing else.
 * The seed corpus (test/fuzz/corpus/expr, one expression a line) runs first. Well-typed trees
 * against the reference interpreter: test/expr/reference.test.ts.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { RecordError } from "../../src/Errors.ts"
import * as Expression from "../../src/expr/Expression.ts"
import { numRuns, timeoutFor } from "../support/effectProperty.ts"

const CORPUS = join(import.meta.dirname, "../../test/fuzz/corpus/expr/expressions.txt")

const TOKENS = [
  "a", "b", "s", "n", "d", "big", "nested", "list", "`and`", "`we ird`", "$", "true", "false", "null", "and", "or", "not", "in",
  "0", "1", "2.5", "1e999", "-1", "9007199254740993", "0x10", "'x'", "'it''s'", '"q"', "'", '"', "`",
  "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!", ".", ",", "(", ")", "[", "]",
  "lower", "upper", "length", "abs", "coalesce", "if", "round", "concat", "contains", "starts_with", "nosuchfn",
  "\u0000", "\u001b", "é", "🙂", "#", "@", ";", "\\", "{", "}", "=", "&", "|"
]

const streamArb = fc.array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom("", " ", "", "\t")), { maxLength: 14 })
  .map((ts) => ts.map(([t, s]) => t + s).join(""))

const deepArb = fc.tuple(fc.integer({ min: 150, max: 400 }), fc.constantFrom(["(", ")"], ["-(", ")"], ["lower(", ")"], ["[", "]"], ["!", ""]))
  .map(([d, [open, close]]) => `${open.repeat(d)}a${close.repeat(d)}`)

const recordArb = fc.record({
  a: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.boolean()),
  b: fc.oneof(fc.integer(), fc.bigInt(), fc.string()),
  s: fc.oneof(fc.string(), fc.integer()),
  n: fc.oneof(fc.integer(), fc.constant(Number.NaN), fc.constant(Number.POSITIVE_INFINITY)),
  d: fc.oneof(fc.date({ noInvalidDate: true }), fc.string()),
  big: fc.bigInt(),
  nested: fc.jsonValue({ maxDepth: 3 }),
  list: fc.array(fc.oneof(fc.integer(), fc.string(), fc.bigInt()), { maxLength: 3 }),
  and: fc.integer(),
  "we ird": fc.string()
}, { requiredKeys: [] })

/** Compiles and evaluates `text`; returns what went wrong when the outcome is not allowed. */
const check = (text: string, records: ReadonlyArray<unknown>): string | undefined => {
  let compiled: ReturnType<typeof Expression.compile>
  try {
    compiled = Expression.compile(text)
  } catch (e) {
    return `compile threw ${String(e)}`
  }
  if (!compiled.ok) {
    if (!(compiled.column >= 1 && compiled.column <= text.length + 1)) return `column ${compiled.column} outside the text`
    if (compiled.message.length === 0) return "an empty message"
    return undefined
  }
  for (const record of records) {
    try {
      compiled.evaluate(record)
    } catch (e) {
      if (!(e instanceof RecordError)) return `evaluate threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} on ${String(record)}`
    }
  }
  return undefined
}

describe("expression fuzz", () => {
  it("the seed corpus compiles or fails cleanly, and evaluates or fails with a RecordError", () => {
    const records = fc.sample(recordArb, { numRuns: 30, seed: 21 })
    for (const line of readFileSync(CORPUS, "utf8").split("\n")) {
      if (line.length === 0) continue
      const problem = check(line, records)
      assert.isUndefined(problem, `${line}: ${problem}`)
    }
  })

  it("random token streams and deep nesting: only CompileErrors at compile time, only RecordErrors at run time", () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: streamArb }, { weight: 1, arbitrary: deepArb }), fc.array(recordArb, { minLength: 1, maxLength: 4 }), (text, records) => {
        const problem = check(text, records)
        assert.isUndefined(problem, `${JSON.stringify(text)}: ${problem}`)
      }),
      { numRuns: numRuns(3000) }
    )
  }, timeoutFor(numRuns(3000), 50, 60_000))
})
