/**
 * The Buffer encoder of COPY text (`copyText.ts`) against a plain string encoder written from the
 * format's definition: equal bytes for arbitrary rows of every kind of value the sink writes
 * (null, strings with tabs/newlines/backslashes/non-ASCII/surrogates, integers and floats,
 * bigints, booleans, dates, JSON, arrays, bytes), with and without the staging columns.
 */
import { describe, it } from "@effect/vitest"
import { assert } from "@effect/vitest"
import fc from "fast-check"
import { type Encoding, encodeValue, type StageTag } from "../../../src/connectors/postgres/internal/copy.ts"
import { encodeTextRows } from "../../../src/connectors/postgres/internal/copyText.ts"

type Row = { readonly [k: string]: unknown }

/** COPY text of one value by the definition: `\N`, or the value's text with `\`, LF, CR, TAB escaped. */
const reference = (v: unknown, encoding: Encoding): string => {
  if (v === null || v === undefined) return "\\N"
  if (encoding === "scalar" && typeof v === "string") return v.replace(/[\\\n\r\t]/g, (c) => ({ "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!)
  if (encoding === "scalar" && typeof v === "number") return String(v)
  if (encoding === "scalar" && typeof v === "boolean") return v ? "t" : "f"
  return encodeValue(v, encoding)
}

const referenceRows = (rows: ReadonlyArray<Row>, columns: ReadonlyArray<string>, encodings: ReadonlyArray<Encoding>, ops: ReadonlyArray<"u" | "d"> | undefined, staged: boolean, tag: StageTag | undefined): Buffer => {
  let out = ""
  rows.forEach((row, r) => {
    const fields = columns.map((c, i) => reference(row[c], encodings[i]))
    if (staged) fields.push(ops === undefined ? "u" : ops[r], String(r))
    if (tag !== undefined) fields.push(String(tag.epoch), String(tag.shape))
    out += fields.join("\t") + "\n"
  })
  return Buffer.from(out, "utf8")
}

const text = fc.oneof(
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: fc.constantFrom("a", "\t", "\n", "\r", "\\", "N", "é", "€", "😀", "\ud800", "\udc00", "\0") }),
  fc.string({ unit: "binary" })
)
const scalar = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  text,
  fc.integer(),
  fc.integer({ min: -20, max: 20 }),
  fc.double(),
  // decimals of a few places, as a CSV number column gives them (and their neighbours)
  fc.tuple(fc.integer({ min: -1e12, max: 1e12 }), fc.constantFrom(1, 10, 100, 1000, 10000, 100000)).map(([m, p]) => m / p),
  fc.tuple(fc.integer(), fc.constantFrom(10, 100, 1000)).map(([m, p]) => m / p + Number.EPSILON * (m % 7)),
  fc.maxSafeInteger(),
  fc.bigInt(),
  fc.boolean(),
  fc.date({ noInvalidDate: true })
)
const json = fc.oneof(fc.constant(null), fc.jsonValue(), fc.object())
const array = fc.oneof(fc.constant(null), fc.array(fc.oneof(fc.constant(null), text, fc.integer(), fc.array(text, { maxLength: 3 })), { maxLength: 5 }))
const bytes = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 20 }), fc.string())

const COLUMNS = ["s", "j", "a", "b", "t"]
const ENCODINGS: ReadonlyArray<Encoding> = ["scalar", "json", "array", "bytea", "scalar"]
const row = fc.record({ s: scalar, j: json, a: array, b: bytes, t: text })

describe("COPY text encoder", () => {
  it("equals the reference encoding byte for byte", () => {
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 40 }),
        fc.constantFrom("plain", "staged", "tag"),
        fc.nat({ max: 2 ** 40 }),
        (rows, variant, epoch) => {
          const ops = rows.map((_, i) => (i % 3 === 0 ? "d" as const : "u" as const))
          const staged = variant === "staged"
          const tag = variant === "tag" ? { epoch, shape: epoch % 7 } : undefined
          const from = Math.min(rows.length, 1)
          const got = encodeTextRows(rows, COLUMNS, ENCODINGS, staged ? ops : undefined, staged, from, rows.length, tag)
          const want = referenceRows(rows.slice(from), COLUMNS, ENCODINGS, staged ? ops.slice(from) : undefined, false, tag)
          if (!staged) return assert.isTrue(got.equals(want), `${got.toString()} != ${want.toString()}`)
          // staged rows carry their index in the whole batch
          const withSeq = referenceRows(rows, COLUMNS, ENCODINGS, ops, true, undefined).toString().split("\n").slice(from).join("\n")
          assert.strictEqual(got.toString("utf8"), withSeq)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("encodes the edge cases by hand", () => {
    const rows = [
      { a: -2147483648, b: 2147483647, c: -0, d: 0.1, e: 1e21, f: -5, g: "tab\there\nnl\\bs\rcr", h: "é€😀", i: "\ud800x", j: true, k: 12345678901234567890n }
    ]
    const numbers = [0.1 + 0.2, -0.05, 448.29, -1234.5678, 99999999999.99, 123456789012.5, 2 ** 53, -(2 ** 53) + 1, 1e-7, 0.0001, 5e-324, Number.NaN, Infinity, -Infinity]
    const encoded = encodeTextRows(numbers.map((n) => ({ n })), ["n"], ["scalar"], undefined, false, 0, numbers.length).toString("utf8")
    assert.strictEqual(encoded, numbers.map((n) => String(n) + "\n").join(""))
    const cols = Object.keys(rows[0])
    const got = encodeTextRows(rows, cols, cols.map(() => "scalar"), undefined, false, 0, 1).toString("utf8")
    assert.strictEqual(got, "-2147483648\t2147483647\t0\t0.1\t1e+21\t-5\ttab\\there\\nnl\\\\bs\\rcr\té€😀\t\ufffdx\tt\t12345678901234567890\n")
    // A buffer that has to grow mid-row.
    const long = "x".repeat(100_000) + "\t"
    const big = encodeTextRows([{ s: long }, { s: long }], ["s"], ["scalar"], undefined, false, 0, 2)
    assert.strictEqual(big.length, 2 * (100_000 + 3))
  })
})
