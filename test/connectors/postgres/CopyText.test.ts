/**
 * The Buffer encoder of COPY text (`copyText.ts`) against a plain string encoder written from the
 * format's definition: equal bytes for arbitrary rows of every kind of value the sink writes
 * (null, strings with tabs/newlines/backslashes/non-ASCII/surrogates, integers and floats,
 * bigints, booleans, dates, JSON, arrays, bytes), with and without the staging columns.
 */
import { describe, it } from "@effect/vitest"
import { assert } from "@effect/vitest"
import fc from "fast-check"
import { type Encoding, encodeValue, type StageTag, ValueError } from "../../../src/connectors/postgres/internal/copy.ts"
import { encodeTextRows } from "../../../src/connectors/postgres/internal/copyText.ts"

type Row = { readonly [k: string]: unknown }

/** COPY text of one value by the definition: `\N`, or the value's text with `\`, LF, CR, TAB escaped. */
const reference = (v: unknown, encoding: Encoding): string => {
  if (v === null || v === undefined) return "\\N"
  if (typeof v === "string") {
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v)) throw new ValueError("c", "lone surrogate")
    return v.replace(/[\\\n\r\t]/g, (c) => ({ "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!)
  }
  if (encoding === "scalar" && typeof v === "number") return Object.is(v, -0) ? "-0" : String(v)
  if (encoding === "scalar" && typeof v === "boolean") return v ? "t" : "f"
  return encodeValue(v, encoding, "c")
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
          let want: Buffer
          try {
            want = referenceRows(rows.slice(from), COLUMNS, ENCODINGS, staged ? ops.slice(from) : undefined, false, tag)
          } catch (e) {
            // a value that cannot go into its column: the encoder refuses the rows too, naming a column
            assert.instanceOf(e, ValueError)
            assert.throws(() => encodeTextRows(rows, COLUMNS, ENCODINGS, staged ? ops : undefined, staged, from, rows.length, tag), ValueError)
            return
          }
          const got = encodeTextRows(rows, COLUMNS, ENCODINGS, staged ? ops : undefined, staged, from, rows.length, tag)
          if (!staged) return assert.isTrue(got.equals(want), `${got.toString()} != ${want.toString()}`)
          // staged rows carry their index in the whole batch
          const withSeq = rows.map((r, i) => i < from ? "" : referenceRows([r], COLUMNS, ENCODINGS, [ops[i]], true, undefined).toString().replace(/\t0\n$/, `\t${i}\n`)).join("")
          assert.strictEqual(got.toString("utf8"), withSeq)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("encodes the edge cases by hand", () => {
    const rows = [
      { a: -2147483648, b: 2147483647, c: -0, d: 0.1, e: 1e21, f: -5, g: "tab\there\nnl\\bs\rcr", h: "é€😀", j: true, k: 12345678901234567890n }
    ]
    const numbers = [0.1 + 0.2, -0.05, 448.29, -1234.5678, 99999999999.99, 123456789012.5, 2 ** 53, -(2 ** 53) + 1, 1e-7, 0.0001, 5e-324, Number.NaN, Infinity, -Infinity]
    const encoded = encodeTextRows(numbers.map((n) => ({ n })), ["n"], ["scalar"], undefined, false, 0, numbers.length).toString("utf8")
    assert.strictEqual(encoded, numbers.map((n) => String(n) + "\n").join(""))
    assert.strictEqual(encodeTextRows([{ n: -0 }], ["n"], ["scalar"], undefined, false, 0, 1).toString("utf8"), "-0\n")
    // a lone surrogate has no UTF-8 form: the row is refused, naming the column (no U+FFFD)
    assert.throws(() => encodeTextRows([{ s: "\ud800x" }], ["s"], ["scalar"], undefined, false, 0, 1), /column 's'/)
    // values that cannot go into their column
    assert.throws(() => encodeValue({ years: 1 }, "scalar", "iv"), /column 'iv': an object goes only into a json, jsonb or array column/)
    assert.throws(() => encodeValue(Number.NaN, "json", "j"), /column 'j': NaN has no JSON form/)
    assert.throws(() => encodeValue(5, "array", "a"), /column 'a'/)
    // strings go verbatim into every kind of column, JSON text included
    assert.strictEqual(encodeValue('{"a": 1,  "a": 2}', "json", "j"), '{"a": 1,  "a": 2}')
    assert.strictEqual(encodeValue({ a: 12345678901234567890n, b: [1.5, null] }, "json", "j"), '{"a":12345678901234567890,"b":[1.5,null]}')
    assert.strictEqual(encodeValue([[1, -0], [Number.NaN, null]], "array", "a"), '{{"1","-0"},{"NaN",NULL}}')
    const cols = Object.keys(rows[0])
    const got = encodeTextRows(rows, cols, cols.map(() => "scalar"), undefined, false, 0, 1).toString("utf8")
    assert.strictEqual(got, "-2147483648\t2147483647\t-0\t0.1\t1e+21\t-5\ttab\\there\\nnl\\\\bs\\rcr\té€😀\tt\t12345678901234567890\n")
    // A buffer that has to grow mid-row.
    const long = "x".repeat(100_000) + "\t"
    const big = encodeTextRows([{ s: long }, { s: long }], ["s"], ["scalar"], undefined, false, 0, 2)
    assert.strictEqual(big.length, 2 * (100_000 + 3))
  })
})
