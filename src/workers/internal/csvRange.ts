/**
 * The program of a parallel `csv` source's worker thread (this file is the thread's entry point;
 * nothing imports it). It reads one byte range of the file (see
 * `src/connectors/csv/internal/range.ts`) and answers one request with one batch of records.
 *
 * When the planner fused stateless nodes into the source (`filter`, `map`, `select`, `rename`
 * given as data in the config), the worker rebuilds their steps from their configs with the same
 * code as the processor definitions (`src/processors/internal/steps.ts`) and runs them on every
 * batch, so only the records that survive cross the thread boundary. The thread loads no Effect
 * module (it starts faster).
 *
 * Messages are plain `postMessage` (structured clone, which keeps `Date` values); a failure is
 * sent as data and repeated for every later request. When the source's only consumer is an
 * `ndjson` sink (`encode: "ndjson"`), the thread encodes the surviving records as NDJSON lines
 * itself and transfers the bytes: records do not cross the thread boundary as objects. With at
 * most one fused `filter` that does not read the record as a whole, it does not even build them:
 * it converts lazily (`lazyLines.ts`). The chain and that choice are made in `rangeChain.ts`.
 */
import * as NodeModule from "node:module"
import { isMainThread, parentPort, workerData } from "node:worker_threads"
import type { LazyLines } from "../../connectors/csv/internal/lazyLines.ts"
import { RangeReader, type RangeWorkerData } from "../../connectors/csv/internal/range.ts"
import { failureOf, type RangeFailure, type RangeReply, type RangeRequest } from "../../connectors/kit/internal/rangeProtocol.ts"
import { type Chain, chainOf, lazyOf, ndjsonOf } from "./rangeChain.ts"

const serve = async (): Promise<void> => {
  // Compiled code of what the thread loads (the reader, and the expression language with fused
  // nodes) is kept on disk, as the CLI does for itself (`NODE_DISABLE_COMPILE_CACHE=1` turns it
  // off).
  NodeModule.enableCompileCache?.()
  const port = parentPort
  if (port === null) return
  const data = workerData as RangeWorkerData
  const send = (reply: RangeReply): void => port.postMessage(reply)
  let failure: RangeFailure | undefined
  let reader: RangeReader | undefined
  let chain: Chain | undefined
  let lazy: LazyLines | undefined
  // Publish this range's start before anything slow (the previous range's reader needs it).
  try {
    reader = new RangeReader(data)
    send({ _tag: "Start", ...reader.start() })
    if (data.fused.length > 0) {
      chain = chainOf(data.fused)
      reader.fuse(chain.run)
    }
    lazy = lazyOf(data, chain)
    if (lazy !== undefined) reader.lazy(lazy)
  } catch (e) {
    failure = failureOf(e)
    // The reader of the previous range may wait for this range's start: tell it there is none.
    if (data.index > 0) {
      const starts = new BigInt64Array(data.starts)
      Atomics.compareExchange(starts, data.index, -1n, -2n)
      Atomics.notify(starts, data.index)
    }
    send({ _tag: "Failed", id: 0, failure })
  }
  port.on("message", (request: RangeRequest) => {
    if (failure === undefined && reader !== undefined) {
      try {
        if (request._tag === "Seek") {
          reader.seek(request.offset, request.line)
          return
        }
        const batch = reader.read(request.max)
        const counts = lazy !== undefined && chain !== undefined ? [lazy.rowsIn, lazy.rowsOut] : chain?.counts()
        const ndjson = batch.ndjson ?? (data.encode === "ndjson" && batch.records.length > 0 ? ndjsonOf(batch.records) : undefined)
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

if (!isMainThread) void serve()
