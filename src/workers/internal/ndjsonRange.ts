/**
 * The program of a parallel `ndjson` source's worker thread (this file is the thread's entry
 * point; nothing imports it). It reads one byte range of the file (see
 * `src/connectors/ndjson/internal/rangeReader.ts`) and answers one request with one batch of
 * records; the protocol is the CSV range threads' (`src/connectors/kit/internal/rangeProtocol.ts`).
 *
 * Fused stateless nodes (`filter`, `map`, `select`, `rename` given as data) run here, rebuilt from
 * their configs (`rangeChain.ts`), so only the records that survive cross the thread boundary.
 * When the source's only consumer is an `ndjson` sink (`encode: "ndjson"`), the thread writes the
 * surviving records as NDJSON lines itself and transfers the bytes: records do not cross as
 * objects. Records no step changed are written by the native `JSON.stringify`
 * (`parsedNdjsonOf`). For a `csv` sink (`encode: "csv"`), a batch whose records all hold the same
 * fields in the same order, of plain values, is written as CSV rows for those columns
 * (`csvRowsOf`); the sink writes them when they are its columns, and reads them back otherwise. The thread loads no Effect module (it starts faster).
 */
import { isMainThread, workerData } from "node:worker_threads"
import { NdjsonRangeReader, type NdjsonRangeWorkerData } from "../../connectors/ndjson/internal/rangeReader.ts"
import { type Chain, chainOf, csvRowsOf, ndjsonOf, parsedNdjsonOf } from "./rangeChain.ts"
import { serveRange } from "./rangeServe.ts"

const serve = (): void => {
  const data = workerData as NdjsonRangeWorkerData
  serveRange((send) => {
    const reader = new NdjsonRangeReader(data)
    send({ _tag: "Start", ...reader.start() })
    const chain: Chain | undefined = data.fused.length > 0 ? chainOf(data.fused) : undefined
    if (chain !== undefined) reader.fuse(chain.run)
    // the records are as JSON.parse made them unless a fused step other than a filter ran
    const unchanged = chain === undefined || chain.steps.every((s) => s._tag === "filter")
    return {
      seek: (offset, line) => reader.seek(offset, line),
      read: (max) => {
        const { negativeZero, ...batch } = reader.read(max)
        const counts = chain?.counts()
        if (data.encode === "csv" && batch.records.length > 0) {
          const csv = csvRowsOf(batch.records)
          // the buffers move to the main thread (no copy); the records stay here
          if (csv !== undefined) return { answer: { _tag: "Batch", ...batch, records: [], ndjson: undefined, csv, counts }, transfer: [csv.bytes.buffer, csv.types.buffer] }
        }
        const ndjson = data.encode === "ndjson" && batch.records.length > 0
          ? (unchanged && !negativeZero ? parsedNdjsonOf(batch.records) : ndjsonOf(batch.records))
          : undefined
        if (ndjson === undefined) return { answer: { _tag: "Batch", ...batch, ndjson: undefined, counts }, transfer: [] }
        return { answer: { _tag: "Batch", ...batch, records: [], ndjson, counts }, transfer: [ndjson.bytes.buffer] }
      }
    }
  })
}

if (!isMainThread) serve()
