/**
 * The expression language: literals, paths, operators and their precedence, `in`, null
 * semantics, predicates, and safety (no code reachable from expression text).
 */
import { assert, describe, it } from "@effect/vitest"
import { RecordError } from "../../src/Errors.ts"
import * as Expression from "../../src/expr/Expression.ts"
import { compileError, ev, thrown } from "./support.ts"

describe("Expression literals", () => {
  it("numbers, strings with both quotes and escapes, booleans and null", () => {
    assert.strictEqual(ev("42"), 42)
    assert.strictEqual(ev("3.25"), 3.25)
    assert.strictEqual(ev("1e3"), 1000)
    assert.strictEqual(ev("2.5E-1"), 0.25)
    assert.strictEqual(ev("'single'"), "single")
    assert.strictEqual(ev('"double"'), "double")
    assert.strictEqual(ev("'it\\'s'"), "it's")
    assert.strictEqual(ev('"say \\"hi\\""'), 'say "hi"')
    assert.strictEqual(ev("'a\\nb\\tc\\\\'"), "a\nb\tc\\")
    assert.strictEqual(ev("'\\u00e9'"), "é")
    assert.strictEqual(ev("\"it's\""), "it's")
    assert.strictEqual(ev("true"), true)
    assert.strictEqual(ev("false"), false)
    assert.strictEqual(ev("null"), null)
    assert.deepStrictEqual(ev("[1, 'a', null]"), [1, "a", null])
    assert.deepStrictEqual(ev("[]"), [])
  })
})

describe("Expression fields and paths", () => {
  const record = {
    name: "Ann",
    address: { city: "Berlin", geo: { lat: 52.5 } },
    tags: ["a", "b", "c"],
    "first name": "Ann Marie",
    and: "keyword-named",
    "odd.key": 7,
    nothing: null
  }
  it("reads fields and dotted paths", () => {
    assert.strictEqual(ev("name", record), "Ann")
    assert.strictEqual(ev("address.city", record), "Berlin")
    assert.strictEqual(ev("address.geo.lat", record), 52.5)
  })
  it("reaches keys with odd names through backticks, $[...] and [...]", () => {
    assert.strictEqual(ev("`first name`", record), "Ann Marie")
    assert.strictEqual(ev("$['first name']", record), "Ann Marie")
    assert.strictEqual(ev("$[\"odd.key\"]", record), 7)
    assert.strictEqual(ev("`odd.key`", record), 7)
    assert.strictEqual(ev("`and`", record), "keyword-named")
    assert.strictEqual(ev("address['city']", record), "Berlin")
    assert.strictEqual(ev("address.`city`", record), "Berlin")
    assert.deepStrictEqual(ev("$", { a: 1 }), { a: 1 })
  })
  it("indexes lists by number (0-based), and by a computed key", () => {
    assert.strictEqual(ev("tags[0]", record), "a")
    assert.strictEqual(ev("tags[1 + 1]", record), "c")
    assert.strictEqual(ev("tags[3]", record), null)
    assert.strictEqual(ev("tags[-1]", record), null)
    assert.strictEqual(ev("$[k]", { k: "v", v: 9 }), 9)
    assert.strictEqual(ev("$[k]", { v: 9 }), null)
  })
  it("a missing field, a path through null or through a scalar read as null", () => {
    assert.strictEqual(ev("missing", record), null)
    assert.strictEqual(ev("missing.deeper.still", record), null)
    assert.strictEqual(ev("nothing.x", record), null)
    assert.strictEqual(ev("name.length", record), null)
    assert.strictEqual(ev("tags.length", record), null)
    assert.strictEqual(ev("address.geo.lat.x", record), null)
  })
  it("never reads inherited members (prototype keys read as null)", () => {
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      assert.strictEqual(ev(key, {}), null, key)
      assert.strictEqual(ev(`a.${key}`, { a: {} }), null, key)
      assert.strictEqual(ev(`$['${key}']`, {}), null, key)
    }
    assert.strictEqual(ev("constructor", { constructor: "own" }), "own")
  })
})

describe("Expression operators", () => {
  it("arithmetic with normal precedence and parentheses", () => {
    assert.strictEqual(ev("1 + 2 * 3"), 7)
    assert.strictEqual(ev("(1 + 2) * 3"), 9)
    assert.strictEqual(ev("10 - 4 - 3"), 3)
    assert.strictEqual(ev("2 * 3 % 4"), 2)
    assert.strictEqual(ev("7 % 3"), 1)
    assert.strictEqual(ev("7 / 2"), 3.5)
    assert.strictEqual(ev("-x * 2", { x: 3 }), -6)
    assert.strictEqual(ev("- -x", { x: 3 }), 3)
    assert.strictEqual(ev("2 - -3"), 5)
    assert.strictEqual(ev("a + b * c - d / e", { a: 1, b: 2, c: 3, d: 8, e: 4 }), 5)
  })
  it("division and remainder by zero give null", () => {
    assert.strictEqual(ev("x / 0", { x: 1 }), null)
    assert.strictEqual(ev("x % y", { x: 1, y: 0 }), null)
    assert.strictEqual(ev("coalesce(x / y, -1)", { x: 1, y: 0 }), -1)
  })
  it("+ joins two strings", () => {
    assert.strictEqual(ev("first + ' ' + last", { first: "Ann", last: "Lee" }), "Ann Lee")
  })
  it("comparisons on numbers, strings, booleans and timestamps", () => {
    const r = { n: 5, s: "b", t: new Date("2024-01-02T00:00:00Z"), u: new Date("2024-01-03T00:00:00Z") }
    assert.strictEqual(ev("n == 5", r), true)
    assert.strictEqual(ev("n != 5", r), false)
    assert.strictEqual(ev("n < 6", r), true)
    assert.strictEqual(ev("n <= 5", r), true)
    assert.strictEqual(ev("n > 5", r), false)
    assert.strictEqual(ev("n >= 5", r), true)
    assert.strictEqual(ev("6 > n", r), true)
    assert.strictEqual(ev("s < 'c'", r), true)
    assert.strictEqual(ev("s >= 'b'", r), true)
    assert.strictEqual(ev("t < u", r), true)
    assert.strictEqual(ev("t == u", r), false)
    assert.strictEqual(ev("t == $['t']", r), true)
    assert.strictEqual(ev("false < true"), true)
  })
  it("== does not convert types", () => {
    assert.strictEqual(ev("n == '5'", { n: 5 }), false)
    assert.strictEqual(ev("n != '5'", { n: 5 }), true)
    assert.strictEqual(ev("flag == 1", { flag: true }), false)
    assert.strictEqual(ev("a == b", { a: [1, { x: 2 }], b: [1, { x: 2 }] }), true)
    assert.strictEqual(ev("a == b", { a: { x: 1 }, b: { x: 1, y: 2 } }), false)
  })
  it("boolean operators, as symbols and as words", () => {
    const r = { t: true, f: false }
    assert.strictEqual(ev("t && f", r), false)
    assert.strictEqual(ev("t and t", r), true)
    assert.strictEqual(ev("t || f", r), true)
    assert.strictEqual(ev("f or f", r), false)
    assert.strictEqual(ev("!t", r), false)
    assert.strictEqual(ev("not f", r), true)
  })
  it("precedence: || below &&, && below not, not below comparisons; ! binds tightly", () => {
    const r = { a: true, b: false, c: true, x: 1 }
    assert.strictEqual(ev("a || b && false", r), true)
    assert.strictEqual(ev("(a || b) && false", r), false)
    assert.strictEqual(ev("not x == 2", r), true) // not (x == 2)
    assert.strictEqual(ev("!a == false", r), true) // (!a) == false
    assert.strictEqual(ev("not a and b", r), false) // (not a) and b
    assert.strictEqual(ev("not not a", r), true)
    assert.strictEqual(ev("x + 1 == 2 and x * 2 > 1", r), true)
    assert.strictEqual(ev("a and b or c", r), true)
    assert.strictEqual(ev("a or b and not c", r), true)
  })
  it("&& and || short-circuit: the right side is not evaluated when not needed", () => {
    // 'x' * 2 would throw if evaluated
    assert.strictEqual(ev("false && s * 2 > 1", { s: "x" }), false)
    assert.strictEqual(ev("ok || s * 2 > 1", { ok: true, s: "x" }), true)
  })
  it("in and not in, with list literals and with list fields", () => {
    assert.strictEqual(ev("country in ['DE','FR']", { country: "FR" }), true)
    assert.strictEqual(ev("country in ['DE','FR']", { country: "US" }), false)
    assert.strictEqual(ev("country not in ['DE','FR']", { country: "US" }), true)
    assert.strictEqual(ev("n in [1, 2, 3]", { n: 2 }), true)
    assert.strictEqual(ev("n in [1, 2, 3]", { n: "2" }), false)
    assert.strictEqual(ev("'b' in tags", { tags: ["a", "b"] }), true)
    assert.strictEqual(ev("'z' not in tags", { tags: ["a", "b"] }), true)
    assert.strictEqual(ev("x in [a, b]", { x: 3, a: 1, b: 3 }), true)
    assert.strictEqual(ev("p in [[1, 2]]", { p: [1, 2] }), true)
    assert.strictEqual(ev("x in ['a', 'b'] and y in [1]", { x: "a", y: 1 }), true)
  })
})

describe("Expression null semantics", () => {
  it("arithmetic and negation with null give null", () => {
    for (const text of ["x + 1", "1 - x", "x * 2", "x / 2", "x % 2", "-x", "x + 'a'"]) {
      assert.strictEqual(ev(text, {}), null, text)
    }
  })
  it("== and != compare with null normally; a missing field equals null", () => {
    assert.strictEqual(ev("x == null", {}), true)
    assert.strictEqual(ev("x == null", { x: null }), true)
    assert.strictEqual(ev("x == null", { x: 0 }), false)
    assert.strictEqual(ev("x != null", { x: "" }), true)
    assert.strictEqual(ev("x == y", {}), true)
    assert.strictEqual(ev("x == 'a'", {}), false)
    assert.strictEqual(ev("x != 'a'", {}), true)
  })
  it("ordering comparisons with null are false", () => {
    for (const text of ["x < 1", "x <= 1", "x > 1", "x >= 1", "1 < x", "x < y", "null < 1"]) {
      assert.strictEqual(ev(text, {}), false, text)
    }
  })
  it("boolean operators read null as false; ! and not of null are true", () => {
    assert.strictEqual(ev("!x", {}), true)
    assert.strictEqual(ev("not deleted", {}), true)
    assert.strictEqual(ev("not deleted", { deleted: true }), false)
    assert.strictEqual(ev("x && true", {}), false)
    assert.strictEqual(ev("x || true", {}), true)
    assert.strictEqual(ev("x || false", {}), false)
  })
  it("in: a null value is in a list only if the list holds null; a null list holds nothing", () => {
    assert.strictEqual(ev("x in [1, 2]", {}), false)
    assert.strictEqual(ev("x in [1, null]", {}), true)
    assert.strictEqual(ev("x not in [1, 2]", {}), true)
    assert.strictEqual(ev("1 in xs", {}), false)
    assert.strictEqual(ev("1 not in xs", {}), true)
  })
})

describe("Expression run-time type errors", () => {
  it("throw a RecordError naming the expression, the problem, the column and the record", () => {
    const e = thrown("amount * 2", { amount: "ten" })
    assert.instanceOf(e, RecordError)
    assert.strictEqual((e as RecordError).detail, "expression `amount * 2`: cannot multiply string 'ten' by number 2 (column 8)")
    assert.deepStrictEqual((e as RecordError).record, { amount: "ten" })
  })
  it("cover operators and functions", () => {
    const cases: ReadonlyArray<readonly [string, unknown, string]> = [
      ["a + b", { a: "x", b: 1 }, "cannot add string 'x' and number 1"],
      ["a - b", { a: true, b: 1 }, "cannot subtract boolean true and number 1"],
      ["-a", { a: "x" }, "cannot negate string 'x'"],
      ["a < b", { a: "x", b: 1 }, "cannot compare string 'x' < number 1"],
      ["a >= 1", { a: "x" }, "cannot compare string 'x' >= number 1"],
      ["a && true", { a: 1 }, "'&&' expects booleans, got number 1"],
      ["not a", { a: "yes" }, "'not' expects booleans, got string 'yes'"],
      ["1 in a", { a: "abc" }, "'in' expects a list on its right, got string 'abc' (for text use contains())"],
      ["lower(a)", { a: 42 }, "lower() expects a string, got number 42"],
      ["$[k]", { k: true }, "an index must be a string or a number, got boolean true"]
    ]
    for (const [text, record, message] of cases) {
      const e = thrown(text, record)
      assert.instanceOf(e, RecordError, text)
      assert.include((e as RecordError).detail, message, text)
    }
  })
})

describe("Expression predicates", () => {
  it("keep a record exactly when the condition gives true", () => {
    const p = Expression.compilePredicate("amount >= 10")
    assert.isTrue(p.ok)
    if (!p.ok) return
    assert.strictEqual(p.test({ amount: 10 }), true)
    assert.strictEqual(p.test({ amount: 9 }), false)
    assert.strictEqual(p.test({}), false)
  })
  it("null rejects; a non-boolean value at run time is an error", () => {
    const p = Expression.compilePredicate("coalesce(flag, other)")
    assert.isTrue(p.ok)
    if (!p.ok) return
    assert.strictEqual(p.test({ flag: true }), true)
    assert.strictEqual(p.test({}), false)
    assert.throws(() => p.test({ flag: 3 }), /a condition must give true or false, got number 3/)
  })
  it("a condition that can never be a boolean does not compile", () => {
    const p = Expression.compilePredicate("amount * 2")
    assert.isFalse(p.ok)
    if (p.ok) return
    assert.strictEqual(p.message, "a condition must give true or false, but this expression never does")
  })
})

describe("Expression safety", () => {
  it("text that would run code in JS does not compile or reads null", () => {
    assert.strictEqual(compileError("constructor.constructor('return process')()").column, 24)
    assert.strictEqual(compileError("eval('1')").message, "unknown function 'eval'")
    assert.strictEqual(compileError("process.exit(1)").column, 13)
    assert.strictEqual(compileError("require('fs')").message, "unknown function 'require'")
    assert.strictEqual(ev("this.x", {}), null)
    assert.strictEqual(ev("constructor.constructor", {}), null)
    assert.strictEqual(ev("__proto__.polluted", {}), null)
    assert.strictEqual(ev("$['constructor']['prototype']", {}), null)
    assert.strictEqual(ev("toString", [1]), null)
    assert.strictEqual(ev("`constructor`", {}), null)
    // no pollution either: evaluation only reads
    assert.strictEqual(({} as { polluted?: unknown }).polluted, undefined)
  })
})

describe("Expression compilation", () => {
  it("compiles once: one evaluator serves 100k records without re-parsing", () => {
    const compiled = Expression.compile("status == 'active' && amount * 2 >= 10 && country in ['DE', 'FR']")
    assert.isTrue(compiled.ok)
    if (!compiled.ok) return
    const countries = ["DE", "FR", "US"]
    const records = Array.from({ length: 100_000 }, (_, i) => ({
      status: i % 2 === 0 ? "active" : "idle",
      amount: i % 10,
      country: countries[i % 3]
    }))
    const start = performance.now()
    let kept = 0
    for (const r of records) if (compiled.evaluate(r) === true) kept++
    const ms = performance.now() - start
    const expected = records.filter((r) => r.status === "active" && r.amount * 2 >= 10 && ["DE", "FR"].includes(r.country)).length
    assert.strictEqual(kept, expected)
    // a closure call per record: far below what parsing 100k texts would take (generous bound for slow CI)
    assert.isBelow(ms, 1000)
  })
  it("folds constant parts at compile time", () => {
    assert.strictEqual(ev("upper('a') + lower('B')"), "Ab")
    assert.strictEqual(ev("x in [1 + 1, 3]", { x: 2 }), true)
  })
})
