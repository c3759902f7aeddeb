/**
 * The CSV rows a range thread writes for a `csv` sink (`csvRowsOf`, `Batch.CsvRowsEncoded`) are
 * byte for byte what the `csv` codec writes for the same records and columns
 * (`CsvFormat.formatRows`), and read back (`parseRows`, with each value's kind) they are the very
 * records: strings with quotes, commas, line breaks and any Unicode, empty strings, numbers of
 * every size and -0, booleans, null, bigints; one column or several.
 */
import { Buffer } from "node:buffer"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { CsvRowsEncoded } from "../src/Batch.ts"
import { formatRows } from "../src/connectors/csv/CsvFormat.ts"
import { parseRows } from "../src/connectors/kit/internal/rangeThread.ts"
import { csvRowsOf } from "../src/workers/internal/rangeChain.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

const value = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.constantFrom("", '"', "a,b", "line\nbreak", "cr\r\nlf", " padded ", '""'),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constant(-0),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n })
)

const batch = fc.integer({ min: 1, max: 5 }).chain((k) =>
  fc.array(fc.array(value, { minLength: k, maxLength: k }), { minLength: 1, maxLength: 20 }).map((rows) => {
    const columns = Array.from({ length: k }, (_, i) => (i === 0 ? "id" : `c${i}`))
    return { columns, records: rows.map((row) => Object.fromEntries(row.map((v, i) => [columns[i], v]))) }
  })
)

const runs = numRuns(300)

describe("CSV rows written on a range thread", () => {
  it("are the csv codec's lines for the same records, and read back as the very records", () => {
    fc.assert(
      fc.property(batch, ({ columns, records }) => {
        const rows = csvRowsOf(records)
        assert.isDefined(rows)
        if (rows === undefined) return
        assert.deepStrictEqual(rows.columns, columns)
        assert.strictEqual(Buffer.from(rows.bytes).toString("utf8"), formatRows(records, 0, records.length, columns, ","))
        const encoded: CsvRowsEncoded = { format: "application/x-csv-rows", bytes: rows.bytes, delimiter: ",", columns, types: rows.types }
        const back = parseRows(encoded, records.length)
        assert.strictEqual(back.length, records.length)
        for (let r = 0; r < records.length; r++) {
          for (const c of columns) assert.isTrue(Object.is(back[r][c], records[r][c]), `${c} of record ${r}: ${String(back[r][c])} vs ${String(records[r][c])}`)
          assert.deepStrictEqual(Object.keys(back[r]), columns)
        }
      }),
      { numRuns: runs }
    )
  }, timeoutFor(runs, 20, 30_000))
})
