/**
 * Lazy conversion in the CSV range threads (`lazyLines.ts`) against the record path it replaces:
 * on generated files with typed columns (integers, numbers, booleans, timestamps — with leading
 * zeros, `+1`, `1e3`, `-0`, spaces, empty fields, quoted fields, zones, values that do not exist
 * or do not convert) and generated filters (on typed and string columns, through `$['x']` and
 * `$.x`, some that fail at run time, some reading the whole record), both readers of one range
 * answer the same batches: the same NDJSON bytes, positions and ends — or fail with the same
 * failure (the same detail, line, field, record) — with `\n` or `\r\n` line ends, multi-byte
 * characters, empty fields, quoted fields holding `""` (string and typed columns) and now and then
 * a field longer than the reader's chunks (some of them full of `""`). Rows of ASCII
 * text are checked on their bytes (`fieldBytes.ts`): those checks agree with the text's on every
 * field they decide. Runs: `DATAFLARE_PROPERTY_RUNS`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { ColumnType } from "../src/connectors/csv/CsvConfig.ts"
import { makeLayout } from "../src/connectors/csv/internal/columns.ts"
import { checkAt, plainAt, quotesOnlyAt, UNSURE, valueAt } from "../src/connectors/csv/internal/fieldBytes.ts"
import { AS_TEXT, canonicalDecimal, check, fieldJson, REFUSED } from "../src/connectors/csv/internal/fieldJson.ts"
import { type RangeBatch, RangeReadError, RangeReader, type RangeWorkerData } from "../src/connectors/csv/internal/range.ts"
import { BOOLEAN, convert, fastUtc, INTEGER, NO_SUCH, NO_SUCH_FORM, NUMBER, OTHER_FORM, TIMESTAMP, UTC_FORM, utcForm } from "../src/connectors/csv/internal/columns.ts"
import { valueJson } from "../src/connectors/kit/internal/recordJson.ts"
import { chainOf, lazyOf, ndjsonOf } from "../src/workers/internal/rangeChain.ts"
import { numRuns, timeoutFor } from "./support/effectProperty.ts"

const runs = numRuns(300)

/** Fields every reader accepts, edge cases of the JSON text among them. */
const GOOD: { readonly [K in ColumnType]: ReadonlyArray<string> } = {
  string: [
    "", "a", "x y", "b,c", "say \"hi\"", "line\nbreak", "é日🙂", "\u0001", "null", "12", " ", "\"", "\"\"", "\"x", "x\"", "a\"b\"c",
    "q\"\\", "\"\t\"", "é\"日\"", "\",\"", "\"\r\n\""
  ],
  integer: ["0", "-0", "+1", "007", "123", "-45", "999999999999999", "-999999999999999", "0000000000000001", "9007199254740991"],
  number: [
    "1.5", "1e3", "-0", "0", "0.0", "0.000001", "0.0000001", "0.0000015", "12.50", "+3.25", ".5", "5.", "007.5", "-0.5", "123456789012345",
    "1234567890123456", "0.123456789012345", "0.1234567890123456", "1.", "1E-7", "-1.5e+300", "0.1", "100"
  ],
  boolean: ["true", "false", "TRUE", "False"],
  timestamp: [
    "2026-01-05T03:15:00Z", "2026-01-05T03:15:00", "2026-01-05T03:15:00.123Z", "2026-01-05T03:15:00.123", "2026-01-05", "2024-02-29",
    "2026-01-05T03:15:00+02:00", "2026-01-05T03:15:00.5-05:30", "2026-01-05 03:15:00", "0100-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"
  ],
  json: ["{\"a\":1}", "[1,2]", "\"s\"", "null"]
}

/** Fields some readers refuse (and some odd ones they may accept): where a reader must fail as the record path does. */
const EDGE: { readonly [K in ColumnType]: ReadonlyArray<string> } = {
  string: ["\"\"", "\"\"\""],
  // (typed fields holding a quote: refused, or converted from their string)
  integer: ["\"1\"", "1\"", "12345678901234567", "9007199254740993", " 1", "1 ", "1.0", "1e3", "abc", "-", "+"],
  number: ["1.7976931348623157e309", "1e-400", "--1", "1,5", "NaN", "Infinity", " 2", ".", "-"],
  boolean: ["yes", " true", "1", "tr\"ue"],
  timestamp: [
    "2023-02-29", "2024-02-30", "2026-01-05T25:00:00Z", "0099-01-01", "2026-01-05t03:15:00z", "20260105", "2026-13-01", "2026-01-05T03:15",
    "2026-01-05T03:15:00.123456Z", "2026-01-05T03:15:60Z", "2026-1-05"
  ],
  json: ["1e400", "{", "12345678901234567890"]
}

/** A field of a column of `type`: mostly good ones, random ones, empty ones, and now and then an edge case. */
const fieldArb = (type: ColumnType, edges: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 1200, arbitrary: fc.constantFrom(...GOOD[type]) },
    {
      weight: 700,
      arbitrary: type === "integer"
        ? fc.integer({ min: -1e6, max: 1e6 }).map(String)
        : type === "number"
        ? fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).map(String), fc.integer({ min: 0, max: 99_999 }).map((n) => String(n / 100)))
        : type === "timestamp"
        ? fc.date({ min: new Date("0100-01-01T00:00:00Z"), max: new Date("9999-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString())
        : type === "boolean"
        ? fc.constantFrom("true", "false")
        : type === "json"
        ? fc.integer().map(String)
        : fc.string({ maxLength: 6 })
    },
    { weight: 80, arbitrary: fc.constant("") },
    // longer than the reader's 4 KiB chunks: a record spans several (ASCII and not)
    { weight: type === "string" ? 3 : 0, arbitrary: fc.constantFrom("x".repeat(9000), "ab,\"c\"\r\n".repeat(700), "é日".repeat(2500), "q\"".repeat(2500)) },
    { weight: edges, arbitrary: fc.constantFrom(...EDGE[type]) }
  )

const TYPES: ReadonlyArray<ColumnType> = ["string", "integer", "number", "boolean", "timestamp"]
const NAMES = ["id", "amount", "flag", "at", "city", "n", "note"]
/** What keeps the record path (now and then in a case): names written out of order or another way, a json column, a duplicate column. */
const SPOILERS = ["toJSON", "1", "__proto__", "json", "duplicate"]

interface Case {
  readonly names: ReadonlyArray<string>
  readonly types: ReadonlyArray<ColumnType>
  readonly required: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
  readonly quoteAll: boolean
  readonly eol: string
  readonly condition: string | undefined
  readonly max: number
}

/** A comparison that holds for some rows of a column of `type` (and fails at run time now and then: a string against a number). */
const compare = (name: string, type: ColumnType): fc.Arbitrary<string> => {
  const field = `\`${name}\``
  switch (type) {
    case "integer":
    case "number":
      return fc.constantFrom(`${field} < 500`, `${field} >= 0 && ${field} < 1e6`, `${field} == null || ${field} > 10`)
    case "string":
      return fc.constantFrom(`${field} < 'm'`, `${field} != ''`)
    case "boolean":
      return fc.constantFrom(`${field} == true`, `!${field}`)
    default:
      return fc.constant(`${field} != null`)
  }
}

/** Filters on the columns: comparisons, null tests, `$` forms, run-time type errors, whole-record use. */
const conditionArb = (names: ReadonlyArray<string>, types: ReadonlyArray<ColumnType>): fc.Arbitrary<string | undefined> => {
  const column = fc.integer({ min: 0, max: names.length - 1 })
  const name = fc.constantFrom(...names)
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 12, arbitrary: column.chain((i) => compare(names[i], types[i])) },
    { weight: 4, arbitrary: fc.tuple(column, column).chain(([i, j]) => fc.tuple(compare(names[i], types[i]), compare(names[j], types[j])).map(([a, b]) => `${a} || ${b}`)) },
    { weight: 1, arbitrary: name.map((n) => `\`${n}\` < 500`) },
    { weight: 1, arbitrary: name.map((n) => `$['${n}'] == true`) },
    { weight: 1, arbitrary: name.map((n) => `$.${/^[a-z]+$/.test(n) ? n : "id"} > 10`) },
    { weight: 1, arbitrary: fc.constant("$['id'] != $['amount']") },
    { weight: 1, arbitrary: fc.constant("missing == null") },
    { weight: 1, arbitrary: fc.constant("$[lower('ID')] > 3") },
    { weight: 1, arbitrary: fc.constant("true") }
  )
}

const caseArb: fc.Arbitrary<Case> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 6 }),
    fc.array(fc.constantFrom(...TYPES), { minLength: 7, maxLength: 7 }),
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...SPOILERS) }),
    fc.constantFrom(0, 0, 1, 4)
  )
  .chain(([unique, types, spoiler, edges]) => {
    const names = spoiler === undefined || spoiler === "json" ? unique : spoiler === "duplicate" ? [...unique, unique[0]] : [...unique, spoiler]
    const declared = names.map((_, i) => (spoiler === "json" && i === 0 ? "json" : types[i]))
    const row = fc.tuple(...declared.map((t) => fieldArb(t, edges)))
    const badRow = fc.array(fc.constant("9"), { minLength: 0, maxLength: names.length + 2 })
    return fc.record({
      names: fc.constant(names),
      types: fc.constant(declared),
      required: fc.oneof(
        { weight: 3, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.subarray([...names], { maxLength: Math.min(2, names.length) }) }
      ),
      rows: fc.integer({ min: 0, max: 400 }).chain((n) =>
        fc.array(fc.oneof({ weight: 3000, arbitrary: row }, { weight: edges, arbitrary: badRow }), { minLength: n, maxLength: n })
      ),
      quoteAll: fc.boolean(),
      eol: fc.constantFrom("\n", "\n", "\r\n"),
      condition: conditionArb(names, declared),
      max: fc.integer({ min: 1, max: 300 })
    })
  })

const csvField = (s: string, quoteAll: boolean): string =>
  quoteAll || /[",\n\r]/.test(s) ? `"${s.replaceAll("\"", "\"\"")}"` : s

/** What a reader answered: each batch's lines and position, then how it ended. */
interface Outcome {
  readonly batches: Array<{ readonly text: string; readonly count: number; readonly offset: number; readonly line: number; readonly done: boolean }>
  readonly failure: unknown
}

const decoder = new TextDecoder()

const readAll = (data: RangeWorkerData, max: number, lazy: boolean): { readonly outcome: Outcome; readonly used: boolean } => {
  const reader = new RangeReader(data)
  const batches: Outcome["batches"] = []
  let failure: unknown
  let used = false
  try {
    reader.start()
    const chain = data.fused.length > 0 ? chainOf(data.fused) : undefined
    if (chain !== undefined) reader.fuse(chain.run)
    if (lazy) {
      const lines = lazyOf(data, chain)
      if (lines !== undefined) {
        reader.lazy(lines)
        used = true
      }
    }
    for (let guard = 0; guard < 10_000; guard++) {
      const batch: RangeBatch = reader.read(max)
      const ndjson = batch.ndjson ?? (batch.records.length > 0 ? ndjsonOf(batch.records) : undefined)
      batches.push({ text: ndjson === undefined ? "" : decoder.decode(ndjson.bytes), count: ndjson?.count ?? 0, offset: batch.offset, line: batch.line, done: batch.done })
      if (batch.done) break
    }
  } catch (e) {
    failure = e instanceof RangeReadError ? e.failure : e
  } finally {
    reader.close()
  }
  return { outcome: { batches, failure }, used }
}

describe("lazy conversion in the CSV range threads", () => {
  it("writes what the record path writes, fails where and as it fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "dataflare-lazy-"))
    let lazyCases = 0
    let keptLines = 0
    let failures = 0
    const tags = new Map<string, number>()
    try {
      fc.assert(
        fc.property(caseArb, (c) => {
          const path = join(dir, "in.csv")
          const header = `${c.names.join(",")}\n`
          writeFileSync(path, header + c.rows.map((r) => `${r.map((f) => csvField(f, c.quoteAll)).join(",")}${c.eol}`).join(""))
          const columns: { [name: string]: ColumnType } = {}
          c.names.forEach((n, i) => {
            if (!Object.hasOwn(columns, n)) Object.defineProperty(columns, n, { value: c.types[i], enumerable: true })
          })
          const layout = makeLayout(c.names, columns, c.required)
          const data: RangeWorkerData = {
            path,
            delimiter: ",",
            layout,
            headerEnd: Buffer.byteLength(header),
            size: Buffer.byteLength(header) + c.rows.reduce((n, r) => n + Buffer.byteLength(`${r.map((f) => csvField(f, c.quoteAll)).join(",")}${c.eol}`), 0),
            index: 0,
            count: 1,
            starts: new SharedArrayBuffer(16),
            chunkSize: 4096,
            maxRecordBytes: 1 << 20,
            invalidUtf8: "error",
            setAside: false,
            fused: c.condition === undefined ? [] : [{ node: "keep", type: "filter", config: { condition: c.condition } }],
            encode: "ndjson"
          }
          const records = readAll({ ...data, layout: structuredClone(layout) }, c.max, false)
          const lazy = readAll({ ...data, layout: structuredClone(layout) }, c.max, true)
          if (lazy.used) {
            lazyCases++
            keptLines += lazy.outcome.batches.reduce((n, b) => n + b.count, 0)
            if (lazy.outcome.failure !== undefined) {
              failures++
              const f = lazy.outcome.failure as { _tag?: string }
              tags.set(String(f._tag), (tags.get(String(f._tag)) ?? 0) + 1)
            }
          }
          assert.deepStrictEqual(lazy.outcome, records.outcome)
        }),
        { numRuns: runs }
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    // the generated cases do reach the lazy path, with lines written and failures of both kinds
    assert.isAbove(lazyCases, runs / 10)
    assert.isAbove(keptLines, 0)
    assert.isAbove(failures, 0)
    assert.isAbove(tags.get("Record") ?? 0, 0)
    assert.isAbove(tags.get("Step") ?? 0, 0)
  }, timeoutFor(runs, 200, 120_000))

  it("checks a typed field on the bytes of an ASCII text as on its text, decides the common forms there, and reads their values", () => {
    const ascii = (s: string) => Buffer.byteLength(s) === s.length
    const typed = (["integer", "number", "boolean", "timestamp"] as const)
    const kinds = { integer: INTEGER, number: NUMBER, boolean: BOOLEAN, timestamp: TIMESTAMP }
    const field = fc.constantFrom(...typed).chain((type) =>
      fc.tuple(
        fc.constant(type),
        fc.oneof(fieldArb(type, 200), fc.string({ maxLength: 26, unit: fc.constantFrom(..."0123456789-+.:eETZtfrusal \"\\,") })),
        fc.string({ maxLength: 3 }),
        fc.string({ maxLength: 3 })
      )
    )
    let decided = 0
    fc.assert(
      fc.property(field, ([type, text, before, after]) => {
        if (text.length === 0 || !ascii(text + before + after)) return
        const kind = kinds[type]
        // the field in the middle of a text, as a record's fields are
        const bytes = Buffer.from(before + text + after, "latin1")
        const got = checkAt(kind, bytes, before.length, before.length + text.length)
        const want = check(kind, text)
        if (got !== UNSURE) {
          decided++
          assert.strictEqual(got, want, `${type} ${JSON.stringify(text)}`)
        }
        // a filter reads such a field's value from the bytes: the value `convert` makes of the text
        if (got === AS_TEXT && kind !== TIMESTAMP) assert.isTrue(Object.is(valueAt(kind, bytes, before.length, before.length + text.length), convert(kind, text)), `${type} ${text}`)
        // the forms whose JSON is the text are decided on the bytes (the point of reading them)
        if (want === AS_TEXT) assert.strictEqual(got, AS_TEXT, `${type} ${JSON.stringify(text)}`)
        if (kind === TIMESTAMP && utcForm(text) === NO_SUCH_FORM) assert.strictEqual(got, REFUSED, text)
      }),
      { numRuns: runs * 50 }
    )
    assert.isAbove(decided, runs)
    fc.assert(
      fc.property(fc.string({ maxLength: 12, unit: fc.constantFrom("a", " ", "\"", "\\", "\u0001", "\t", "\r", "\n", "\u007f", "~") }), (text) => {
        assert.strictEqual(plainAt(Buffer.from(`,${text},`, "latin1"), 1, 1 + text.length), valueJson(text) === `"${text}"`, JSON.stringify(text))
        // a quoted field's place holds each quote doubled: its JSON is those bytes with `""` as `\"` exactly where quotesOnlyAt says
        const place = text.replaceAll("\"", "\"\"")
        assert.strictEqual(
          quotesOnlyAt(Buffer.from(`,"${place}",`, "latin1"), 2, 2 + place.length),
          valueJson(text) === `"${text.replaceAll("\"", "\\\"")}"`,
          JSON.stringify(text)
        )
      }),
      { numRuns: runs * 10 }
    )
  }, timeoutFor(runs * 60, 1, 60_000))

  it("writes a number or integer field's text as it is only where String(Number(text)) gives it back", () => {
    const decimal = fc.tuple(
      fc.constantFrom("", "-", "+"),
      fc.stringMatching(/^[0-9]{0,17}$/),
      fc.option(fc.stringMatching(/^[0-9]{0,17}$/), { nil: undefined }),
      fc.option(fc.integer({ min: -330, max: 330 }), { nil: undefined })
    ).map(([sign, int, frac, exp]) => `${sign}${int}${frac === undefined ? "" : `.${frac}`}${exp === undefined ? "" : `e${exp}`}`)
    fc.assert(
      fc.property(fc.oneof(decimal, fc.double({ noNaN: true }).map(String)), (text) => {
        for (const kind of [NUMBER, INTEGER]) {
          const value = text.length === 0 ? null : convert(kind, text)
          if (typeof value !== "number" && value !== null) continue
          assert.strictEqual(fieldJson(kind, text), text.length === 0 ? "null" : valueJson(value), `${kind} ${text}`)
        }
        if (canonicalDecimal(text)) assert.strictEqual(String(Number(text)), text)
      }),
      { numRuns: runs * 20 }
    )
  }, timeoutFor(runs * 20, 1, 60_000))

  it("utcForm classifies a text as fastUtc does, without its time value", () => {
    const digit = fc.constantFrom(..."0123456789")
    const pick = (...xs: Array<string>) => fc.constantFrom(...xs)
    const form = fc.tuple(
      fc.array(digit, { minLength: 4, maxLength: 4 }).map((d) => d.join("")),
      fc.oneof(pick("-"), pick("/", "x")),
      fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 19 }).map((n) => String(n).padStart(2, "0")) }, { weight: 8, arbitrary: pick("02") }, { weight: 1, arbitrary: pick("1", "1a", "aa") }),
      pick("-", "-", "-", "."),
      fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 39 }).map((n) => String(n).padStart(2, "0")) }, { weight: 8, arbitrary: pick("28", "29", "30", "31") }, { weight: 1, arbitrary: pick("3", "x1") }),
      fc.option(
        fc.tuple(
          pick("T", "T", "T", " ", "t"),
          fc.array(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 23 }).map((n) => String(n).padStart(2, "0")) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 69 }).map((n) => String(n).padStart(2, "0")) }, { weight: 1, arbitrary: pick("a0", "7") }), { minLength: 3, maxLength: 3 }),
          pick(":", ":", ":", "."),
          fc.option(fc.oneof(fc.integer({ min: 0, max: 999 }).map((n) => `.${String(n).padStart(3, "0")}`), pick(".5", ".12a", ",123")), { nil: "" }),
          pick("Z", "Z", "", "z", "+02:00")
        ).map(([t, [h, m, s2], sep, ms, z]) => `${t}${h}:${m}${sep}${s2}${ms}${z}`),
        { nil: "" }
      )
    ).map(([y, a, m, b, d, time]) => `${y}${a}${m}${b}${d}${time}`)
    fc.assert(
      fc.property(fc.oneof(form, fc.string({ maxLength: 26 })), (text) => {
        const ms = fastUtc(text)
        const want = Number.isNaN(ms) ? OTHER_FORM : ms === NO_SUCH ? NO_SUCH_FORM : UTC_FORM
        assert.strictEqual(utcForm(text), want, text)
      }),
      { numRuns: runs * 50 }
    )
  }, timeoutFor(runs * 50, 1, 60_000))
})
