/**
 * The main-thread side of a parallel `csv` source instance: one worker thread per instance reads
 * one byte range of the file (see `range.ts`; the thread's program is
 * `src/workers/internal/csvRange.ts`), through the file sources' range-thread reader
 * (`kit/internal/rangeThread.ts`). The ranges' starts are shared among the instances of one split.
 */
import { stat } from "node:fs/promises"
import { Effect, type Scope } from "effect"
import type * as Batch from "../../../Batch.ts"
import type { SourceReader } from "../../../Connector.ts"
import type { ConnectorError } from "../../../Errors.ts"
import type { FileLetters } from "../../../internal/deadLetters.ts"
import { fileError } from "../../../internal/textFile.ts"
import type { InvalidUtf8 } from "../../../internal/utf8.ts"
import { openRangeThread, RANGE_CHUNK, type RangeRow } from "../../kit/internal/rangeThread.ts"
import type { Layout } from "./columns.ts"
import type { FusedNode, RangeWorkerData } from "./range.ts"

export { decodeRangePosition, type RangePosition } from "../../kit/internal/rangeThread.ts"

const CONNECTOR = "csv"

/** The worker thread's program, located like `worker_map`'s (next to it, relative to this module). */
const entry = new URL("../../../workers/internal/csvRange.ts", import.meta.url)

/** Options of {@link openRange}. */
export interface RangeOptions {
  readonly path: string
  readonly delimiter: string
  readonly layout: Layout
  /** Byte offset after the header (0 without one). */
  readonly headerEnd: number
  readonly node: string
  readonly index: number
  readonly count: number
  readonly fused: ReadonlyArray<FusedNode>
  readonly maxRecordBytes: number
  readonly invalidUtf8: InvalidUtf8
  /**
   * Where records over `maxRecordBytes` (`oversize: dead_letter`) and malformed records
   * (`on_error: dead_letter`) go; they fail without.
   */
  readonly letters: FileLetters | undefined
  /**
   * `application/x-ndjson` (the planner's `encoding`: the only consumer is an `ndjson` sink): the
   * thread encodes the records as NDJSON lines and the batches carry those bytes
   * (`Batch.NdjsonEncoded`).
   */
  readonly encoding: Batch.Encoded["format"] | undefined
}

/** Range starts shared by the instances of one split of one file (the values are the same for all). */
const shared = new Map<string, { readonly buffer: SharedArrayBuffer; users: number }>()

const acquireStarts = (key: string, count: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let entry = shared.get(key)
      if (entry === undefined) {
        const buffer = new SharedArrayBuffer(8 * (count + 1))
        new BigInt64Array(buffer).fill(-1n)
        entry = { buffer, users: 0 }
        shared.set(key, entry)
      }
      entry.users++
      return entry.buffer
    }),
    () =>
      Effect.sync(() => {
        const entry = shared.get(key)
        if (entry !== undefined && --entry.users === 0) shared.delete(key)
      })
  )

/** Opens the reader of range `index` of `count` in the current scope (its thread ends with it). */
export const openRange = (
  options: RangeOptions
): Effect.Effect<SourceReader<RangeRow> & { readonly fusedCounts: () => ReadonlyArray<number> }, ConnectorError, Scope.Scope> =>
  Effect.gen(function*() {
    const { path, index, count } = options
    const info = yield* Effect.tryPromise({ try: () => stat(path), catch: (e) => fileError(CONNECTOR, "open", path, e) })
    const key = [path, info.size, info.mtimeMs, count, options.headerEnd, options.delimiter].join("\0")
    const starts = yield* acquireStarts(key, count)
    const data: RangeWorkerData = {
      path,
      delimiter: options.delimiter,
      layout: options.layout,
      headerEnd: options.headerEnd,
      size: info.size,
      index,
      count,
      starts,
      chunkSize: RANGE_CHUNK,
      fused: options.fused,
      maxRecordBytes: options.maxRecordBytes,
      invalidUtf8: options.invalidUtf8,
      setAside: options.letters?.oversize === true,
      rejects: options.letters?.malformed === true,
      encode: options.encoding === "application/x-ndjson" ? "ndjson" : undefined
    }
    return yield* openRangeThread({
      connector: CONNECTOR,
      entry,
      data,
      path,
      node: options.node,
      index,
      count,
      letters: options.letters
    })
  })
