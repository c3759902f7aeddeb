/**
 * Baseline for scenario 1 on two threads: the work of node-csv-filter.ts (same parser, filter and
 * encoding, from internal/csvLine.ts) split in two byte ranges of the file, cut at the first line
 * feed after the middle, each read, parsed, filtered and encoded by its own worker thread. The main
 * thread writes the first range's output as it comes and the second's after it (held in memory
 * meanwhile), so the output is in file order.
 *
 *   node bench/baselines/node-csv-filter-2workers.ts input.csv output.ndjson
 *
 * Like the one-thread baseline it cuts at line feeds without looking at quotes (the generated
 * inputs have no line break inside a quoted field), checks no field counts or numbers and keeps
 * no positions.
 */
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from "node:fs"
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads"
import { filterLines, parseLine } from "./internal/csvLine.ts"

interface Range {
  readonly input: string
  readonly start: number
  readonly end: number
  readonly header: ReadonlyArray<string>
}

type Message = { readonly _tag: "Chunk"; readonly ndjson: string; readonly kept: number } | { readonly _tag: "Done" }

const CHUNK = 1 << 20

/** The byte offset just after the first line feed at or after `from` (or the file's size). */
const lineStartAfter = (fd: number, from: number, size: number): number => {
  const buf = Buffer.allocUnsafe(64 * 1024)
  let pos = from
  while (pos < size) {
    const n = readSync(fd, buf, 0, buf.length, pos)
    const i = buf.subarray(0, n).indexOf(10)
    if (i >= 0) return pos + i + 1
    pos += n
  }
  return size
}

if (isMainThread) {
  const [input, output] = process.argv.slice(2)
  const fd = openSync(input, "r")
  const size = fstatSync(fd).size
  const bodyStart = lineStartAfter(fd, 0, size)
  const head = Buffer.allocUnsafe(bodyStart)
  readSync(fd, head, 0, bodyStart, 0)
  const header = parseLine(head.toString("utf8").replace(/\r?\n$/, ""))
  const middle = lineStartAfter(fd, bodyStart + Math.floor((size - bodyStart) / 2), size)
  closeSync(fd)
  const out = createWriteStream(output)
  let count = 0
  const held: Array<string> = []
  let firstDone = false
  let done = 0
  const finish = () => {
    if (++done < 2) return
    out.end(() => process.stdout.write(`${count}\n`))
  }
  const start = (index: number, range: Range) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: range })
    worker.on("message", (m: Message) => {
      if (m._tag === "Chunk") {
        count += m.kept
        if (index === 0) out.write(m.ndjson)
        else if (firstDone) out.write(m.ndjson)
        else held.push(m.ndjson)
        return
      }
      if (index === 0) {
        firstDone = true
        for (const h of held.splice(0)) out.write(h)
      }
      finish()
    })
    worker.on("error", (e) => {
      throw e
    })
  }
  start(0, { input, start: bodyStart, end: middle, header })
  start(1, { input, start: middle, end: size, header })
} else {
  const range = workerData as Range
  const port = parentPort!
  let carry = ""
  const stream = createReadStream(range.input, { encoding: "utf8", highWaterMark: CHUNK, start: range.start, end: range.end - 1 })
  stream.on("data", (chunk) => {
    const lines = (carry + (chunk as string)).split("\n")
    carry = lines.pop() ?? ""
    const { ndjson, kept } = filterLines(lines, range.header)
    port.postMessage({ _tag: "Chunk", ndjson, kept } satisfies Message)
  })
  stream.on("end", () => {
    if (carry.length > 0) {
      const { ndjson, kept } = filterLines([carry], range.header)
      port.postMessage({ _tag: "Chunk", ndjson, kept } satisfies Message)
    }
    port.postMessage({ _tag: "Done" } satisfies Message)
  })
}
