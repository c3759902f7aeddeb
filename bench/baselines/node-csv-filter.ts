/**
 * Baseline for scenario 1: a hand-written Node stream pipeline doing the same work as DataFlare's
 * CSV → filter → NDJSON workflow: parse CSV (RFC 4180 quotes), keep `status == 'active' &&
 * amount >= 500`, write one JSON object per line (numbers for `amount` and `id`).
 *
 *   node bench/baselines/node-csv-filter.ts input.csv output.ndjson
 *
 * How it compares with DataFlare's work (kept as it is, for the record): it splits the text at
 * every line feed before it looks at quotes, so a quoted value with a line break would be cut in
 * two (the generated inputs have none, so the outputs agree); it checks neither the field count
 * nor the numbers (`Number("x")` gives `NaN` silently) and keeps no positions or checkpoints —
 * advantages. It reads a quoted field character by character with string concatenation and builds
 * each record with one keyed store per column — disadvantages on the wide rows. It uses one
 * thread; node-csv-filter-2workers.ts is the same work on two worker threads.
 */
import { createReadStream, createWriteStream } from "node:fs"
import { filterLines, parseLine } from "./internal/csvLine.ts"

const [input, output] = process.argv.slice(2)
const out = createWriteStream(output)
let header: Array<string> | undefined
let carry = ""
let count = 0

const stream = createReadStream(input, { encoding: "utf8", highWaterMark: 1 << 20 })
stream.on("data", (chunk) => {
  const text = carry + (chunk as string)
  const lines = text.split("\n")
  carry = lines.pop() ?? ""
  if (header === undefined) {
    const first = lines.findIndex((l) => l.length > 0)
    if (first < 0) return
    header = parseLine(lines[first])
    lines.splice(0, first + 1)
  }
  const { ndjson: buffer, kept } = filterLines(lines, header)
  count += kept
  if (!out.write(buffer)) {
    stream.pause()
    out.once("drain", () => stream.resume())
  }
})
stream.on("end", () => {
  out.end(() => process.stdout.write(`${count}\n`))
})
