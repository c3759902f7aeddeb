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
import { isMainThread, workerData } from "node:worker_threads"
import type { LazyLines } from "../../connectors/csv/internal/lazyLines.ts"
import { RangeReader, type RangeWorkerData } from "../../connectors/csv/internal/range.ts"
import { type Chain, chainOf, lazyOf, ndjsonOf } from "./rangeChain.ts"
import { serveRange } from "./rangeServe.ts"

const serve = (): void => {
  const data = workerData as RangeWorkerData
  serveRange(
    (send) => {
      // publish this range's start before anything slow (the previous range's reader needs it)
      const reader = new RangeReader(data)
      send({ _tag: "Start", ...reader.start() })
      const chain: Chain | undefined = data.fused.length > 0 ? chainOf(data.fused) : undefined
      if (chain !== undefined) reader.fuse(chain.run)
      const lazy: LazyLines | undefined = lazyOf(data, chain)
      if (lazy !== undefined) reader.lazy(lazy)
      return {
        seek: (offset, line) => reader.seek(offset, line),
        read: (max) => {
          const batch = reader.read(max)
          const counts = lazy !== undefined && chain !== undefined ? [lazy.rowsIn, lazy.rowsOut] : chain?.counts()
          const ndjson = batch.ndjson ?? (data.encode === "ndjson" && batch.records.length > 0 ? ndjsonOf(batch.records) : undefined)
          if (ndjson === undefined) return { answer: { _tag: "Batch", ...batch, ndjson: undefined, counts }, transfer: [] }
          // the buffer moves to the main thread (no copy); the records stay here
          return { answer: { _tag: "Batch", ...batch, records: [], ndjson, counts }, transfer: [ndjson.bytes.buffer] }
        }
      }
    },
    () => {
      // the reader of the previous range may wait for this range's start: tell it there is none
      if (data.index > 0) {
        const starts = new BigInt64Array(data.starts)
        Atomics.compareExchange(starts, data.index, -1n, -2n)
        Atomics.notify(starts, data.index)
      }
    }
  )
}

if (!isMainThread) serve()
