/** Compile errors: messages and exact 1-based columns inside the expression text. */
import { assert, describe, it } from "@effect/vitest"
import * as Expression from "../../src/expr/Expression.ts"
import { compileError } from "./support.ts"

const cases: ReadonlyArray<readonly [string, string, number]> = [
  ["status == 'active')", "unexpected token ')'", 19],
  ["(amount > 1) && (x))", "unexpected token ')'", 20],
  ["lowr(name) == 'bob'", "unknown function 'lowr' (did you mean 'lower'?)", 1],
  ["a == 1 && uper(b) == 'X'", "unknown function 'uper' (did you mean 'upper'?)", 11],
  ["frobnicate(x)", "unknown function 'frobnicate'", 1],
  ["a === 1", "unknown operator '===' (did you mean '=='?)", 3],
  ["a !== 1", "unknown operator '!==' (did you mean '!='?)", 3],
  ["a = 1", "unknown operator '=' (did you mean '=='?)", 3],
  ["a <> 1", "unknown operator '<>' (did you mean '!='?)", 3],
  ["a & b", "unknown operator '&' (did you mean '&&'?)", 3],
  ["a | b", "unknown operator '|' (did you mean '||'?)", 3],
  ["a ** 2", "unknown operator '**'", 3],
  ["a ? b : c", "unexpected character '?'", 3],
  ["name == 'bob", "unterminated string", 9],
  ["`first name", "unterminated quoted name", 1],
  ["'a\\q'", "unknown escape '\\q' in string", 3],
  ["12abc", "invalid number '12a'", 1],
  // a literal that would not mean what it says (a double holds ±(2^53 − 1) exactly, up to ~1.8e308, down to ~5e-324)
  [
    "id == 9007199254740993",
    "the integer 9007199254740993 is beyond 2^53 − 1 and would be read as 9007199254740992; numbers are 64-bit floats (compare a big integer field as text: to_string(field) == '9007199254740993')",
    7
  ],
  ["x > 1e400", "the number 1e400 is beyond the range of a double (about ±1.8e308)", 5],
  ["x > 0.5e-400", "the number 0.5e-400 is too small for a double (it would read as 0)", 5],
  ["", "empty expression", 1],
  ["   ", "empty expression", 1],
  ["a ==", "unexpected end of expression", 5],
  ["(a == 1", "expected ')' to close '(', got end of expression", 8],
  ["[1, 2", "expected ',' or ']' in the list, got end of expression", 6],
  ["f(1 2)", "expected ',' or ')' in the argument list, got '2'", 5],
  ["a.", "expected a field name after '.', got end of expression", 3],
  ["a.1", "expected a field name after '.', got '1'", 3],
  ["1 < a < 3", "comparisons cannot be chained: use '&&' between them (at '<')", 7],
  ["a(b)(c)", "unexpected '(': only functions can be called, by name (e.g. lower(name))", 5],
  ["x.y(1)", "unexpected '(': only functions can be called, by name (e.g. lower(name))", 4],
  ["in == 1", "unexpected keyword 'in' (a field of that name is written `in`)", 1],
  ["'a' * 2", "'*' cannot be applied to a string value", 5],
  ["amount + true", "'+' cannot be applied to a boolean value", 8],
  ["(a > 1) - 1", "'-' cannot be applied to a boolean value", 9],
  ["a && 1", "'&&' cannot be applied to a number value", 3],
  ["not 'x'", "'not' cannot be applied to a string value", 1],
  ["x in 'abc'", "'in' cannot be applied to a string value", 3],
  ["'a' + 1", "cannot add string 'a' and number 1 ('+' adds two numbers or joins two strings; use concat() or to_string())", 5],
  ["1 < 'a'", "cannot compare number 1 < string 'a'", 3]
]

describe("Expression compile errors", () => {
  for (const [text, message, column] of cases) {
    it(`${JSON.stringify(text)} → ${message} at column ${column}`, () => {
      assert.deepStrictEqual(compileError(text), { ok: false, message, column })
    })
  }
  it("formatError renders the column", () => {
    assert.strictEqual(Expression.formatError(compileError("a == 1)")), "unexpected token ')' at column 7")
  })
  it("refuses trees nested too deeply to evaluate safely, without overflowing the stack", () => {
    const message = "expression is nested too deeply (more than 200 levels)"
    assert.deepStrictEqual(compileError(`${"(".repeat(100_000)}1${")".repeat(100_000)}`), { ok: false, message, column: 1 })
    assert.deepStrictEqual(compileError(Array.from({ length: 500 }, () => "a").join(" + ")), { ok: false, message, column: 1 })
    assert.deepStrictEqual(compileError(`${"-".repeat(300)}x`), { ok: false, message, column: 1 })
    // 150 terms are fine
    const sum = Expression.compile(Array.from({ length: 150 }, () => "a").join(" + "))
    assert.isTrue(sum.ok && sum.evaluate({ a: 2 }) === 300)
  })
  it("columns count from the start of the text, including leading spaces", () => {
    assert.strictEqual(compileError("   x ==== 1").column, 6)
  })
})
