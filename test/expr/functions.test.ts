/** Every function of the expression whitelist: results, null handling, and type errors. */
import { assert, describe, it } from "@effect/vitest"
import { RecordError } from "../../src/Errors.ts"
import * as Expression from "../../src/expr/Expression.ts"
import { compileError, ev, thrown } from "./support.ts"

const r = {
  name: "  Ann Lee  ",
  word: "Hello",
  n: -2.5,
  xs: [3, 1, 2],
  when: new Date("2024-05-01T12:00:00.000Z"),
  nested: { a: 1 }
}

describe("Expression functions", () => {
  it("string case and trimming", () => {
    assert.strictEqual(ev("lower(word)", r), "hello")
    assert.strictEqual(ev("upper(word)", r), "HELLO")
    assert.strictEqual(ev("trim(name)", r), "Ann Lee")
    assert.strictEqual(ev("lower(missing)", r), null)
  })
  it("length of strings and lists", () => {
    assert.strictEqual(ev("length(word)", r), 5)
    assert.strictEqual(ev("length(xs)", r), 3)
    assert.strictEqual(ev("length('')", r), 0)
    assert.strictEqual(ev("length(missing)", r), null)
  })
  it("concat turns values into text and skips nulls", () => {
    assert.strictEqual(ev("concat(word, '-', 1, '-', true, missing)", r), "Hello-1-true")
    assert.strictEqual(ev("concat(when)", r), "2024-05-01T12:00:00.000Z")
    assert.strictEqual(ev("concat(xs, nested)", r), '[3,1,2]{"a":1}')
    assert.strictEqual(ev("concat(missing)", r), "")
  })
  it("coalesce gives the first non-null and evaluates no further", () => {
    assert.strictEqual(ev("coalesce(missing, word, 'x')", r), "Hello")
    assert.strictEqual(ev("coalesce(missing, other)", r), null)
    // the second argument would throw if it were evaluated
    assert.strictEqual(ev("coalesce(word, word * 2)", r), "Hello")
  })
  it("if evaluates one branch; a null condition takes the else branch", () => {
    assert.strictEqual(ev("if(n < 0, 'neg', 'pos')", r), "neg")
    assert.strictEqual(ev("if(missing, 'yes', 'no')", r), "no")
    assert.strictEqual(ev("if(true, 1, word * 2)", r), 1)
  })
  it("abs, round (half away from zero, with digits), floor, ceil", () => {
    assert.strictEqual(ev("abs(n)", r), 2.5)
    assert.strictEqual(ev("round(n)", r), -3)
    assert.strictEqual(ev("round(2.5)", r), 3)
    assert.strictEqual(ev("round(1.2345, 2)", r), 1.23)
    assert.strictEqual(ev("round(1250, -2)", r), 1300)
    assert.strictEqual(ev("floor(n)", r), -3)
    assert.strictEqual(ev("ceil(n)", r), -2)
    assert.strictEqual(ev("abs(missing)", r), null)
    assert.strictEqual(ev("round(missing, 2)", r), null)
    assert.strictEqual(ev("round(1.5, 400)", r), 1.5)
    assert.strictEqual(ev("round(1.5, -400)", r), 0)
  })
  it("min and max over arguments or one list, skipping nulls", () => {
    assert.strictEqual(ev("min(3, missing, 1, 2)", r), 1)
    assert.strictEqual(ev("max(3, missing, 7, 2)", r), 7)
    assert.strictEqual(ev("max(xs)", r), 3)
    assert.strictEqual(ev("min(xs)", r), 1)
    assert.strictEqual(ev("min('b', 'a')", r), "a")
    assert.strictEqual(ev("max(missing, other)", r), null)
  })
  it("contains, starts_with, ends_with", () => {
    assert.strictEqual(ev("contains(word, 'ell')", r), true)
    assert.strictEqual(ev("contains(word, 'xyz')", r), false)
    assert.strictEqual(ev("contains(xs, 2)", r), true)
    assert.strictEqual(ev("contains(xs, '2')", r), false)
    assert.strictEqual(ev("starts_with(word, 'He')", r), true)
    assert.strictEqual(ev("ends_with(word, 'lo')", r), true)
    assert.strictEqual(ev("ends_with(word, 'He')", r), false)
    assert.strictEqual(ev("starts_with(missing, 'a')", r), null)
  })
  it("replace and substring", () => {
    assert.strictEqual(ev("replace('a-b-c', '-', '+')", r), "a+b+c")
    assert.strictEqual(ev("replace(word, 'l', '')", r), "Heo")
    assert.strictEqual(ev("substring(word, 1)", r), "ello")
    assert.strictEqual(ev("substring(word, 1, 3)", r), "ell")
    assert.strictEqual(ev("substring(word, 10)", r), "")
    assert.strictEqual(ev("substring(missing, 1)", r), null)
  })
  it("is_null, to_number, to_string", () => {
    assert.strictEqual(ev("is_null(missing)", r), true)
    assert.strictEqual(ev("is_null(word)", r), false)
    assert.strictEqual(ev("to_number(' 12.5 ')", r), 12.5)
    assert.strictEqual(ev("to_number('-1e3')", r), -1000)
    assert.strictEqual(ev("to_number('')", r), null)
    assert.strictEqual(ev("to_number(true)", r), 1)
    assert.strictEqual(ev("to_number(n)", r), -2.5)
    assert.strictEqual(ev("to_string(n)", r), "-2.5")
    assert.strictEqual(ev("to_string(when)", r), "2024-05-01T12:00:00.000Z")
    assert.strictEqual(ev("to_string(missing)", r), null)
    assert.strictEqual(ev("to_string(1) + '!'", r), "1!")
  })
  it("type errors at run time throw a RecordError", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["upper(n)", "upper() expects a string, got number -2.5"],
      ["length(n)", "length() expects a string or a list, got number -2.5"],
      ["abs(word)", "abs() expects a number, got string 'Hello'"],
      ["round(n, 1.5)", "round() expects an integer number of digits, got number 1.5"],
      ["max(word, n)", "cannot compare number -2.5 > string 'Hello'"],
      ["starts_with(n, 'a')", "starts_with() expects a string as its first argument, got number -2.5"],
      ["to_number(word)", "to_number() cannot read string 'Hello' as a number"],
      ["if(word, 1, 2)", "if() expects a boolean condition, got string 'Hello'"],
      ["substring(word, n)", "substring() expects a non-negative integer start, got number -2.5"]
    ]
    for (const [text, message] of cases) {
      const e = thrown(text, r)
      assert.instanceOf(e, RecordError, text)
      assert.include((e as RecordError).detail, message, text)
    }
  })
  it("wrong argument counts and constant type errors are compile errors", () => {
    assert.deepStrictEqual(compileError("lower(a, b)"), { ok: false, message: "lower() takes 1 argument, got 2 (lower(s))", column: 1 })
    assert.deepStrictEqual(compileError("x == round()"), {
      ok: false,
      message: "round() takes 1 to 2 arguments, got 0 (round(x, digits = 0))",
      column: 6
    })
    assert.deepStrictEqual(compileError("concat()"), { ok: false, message: "concat() takes at least 1 argument, got 0 (concat(a, b, ...))", column: 1 })
    assert.deepStrictEqual(compileError("lower(42)"), { ok: false, message: "lower() expects a string, got number 42", column: 1 })
  })
  it("lists every function with a signature", () => {
    const names = Expression.functions.map((f) => f.name)
    for (const name of ["lower", "upper", "trim", "length", "concat", "coalesce", "abs", "round", "floor", "ceil", "min", "max", "contains", "starts_with", "ends_with", "is_null", "to_number", "to_string"]) {
      assert.include(names, name)
    }
    assert.deepStrictEqual(names, [...names].sort())
  })
})
