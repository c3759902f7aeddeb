/**
 * The main-thread side of a parallel file source instance (`csv`, `ndjson`): one worker thread
 * per instance reads one byte range of the file (the thread's program is given: see
 * `src/workers/internal/`; the protocol is `rangeProtocol.ts`), and this reader pulls batches from
 * it — two requests in flight, so the thread parses the next batch while the runtime handles the
 * last one, and never more, so a slow sink slows the thread (backpressure).
 *
 * Positions are `{ offset, line, range: { index, count } }`: a restore seeks the thread inside its
 * range; a position of another split (or of a serial read) is refused rather than misread.
 */
import { Buffer } from "node:buffer"
import { statSync } from "node:fs"
import { Worker } from "node:worker_threads"
import { Clock, Effect, type Scope } from "effect"
import * as Batch from "../../../Batch.ts"
import type { SourceReader } from "../../../Connector.ts"
import { ConnectorError, NodeError, RecordError, RejectedError } from "../../../Errors.ts"
import type { FileLetters } from "../../../internal/deadLetters.ts"
import { FilePositionSchema } from "../../../internal/filePosition.ts"
import { MAX_DEPTH, parseJson } from "../../../internal/json.ts"
import { fileError } from "../../../internal/textFile.ts"
import { workerExecArgv } from "../../../workers/internal/execArgv.ts"
import { CsvParser } from "../../csv/internal/parser.ts"
import * as Positions from "../Positions.ts"
import type { RangeFailure, RangeReply, RangeRequest } from "./rangeProtocol.ts"

/**
 * The young generation of a range thread, in MB. Its garbage is one batch's records at a time; V8's
 * default lets the young generation grow with the run (tens of MB per thread, RSS growing with
 * the input's size). 16 rather than 8: with 8, scavenges copied the live batch so often that they
 * took 26 % of a thread's time on wide typed rows (12 % with 16; the same peak RSS).
 */
const RANGE_YOUNG_MB = 16

/** Bytes a worker reads at a time: as `CHUNK_SIZE` of textFile.ts, under V8's large-object size. */
export const RANGE_CHUNK = 64 * 1024

/**
 * How many byte ranges `auto` reads a file in: one per core, no more than its size repays at
 * `bytesPerRange` bytes per range (a range thread costs tens of milliseconds to start); 1 when
 * unsure (a missing or unreadable file: the source's check and open report it).
 */
export const rangesFor = (path: string, cores: number, bytesPerRange: number): number => {
  try {
    const stats = statSync(path)
    return stats.isFile() ? Math.max(1, Math.min(cores, Math.floor(stats.size / bytesPerRange))) : 1
  } catch {
    return 1
  }
}

/** The position of a parallel instance. */
export interface RangePosition {
  readonly offset: number
  readonly line: number
  readonly range: { readonly index: number; readonly count: number }
}

/** Reads a {@link RangePosition} back; `undefined` when it is not one. */
export const decodeRangePosition = (raw: unknown): RangePosition | undefined => {
  const result = Positions.decode(FilePositionSchema, raw)
  return result.ok && result.value.range !== undefined ? { offset: result.value.offset, line: result.value.line, range: result.value.range } : undefined
}

/** Options of {@link openRangeThread}. */
export interface RangeThreadOptions {
  /** The source's type, for errors. */
  readonly connector: string
  /** The thread's program: a module of `src/workers/internal/`, located relative to the source's module. */
  readonly entry: URL
  /** The thread's `workerData`. */
  readonly data: unknown
  readonly path: string
  readonly node: string
  readonly index: number
  readonly count: number
  /**
   * Where the records the thread set aside go (`oversize: dead_letter`, `on_error: dead_letter`);
   * the thread fails without.
   */
  readonly letters: FileLetters | undefined
}

/**
 * The records of NDJSON lines a range thread encoded, parsed back (only when something reads a
 * batch's records rather than its bytes; integers beyond a double come back as `bigint`).
 */
const parseLines = (bytes: Uint8Array): Array<RangeRow> => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
  const records: Array<RangeRow> = []
  for (let from = 0; from < text.length;) {
    const to = text.indexOf("\n", from)
    records.push(parseJson(text.slice(from, to), { maxDepth: MAX_DEPTH, bigIntegers: "bigint" }) as RangeRow)
    from = to + 1
  }
  return records
}

const ROW_TYPES_NUMBER = 1
const ROW_TYPES_BOOLEAN = 2
const ROW_TYPES_NULL = 3
const ROW_TYPES_BIGINT = 4

/**
 * The records of CSV rows a range thread encoded (`Batch.CsvRowsEncoded`), read back with the
 * `csv` source's parser and each value's kind: the very values the thread wrote (only when
 * something reads a batch's records rather than its bytes).
 */
export const parseRows = (encoded: Batch.CsvRowsEncoded, count: number): Array<RangeRow> => {
  const { columns, types } = encoded
  const k = columns.length
  const parser = new CsvParser(encoded.delimiter, 0, 1, Number.MAX_SAFE_INTEGER)
  parser.push(Buffer.from(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.byteLength).toString("utf8"))
  parser.end()
  const fields: Array<string> = []
  const records: Array<RangeRow> = []
  for (let r = 0; r < count; r++) {
    const n = parser.next(fields)
    if (n !== k) throw new Error(`encoded CSV rows: row ${r + 1} has ${n} fields, expected ${k}`)
    const record: { [column: string]: unknown } = {}
    for (let i = 0; i < k; i++) {
      const type = types[r * k + i]
      const field = fields[i]
      Object.defineProperty(record, columns[i], {
        value: type === ROW_TYPES_NUMBER ? Number(field) : type === ROW_TYPES_BOOLEAN ? field === "true" : type === ROW_TYPES_NULL ? null : type === ROW_TYPES_BIGINT ? BigInt(field) : field,
        enumerable: true,
        writable: true,
        configurable: true
      })
    }
    records.push(record)
  }
  return records
}

const rejected = (connector: string, operation: string, message: string) =>
  new ConnectorError({ connector, operation, reason: new RejectedError({ message }) })

/** Turns a worker's failure into the error the serial reader would give (a step's names its node). */
const toError = (connector: string, path: string, failure: RangeFailure): Effect.Effect<never, ConnectorError | RecordError> => {
  switch (failure._tag) {
    case "Record":
      return Effect.fail(
        new RecordError({
          detail: failure.detail,
          location: { file: path, line: failure.line, ...(failure.column > 0 ? { column: failure.column } : {}) },
          ...(failure.field !== undefined ? { field: failure.field } : {}),
          ...(failure.record !== undefined ? { record: failure.record } : {})
        })
      )
    case "Io":
      return Effect.fail(fileError(connector, failure.operation, path, Object.assign(new Error(failure.message), { code: failure.code })))
    case "Step": {
      const cause = failure.name === "RecordError"
        ? new RecordError({
          detail: failure.detail ?? failure.message,
          ...(failure.field !== undefined ? { field: failure.field } : {}),
          ...(failure.record !== undefined ? { record: failure.record } : {})
        })
        : Object.assign(new Error(failure.message), { name: failure.name })
      // A fused node failed: blame that node, as its own task would have (the runtime keeps a
      // NodeError as it is).
      return Effect.die(new NodeError({ node: failure.node, cause }))
    }
  }
}

/** A record a range thread hands on (the records of fused nodes are what their last node makes). */
export type RangeRow = { readonly [column: string]: unknown }

/**
 * Starts the thread of range `index` of `count` in the current scope (it ends with it) and reads
 * from it.
 */
export const openRangeThread = (
  options: RangeThreadOptions
): Effect.Effect<SourceReader<RangeRow> & { readonly fusedCounts: () => ReadonlyArray<number> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { connector, path, index, count } = options
    // Replies by request id; `fatal` once the thread failed or died.
    const arrived = new Map<number, RangeReply>()
    /** Read requests whose answer is still wanted. */
    const live = new Set<number>()
    const waiters = new Map<number, () => void>()
    let start: { readonly offset: number; readonly line: number } | undefined
    let fatal: RangeFailure | undefined
    let closing = false
    const wakeAll = () => {
      for (const w of waiters.values()) w()
      waiters.clear()
    }
    const worker = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const argv = workerExecArgv()
        const w = new Worker(options.entry, { workerData: options.data, resourceLimits: { maxYoungGenerationSizeMb: RANGE_YOUNG_MB }, ...(argv === undefined ? {} : { execArgv: argv }) })
        w.on("message", (reply: RangeReply) => {
          if (reply._tag === "Start") {
            start = { offset: reply.offset, line: reply.line }
            waiters.get(0)?.()
            waiters.delete(0)
            return
          }
          if (reply._tag === "Failed" && reply.id === 0) {
            fatal = reply.failure
            return wakeAll()
          }
          if (!live.has(reply.id)) return
          live.delete(reply.id)
          arrived.set(reply.id, reply)
          const w = waiters.get(reply.id)
          if (w !== undefined) {
            waiters.delete(reply.id)
            w()
          }
        })
        w.on("error", (e) => {
          fatal = { _tag: "Io", operation: "read", code: "", message: `the reader thread failed: ${e instanceof Error ? e.message : String(e)}` }
          wakeAll()
        })
        w.on("exit", (code) => {
          if (closing) return
          fatal ??= { _tag: "Io", operation: "read", code: "", message: `the reader thread exited (code ${code})` }
          wakeAll()
        })
        return w
      }),
      (w) =>
        Effect.promise(() => {
          closing = true
          return w.terminate()
        }).pipe(Effect.ignore)
    )
    const post = (request: RangeRequest) => worker.postMessage(request)
    /** Waits for reply `id` (0: the start). */
    const await_ = (id: number) =>
      Effect.callback<void>((resume) => {
        const ready = id === 0 ? start !== undefined : arrived.has(id)
        if (ready || fatal !== undefined) return resume(Effect.void)
        waiters.set(id, () => resume(Effect.void))
      })
    let nextId = 1
    let inflight: Array<{ readonly id: number; readonly max: number }> = []
    let current: { offset: number; line: number } | undefined
    let done = false
    let counts: ReadonlyArray<number> = []
    /** Forgets the requests in flight (their answers are ignored when they come). */
    const drop = () => {
      for (const r of inflight) {
        live.delete(r.id)
        arrived.delete(r.id)
      }
      inflight = []
    }
    const position = Effect.gen(function*() {
      if (current === undefined) {
        yield* await_(0)
        // The thread failed before it found its range: `readBatch` reports why.
        if (start === undefined) return yield* Effect.orDie(toError(connector, path, fatal!))
        current = { ...start }
      }
      return { offset: current.offset, line: current.line, range: { index, count } }
    })
    const reader: SourceReader<RangeRow> & { readonly fusedCounts: () => ReadonlyArray<number> } = {
      fusedCounts: () => counts,
      readBatch: (max) =>
        Effect.gen(function*() {
          if (done) return undefined
          if (inflight.some((r) => r.max > max)) {
            // Batches asked for ahead are larger than wanted now: drop them and read again from here.
            const at = yield* position
            post({ _tag: "Seek", id: nextId++, offset: at.offset, line: at.line })
            drop()
          }
          while (inflight.length < 2) {
            const id = nextId++
            live.add(id)
            post({ _tag: "Read", id, max })
            inflight.push({ id, max })
          }
          const { id } = inflight.shift()!
          yield* await_(id)
          const reply = arrived.get(id)
          arrived.delete(id)
          if (reply === undefined) return yield* toError(connector, path, fatal!)
          if (reply._tag === "Failed") return yield* toError(connector, path, reply.failure)
          if (reply._tag !== "Batch") return yield* toError(connector, path, { _tag: "Io", operation: "read", code: "", message: "unexpected reply" })
          if (reply.setAside.length > 0 && options.letters !== undefined) yield* options.letters.write(reply.setAside)
          current = { offset: reply.offset, line: reply.line }
          if (reply.counts !== undefined) counts = reply.counts
          const ndjson = reply.ndjson
          const csv = reply.csv
          if (reply.done) {
            done = true
            drop()
            if (reply.records.length === 0 && ndjson === undefined && csv === undefined) return undefined
          }
          const readAt = yield* Clock.currentTimeMillis
          const origin = { source: options.node, position: { offset: reply.offset, line: reply.line, range: { index, count } } }
          if (ndjson !== undefined) {
            const { bytes } = ndjson
            return Batch.encoded<RangeRow>({ format: "application/x-ndjson", bytes }, ndjson.count, () => parseLines(bytes), { origin, readAt })
          }
          if (csv !== undefined) {
            const encoded: Batch.CsvRowsEncoded = { format: "application/x-csv-rows", bytes: csv.bytes, delimiter: ",", columns: csv.columns, types: csv.types }
            return Batch.encoded<RangeRow>(encoded, csv.count, () => parseRows(encoded, csv.count), { origin, readAt })
          }
          return Batch.make(reply.records as Array<RangeRow>, { origin, readAt })
        }),
      position,
      seek: (raw) =>
        Effect.suspend(() => {
          const target = decodeRangePosition(raw)
          if (target === undefined || target.range.index !== index || target.range.count !== count) {
            return Effect.fail(
              rejected(
                connector,
                "seek",
                `not a position of range ${index + 1} of ${count} of this ${connector} source: ${JSON.stringify(raw)} (was the source's parallelism changed? run with --from-scratch)`
              )
            )
          }
          post({ _tag: "Seek", id: nextId++, offset: target.offset, line: target.line })
          drop()
          current = { offset: target.offset, line: target.line }
          done = false
          return Effect.void
        }),
      commit: () => Effect.void
    }
    return reader
  })
