/**
 * Reading COPY text (no server): field splitting, escapes, NULLs, wrong field counts, array text.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Column } from "../../../src/connectors/postgres/internal/catalog.ts"
import { decodeRows, FieldError, lastRowFields, unescapeField } from "../../../src/connectors/postgres/internal/copyOut.ts"
import { fieldError } from "../../../src/connectors/postgres/internal/tableRead.ts"
import { decoderOf, OID, parseArray } from "../../../src/connectors/postgres/internal/values.ts"

const text: (s: string) => unknown = (s) => s
const int = decoderOf({ _tag: "Scalar", oid: OID.int4, name: "int4" }, "bigint")

describe("COPY text", () => {
  it("splits rows and fields, unescapes only escaped fields, reads \\N as null", () => {
    const bytes = Buffer.from("1\ta\\tb\\\\c\\n\t\\N\n2\t\\\\N\t\n3\t\t\\\\\n")
    const rows = decodeRows(bytes, ["id", "s", "t"], [int, text, text])
    assert.deepStrictEqual(rows, [
      { id: 1, s: "a\tb\\c\n", t: null },
      { id: 2, s: "\\N", t: "" },
      { id: 3, s: "", t: "\\" }
    ])
    assert.deepStrictEqual(lastRowFields(bytes), ["3", "", "\\"])
  })

  it("a row with too few or too many fields, or a value that does not decode, is a FieldError naming row and column", () => {
    for (const [input, row, column] of [["1\ta\n2\n", 1, 0], ["1\ta\n2\tb\tc\n", 1, 1], ["1\ta\nx\tb\n", 1, 0]] as const) {
      try {
        decodeRows(Buffer.from(input), ["id", "s"], [int, text])
        assert.fail(`no error for ${JSON.stringify(input)}`)
      } catch (e) {
        assert.instanceOf(e, FieldError)
        assert.strictEqual((e as FieldError).row, row, input)
        assert.strictEqual((e as FieldError).column, column, input)
      }
    }
  })

  it("unescapes every COPY escape", () => {
    assert.strictEqual(unescapeField("a\\b\\f\\v\\r\\n\\t\\\\\\101\\x41z"), "a\b\f\v\r\n\t\\AAz")
    assert.strictEqual(unescapeField("plain"), "plain")
  })

  it("reads array text: nesting, quoting, NULL, delimiters, bounds", () => {
    assert.deepStrictEqual(parseArray('{{1,NULL},{"2",3}}', 44, int, "int4[]"), [[1, null], [2, 3]])
    assert.deepStrictEqual(parseArray('{"a\\"b","NULL",NULL,"",x y}', 44, text, "text[]"), ['a"b', "NULL", null, "", "x y"])
    assert.deepStrictEqual(parseArray("{(1,1),(0,0);(2,2),(1,1)}", 59, text, "box[]"), ["(1,1),(0,0)", "(2,2),(1,1)"])
    assert.deepStrictEqual(parseArray("{}", 44, int, "int4[]"), [])
    assert.strictEqual(parseArray("[0:1]={1,2}", 44, int, "int4[]"), "[0:1]={1,2}")
    assert.throws(() => parseArray("{1,2", 44, int, "int4[]"))
  })

  it("a value that does not decode is a RecordError naming table, row key and column", () => {
    const col = (name: string, type: string, pk: number | null): Column => ({ name, type, typname: "", element: null, notNull: false, pk, oid: 0 })
    const columns = [col("k1", "text", 1), col("n", "integer", null), col("k2", "integer", 2)]
    let error: unknown
    try {
      decodeRows(Buffer.from("a\t1\t1\nb\tx\t2\n"), ["k1", "n", "k2"], [text, int, int])
    } catch (e) {
      error = e
    }
    assert.instanceOf(error, FieldError)
    const plan = { table: "crm.t", query: undefined, columns, key: ["k1", "k2"], cursor: undefined, partition: undefined }
    const record = fieldError(plan, error as FieldError, 41)
    assert.strictEqual(record._tag, "RecordError")
    assert.strictEqual(record.field, "n")
    assert.strictEqual(record.message, `field 'n': table 'crm.t', row (k1, k2)=(b, 2), column 'n' (integer): cannot read "x" as integer`)
    const query = fieldError({ ...plan, table: undefined, key: [] }, error as FieldError, 41)
    assert.include(query.message, "query, row 42, column 'n'")
  })
})
