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
import * as NodeModule from "node:module"
import { isMainThread, parentPort, workerData } from "node:worker_threads"
import { failureOf, type RangeFailure, type RangeReply, type RangeRequest } from "../../connectors/kit/internal/rangeProtocol.ts"
import { NdjsonRangeReader, type NdjsonRangeWorkerData } from "../../connectors/ndjson/internal/rangeReader.ts"
import { type Chain, chainOf, csvRowsOf, ndjsonOf, parsedNdjsonOf } from "./rangeChain.ts"

const serve = (): void => {
  // compiled code kept on disk, as the CLI does for itself (NODE_DISABLE_COMPILE_CACHE=1 turns it off)
  NodeModule.enableCompileCache?.()
  const port = parentPort
  if (port === null) return
  const data = workerData as NdjsonRangeWorkerData
  const send = (reply: RangeReply): void => port.postMessage(reply)
  let failure: RangeFailure | undefined
  let reader: NdjsonRangeReader | undefined
  let chain: Chain | undefined
  try {
    reader = new NdjsonRangeReader(data)
    send({ _tag: "Start", ...reader.start() })
    if (data.fused.length > 0) {
      chain = chainOf(data.fused)
      reader.fuse(chain.run)
    }
  } catch (e) {
    failure = failureOf(e)
    send({ _tag: "Failed", id: 0, failure })
  }
  // the records are as JSON.parse made them unless a fused step other than a filter ran
  const unchanged = chain === undefined || chain.steps.every((s) => s._tag === "filter")
  port.on("message", (request: RangeRequest) => {
    if (failure === undefined && reader !== undefined) {
      try {
        if (request._tag === "Seek") {
          reader.seek(request.offset, request.line)
          return
        }
        const { negativeZero, ...batch } = reader.read(request.max)
        const counts = chain?.counts()
        if (data.encode === "csv" && batch.records.length > 0) {
          const csv = csvRowsOf(batch.records)
          if (csv !== undefined) {
            return port.postMessage({ _tag: "Batch", id: request.id, ...batch, records: [], ndjson: undefined, csv, counts } satisfies RangeReply, [csv.bytes.buffer, csv.types.buffer])
          }
        }
        const ndjson = data.encode === "ndjson" && batch.records.length > 0
          ? (unchanged && !negativeZero ? parsedNdjsonOf(batch.records) : ndjsonOf(batch.records))
          : undefined
        if (ndjson === undefined) return send({ _tag: "Batch", id: request.id, ...batch, ndjson: undefined, counts })
        // the buffer moves to the main thread (no copy); the records stay here
        return port.postMessage({ _tag: "Batch", id: request.id, ...batch, records: [], ndjson, counts } satisfies RangeReply, [ndjson.bytes.buffer])
      } catch (e) {
        failure = failureOf(e)
      }
    }
    if (request._tag === "Read") send({ _tag: "Failed", id: request.id, failure: failure! })
  })
}

if (!isMainThread) serve()
