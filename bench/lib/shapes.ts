/**
 * Inputs of the matrix (scenario 10): CSV and NDJSON files of one shape — narrow (6 columns) or
 * wide (13), with or without quoted fields — generated from a seed into the scratch folder and
 * removed by the caller after use (they are large; nothing is committed).
 *
 * Every row has a `grade` (a 10 %, b 23 %, c 57 %, d 10 %) and an `amount` uniform in [0, 1000),
 * so the matrix's filters keep 10, 33 or 90 % of the rows whether they test the string or the
 * number: see {@link predicates}.
 */
import { closeSync, openSync, writeSync } from "node:fs"
import { join } from "node:path"
import { prng, scratchDir } from "./generate.ts"

export type Width = "narrow" | "wide"
export type Kept = 10 | 33 | 90

const CITIES = ["Berlin", "Paris", "Lyon", "Auckland", "Recife", "Osaka", "Austin", "Turin"]
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "lambda"]

const NARROW = ["id", "grade", "amount", "flag", "created_at", "city"]
const WIDE = [...NARROW, "name", "email", "note", "score", "country", "zip", "updated_at"]

/** The column names of a width. */
export const columnsOf = (width: Width): ReadonlyArray<string> => (width === "narrow" ? NARROW : WIDE)

/** The typed columns DataFlare declares in the typed shapes (integer, number, boolean, timestamp). */
export const typedColumns = (width: Width): Readonly<Record<string, string>> =>
  width === "narrow"
    ? { id: "integer", amount: "number", flag: "boolean", created_at: "timestamp" }
    : { id: "integer", amount: "number", flag: "boolean", created_at: "timestamp", score: "integer", zip: "integer", updated_at: "timestamp" }

interface Row {
  readonly values: ReadonlyArray<string | number | boolean>
  /** Which values are written quoted in the CSV (the quoted shapes). */
  readonly quoted: ReadonlyArray<boolean>
}

const rowAt = (next: () => number, i: number, width: Width, quotes: boolean): Row => {
  const g = next()
  const grade = g < 0.1 ? "a" : g < 0.33 ? "b" : g < 0.9 ? "c" : "d"
  const amount = Math.floor(next() * 100_000) / 100
  const flag = next() < 0.5
  const day = String(1 + (i % 28)).padStart(2, "0")
  const created = `2026-01-${day}T${String(i % 24).padStart(2, "0")}:15:00Z`
  const w1 = WORDS[Math.floor(next() * WORDS.length)]
  const w2 = WORDS[Math.floor(next() * WORDS.length)]
  // the quoted shapes: a city with a comma in every tenth row (narrow); wide rows also quote a name
  // with a comma in every row and a note with a doubled quote in every third
  const cityQuoted = quotes && i % 10 === 0
  const city = cityQuoted ? `${CITIES[i % CITIES.length]}, ${w1}` : CITIES[i % CITIES.length]
  const narrow: Array<string | number | boolean> = [i, grade, amount, flag, created, city]
  if (width === "narrow") return { values: narrow, quoted: [false, false, false, false, false, cityQuoted] }
  const name = quotes ? `${w1}, ${w2}` : `${w1} ${w2}`
  const note = quotes && i % 3 === 0 ? `said "${w2}"` : `note ${w2}`
  return {
    values: [...narrow, name, `${w1}.${i}@example.com`, note, Math.floor(next() * 100), "DE", 10000 + (i % 89999), `2026-02-${day}T08:30:00Z`],
    quoted: [false, false, false, false, false, cityQuoted, quotes, false, quotes && i % 3 === 0, false, false, false, false]
  }
}

const csvField = (value: string | number | boolean, quoted: boolean): string =>
  quoted ? `"${String(value).replaceAll('"', '""')}"` : String(value)

const writeFile = (path: string, first: string, rows: number, line: (i: number) => string): string => {
  const fd = openSync(path, "w")
  let chunk = first
  for (let i = 0; i < rows; i++) {
    chunk += line(i)
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk)
      chunk = ""
    }
  }
  writeSync(fd, chunk)
  closeSync(fd)
  return path
}

/** Writes a CSV of the shape; returns its path. */
export const csvShape = (rows: number, width: Width, quotes: boolean, seed: number): string => {
  const next = prng(seed)
  const path = join(scratchDir(), `matrix-${width}-${quotes ? "quoted" : "plain"}-${rows}-${seed}.csv`)
  return writeFile(path, `${columnsOf(width).join(",")}\n`, rows, (i) => {
    const row = rowAt(next, i, width, quotes)
    return `${row.values.map((v, k) => csvField(v, row.quoted[k])).join(",")}\n`
  })
}

/** Writes an NDJSON file of the shape (numbers and booleans as JSON values); returns its path. */
export const ndjsonShape = (rows: number, width: Width, seed: number): string => {
  const next = prng(seed)
  const names = columnsOf(width)
  const path = join(scratchDir(), `matrix-${width}-${rows}-${seed}.ndjson`)
  return writeFile(path, "", rows, (i) => {
    const row = rowAt(next, i, width, false)
    const o: Record<string, string | number | boolean> = {}
    for (let k = 0; k < names.length; k++) o[names[k]] = row.values[k]
    return `${JSON.stringify(o)}\n`
  })
}

/** One filter in each tool's language. */
export interface Predicate {
  readonly dataflare: string
  readonly miller: string
  readonly jq: string
}

/**
 * The filters keeping `kept` % of the rows: on the string `grade` (what an untyped column can be
 * tested for) or on the number `amount` (a typed column).
 */
export const predicates = (kept: Kept, on: "grade" | "amount"): Predicate => {
  if (on === "amount") {
    const limit = kept * 10
    return { dataflare: `amount < ${limit}`, miller: `$amount < ${limit}`, jq: `.amount < ${limit}` }
  }
  switch (kept) {
    case 10:
      return { dataflare: "grade == 'a'", miller: '$grade == "a"', jq: '.grade == "a"' }
    case 33:
      return { dataflare: "grade == 'a' || grade == 'b'", miller: '$grade == "a" || $grade == "b"', jq: '.grade == "a" or .grade == "b"' }
    case 90:
      return { dataflare: "grade != 'd'", miller: '$grade != "d"', jq: '.grade != "d"' }
  }
}
