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
 * itself and transfers the bytes: records do not cross the thread boundary as objects.
 */
import { Buffer } from "node:buffer"
import * as NodeModule from "node:module"
import { isMainThread, parentPort, workerData } from "node:worker_threads"
import type { Batch } from "../../Batch.ts"
import { recordJson } from "../../connectors/kit/internal/recordJson.ts"
import { fuse } from "../../Processor.ts"
import { type FusedErrors, fusedSteps } from "../../processors/internal/steps.ts"
import {
  type FusedNode,
  type RangeFailure,
  RangeReadError,
  RangeReader,
  type RangeReply,
  type RangeRequest,
  type RangeWorkerData
} from "../../connectors/csv/internal/range.ts"

interface Chain {
  readonly run: (records: Array<unknown>) => Array<unknown>
  readonly counts: () => ReadonlyArray<number>
}

/**
 * The error a fused step throws for a bad record: a plain `Error` with the fields of a
 * `RecordError` (`_tag`, `detail`, `field`, `record`), which the main thread turns back into one.
 * The thread loads no Effect, so it cannot make the real class.
 */
class StepRecordError extends Error {
  readonly _tag = "RecordError"
  readonly detail: string
  readonly record: unknown
  readonly field: string | undefined
  constructor(detail: string, record: unknown, field?: string) {
    super(detail)
    this.name = "RecordError"
    this.detail = detail
    this.record = record
    this.field = field
  }
}

const errors: FusedErrors = {
  typeError: (detail, record) => new StepRecordError(detail, record),
  withField: (e, field) => (e instanceof StepRecordError ? new StepRecordError(e.detail, e.record, field) : undefined)
}

/** Rebuilds the fused nodes from their configs (see `src/processors/internal/steps.ts`). */
const chainOf = (nodes: ReadonlyArray<FusedNode>): Chain => {
  const steps = nodes.map((n) => fusedSteps(n.type, n.config, errors))
  const fused = fuse(steps.flat())
  // node k spans steps [bounds[k], bounds[k + 1])
  const bounds: Array<number> = [0]
  for (const s of steps) bounds.push(bounds[bounds.length - 1] + s.length)
  let failedNode = ""
  const run = (records: Array<unknown>): Array<unknown> => {
    const batch: Batch<unknown> = { _tag: "Batch", records, start: 0, end: records.length, origin: undefined, watermark: undefined, readAt: 0 }
    try {
      return fused.run(batch)
    } catch (e) {
      const k = fused.failedStep()
      let i = 0
      while (i < nodes.length - 1 && k >= bounds[i + 1]) i++
      failedNode = nodes[i].node
      throw e
    }
  }
  return {
    run: (records) => {
      try {
        return run(records)
      } catch (e) {
        const tagged = e !== null && typeof e === "object" && "_tag" in e && typeof e._tag === "string" ? e._tag : undefined
        const own = (key: string): unknown => (e !== null && typeof e === "object" && key in e ? (e as { readonly [k: string]: unknown })[key] : undefined)
        const detail = own("detail")
        const field = own("field")
        throw new RangeReadError({
          _tag: "Step",
          node: failedNode,
          name: tagged ?? (e instanceof Error ? e.name : "Error"),
          message: e instanceof Error ? e.message : String(e),
          detail: typeof detail === "string" ? detail : undefined,
          field: typeof field === "string" ? field : undefined,
          record: own("record")
        })
      }
    },
    counts: () => bounds.map((b) => fused.reached[b])
  }
}

/** Bytes the next batch's NDJSON is expected to take (the last batch's, and some). */
let capacity = 64 * 1024

/**
 * The records as NDJSON lines, written as the `ndjson` codec writes them (`recordJson`), in a
 * buffer of their own (it is transferred); `undefined` when one cannot be written (the records
 * go as they are, and the sink reports it as it would). Each line is written into the buffer as
 * it is made (measured 3× faster than joining the lines and encoding the text at once).
 */
const ndjsonOf = (records: ReadonlyArray<unknown>): Uint8Array<ArrayBuffer> | undefined => {
  let buffer = Buffer.allocUnsafeSlow(capacity)
  let at = 0
  try {
    for (let i = 0; i < records.length; i++) {
      const line = recordJson(records[i])
      // a UTF-16 unit takes at most 3 bytes of UTF-8
      if (buffer.length - at < line.length * 3 + 1) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, at + line.length * 3 + 1))
        buffer.copy(bigger, 0, 0, at)
        buffer = bigger
      }
      at += buffer.write(line, at)
      buffer[at++] = 10
    }
  } catch {
    return undefined
  }
  capacity = Math.max(64 * 1024, Math.ceil(at * 1.25))
  return new Uint8Array(buffer.buffer as ArrayBuffer, 0, at)
}

const asFailure = (e: unknown): RangeFailure =>
  e instanceof RangeReadError
    ? e.failure
    : { _tag: "Io", operation: "read", code: "", message: e instanceof Error ? (e.stack ?? e.message) : String(e) }

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
  // Publish this range's start before anything slow (the previous range's reader needs it).
  try {
    reader = new RangeReader(data)
    send({ _tag: "Start", ...reader.start() })
    if (data.fused.length > 0) {
      chain = chainOf(data.fused)
      reader.fuse(chain.run)
    }
  } catch (e) {
    failure = asFailure(e)
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
        const counts = chain?.counts()
        const lines = data.encode === "ndjson" && batch.records.length > 0 ? ndjsonOf(batch.records) : undefined
        if (lines === undefined) return send({ _tag: "Batch", id: request.id, ...batch, ndjson: undefined, counts })
        const ndjson = { bytes: lines, count: batch.records.length }
        // the buffer moves to the main thread (no copy); the records stay here
        return port.postMessage({ _tag: "Batch", id: request.id, ...batch, records: [], ndjson, counts } satisfies RangeReply, [lines.buffer])
      } catch (e) {
        failure = asFailure(e)
      }
    }
    if (request._tag === "Read") send({ _tag: "Failed", id: request.id, failure: failure! })
  })
}

if (!isMainThread) void serve()
