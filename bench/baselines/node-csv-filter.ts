/**
 * Baseline for scenario 1: a hand-written Node stream pipeline doing the same work as DataFlare's
 * CSV → filter → NDJSON workflow: parse CSV (RFC 4180 quotes), keep `status == 'active' &&
 * amount >= 500`, write one JSON object per line (numbers for `amount` and `id`).
 *
 *   node bench/baselines/node-csv-filter.ts input.csv output.ndjson
 */
import { createReadStream, createWriteStream } from "node:fs"

const [input, output] = process.argv.slice(2)
const out = createWriteStream(output)
let header: Array<string> | undefined
let carry = ""
let count = 0

const parseLine = (line: string): Array<string> => {
  if (!line.includes('"')) return line.split(",")
  const fields: Array<string> = []
  let i = 0
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = ""
      i++
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"'
            i += 2
          } else {
            i++
            break
          }
        } else value += line[i++]
      }
      fields.push(value)
      i++ // the comma
    } else {
      const end = line.indexOf(",", i)
      const stop = end < 0 ? line.length : end
      fields.push(line.slice(i, stop))
      i = stop + 1
    }
  }
  return fields
}

const stream = createReadStream(input, { encoding: "utf8", highWaterMark: 1 << 20 })
stream.on("data", (chunk) => {
  const text = carry + (chunk as string)
  const lines = text.split("\n")
  carry = lines.pop() ?? ""
  let buffer = ""
  for (const line of lines) {
    if (line.length === 0) continue
    const fields = parseLine(line)
    if (header === undefined) {
      header = fields
      continue
    }
    const record: Record<string, unknown> = {}
    for (let k = 0; k < header.length; k++) record[header[k]] = fields[k]
    record.id = Number(record.id)
    record.amount = Number(record.amount)
    if (record.status === "active" && (record.amount as number) >= 500) {
      buffer += JSON.stringify(record) + "\n"
      count++
    }
  }
  if (!out.write(buffer)) {
    stream.pause()
    out.once("drain", () => stream.resume())
  }
})
stream.on("end", () => {
  out.end(() => process.stdout.write(`${count}\n`))
})
