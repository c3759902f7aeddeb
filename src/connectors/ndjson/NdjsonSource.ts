/**
 * The `ndjson` source: streams a file of JSON objects, one per line, in chunks.
 *
 * Blank lines (empty or only whitespace) are skipped. A line that is not valid JSON, or whose
 * value is not an object, fails with a `RecordError` located at `file:line` that quotes the JSON
 * error. Position: `{ offset, line }`, the byte offset and 1-based line of the next unread line;
 * `seek` repositions the file there; `commit` does nothing.
 *
 * Values are never changed silently (see `src/internal/json.ts`): an integer beyond ±(2^53 − 1)
 * fails (or is read as a `bigint` or a string, `big_integers`), a number beyond the range of a
 * double fails, a value nested deeper than `max_depth` fails, and so do a line longer than
 * `max_record_bytes` and bytes that are not UTF-8 (unless `invalid_utf8: replace`) — each with
 * `file:line:column` and the field. With a `schema` (from the DSL's `Ndjson.source({ path,
 * schema })`), each object is decoded by it as it is read; one it does not decode fails with a
 * `RecordError` at `file:line` naming the field (fields the Schema does not declare are kept).
 *
 * With `on_error: dead_letter`, each of those malformed lines (but bytes that are not UTF-8,
 * which end the text) is set aside in `dead_letter.path` instead — the kit's envelope with
 * `file`, `line`, `column` and `field` where known, the reason and the line's text — and reading
 * goes on; with `oversize: dead_letter`, so is a line over `max_record_bytes`. The entries of a
 * batch are appended before it is returned; the file is rewound on `seek` and started afresh by
 * a run that does not seek (`internal/deadLetters.ts`), so each is in it once after a restore.
 *
 * Parallel reading (`parallelism: n`, or `auto`: one instance per core for a file of at least
 * {@link AUTO_RANGE_BYTES} per instance): instance `i` of `n > 1` reads byte range `i` — the lines
 * starting in the `i`-th of `n` equal cuts of the file (see `internal/range.ts`) — on a worker
 * thread of its own (`internal/rangeReader.ts`, `src/workers/internal/ndjsonRange.ts`), with the
 * `filter`/`map`/`select`/`rename` nodes after it fused into the thread and, when an `ndjson` or
 * `csv` sink is the only consumer, the NDJSON lines or CSV rows written there; positions are `{ offset, line, range }`.
 * With a `schema` (a function, which cannot cross to a thread), a file is read by one instance,
 * and a cluster part reads its range on the main thread.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { stat } from "node:fs/promises"
import { Clock, Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { RecordError } from "../../Errors.ts"
import { END, LineSplitter, MAX_LINE_BYTES, NEED_MORE, NOT_TEXT, TOO_LARGE } from "./internal/lines.ts"
import { lineRange } from "./internal/range.ts"
import { decodeAll } from "../../internal/decode.ts"
import { FilePositionSchema, fileSourceChecks, seekTarget } from "../../internal/filePosition.ts"
import { openRangeThread, RANGE_CHUNK, rangesFor } from "../kit/internal/rangeThread.ts"
import type { NdjsonRangeWorkerData } from "./internal/rangeReader.ts"
import { fileLetters, fileSourceResources, rewinding, type SetAside } from "../../internal/deadLetters.ts"
import { MAX_DEPTH, walkText } from "../../internal/json.ts"
import { excerpt, isBlank, LineProblem, lineValue } from "./internal/lineValue.ts"
import { fileError, openTextFile } from "../../internal/textFile.ts"
import { notTextMessage, replaceEscapes } from "../../internal/utf8.ts"
import { NdjsonSourceConfig } from "./NdjsonConfig.ts"

const CONNECTOR = "ndjson"

/** The range thread's program (located like the csv source's, relative to this module). */
const entry = new URL("../../workers/internal/ndjsonRange.ts", import.meta.url)

/**
 * Bytes of file each byte range should have at least for `auto` to split: a range thread costs
 * tens of milliseconds to start. Measured on 2 cores, idle (narrow NDJSON → filter → NDJSON, whole
 * process; bench scenario 13): 2 ranges lose to 1 up to 6 MiB (0.76-0.95), are even at 8 MiB
 * (0.95 with 10 % kept, 1.12 with 90 %), so as for the csv source a range of 5 MiB repays its
 * thread (two ranges from 10 MiB).
 */
const AUTO_RANGE_BYTES = 5 * 1024 * 1024

/**
 * The `ndjson` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const NdjsonSource: Connector.SourceDefinition<NdjsonSourceConfig, object> = Connector.source({
  type: CONNECTOR,
  description: "Reads a file of JSON objects, one per line",
  config: NdjsonSourceConfig,
  capabilities: (config) =>
    config.schema !== undefined
      ? { seekable: true, unbounded: false, maxParallelism: 1, maxParallelismReason: "a schema's decoding runs on the main thread: the file is read by one instance" }
      : {
        seekable: true,
        unbounded: false,
        fuses: ["filter", "map", "select", "rename"],
        autoParallelism: (cores) => rangesFor(config.path, cores, AUTO_RANGE_BYTES),
        // the range threads write NDJSON lines for an ndjson sink, CSV rows for a csv sink
        encodes: ["application/x-ndjson", "application/x-csv-rows"]
      },
  // a byte offset and line (with the instance's byte range when read in parallel)
  position: () => FilePositionSchema,
  resources: (config) => fileSourceResources(config),
  ...fileSourceChecks<NdjsonSourceConfig>(CONNECTOR),
  open: (config, context) =>
    Effect.gen(function*() {
      const path = config.path
      const decode = config.schema
      const maxLineBytes = config.max_record_bytes ?? MAX_LINE_BYTES
      const json = { maxDepth: config.max_depth ?? MAX_DEPTH, bigIntegers: config.big_integers ?? "error" } as const
      const letters = fileLetters(CONNECTOR, context, config)
      if (context.parallelism > 1 && decode === undefined) {
        const info = yield* Effect.tryPromise({ try: () => stat(path), catch: (e) => fileError(CONNECTOR, "open", path, e) })
        const data: NdjsonRangeWorkerData = {
          path,
          size: info.size,
          index: context.instance,
          count: context.parallelism,
          chunkSize: RANGE_CHUNK,
          maxLineBytes,
          invalidUtf8: config.invalid_utf8 ?? "error",
          maxDepth: json.maxDepth,
          bigIntegers: json.bigIntegers,
          setAside: letters?.oversize === true,
          rejects: letters?.malformed === true,
          fused: context.fused ?? [],
          encode: context.encoding === "application/x-ndjson" ? "ndjson" : context.encoding === "application/x-csv-rows" ? "csv" : undefined
        }
        const reader = yield* openRangeThread({
          connector: CONNECTOR,
          entry,
          data,
          path,
          node: context.node,
          index: context.instance,
          count: context.parallelism,
          letters
        })
        return rewinding(reader, letters)
      }
      const file = yield* openTextFile(CONNECTOR, path, config.invalid_utf8 ?? "error")
      // instance `i` of `n > 1` with a schema (a cluster part): the lines starting in byte range `i`
      const range = context.parallelism > 1
        ? yield* Effect.tryPromise({ try: () => lineRange(path, context.instance, context.parallelism), catch: (e) => fileError(CONNECTOR, "open", path, e) })
        : { start: 0, line: 1, end: Number.POSITIVE_INFINITY }
      const bounded = Number.isFinite(range.end)
      let lines = new LineSplitter(range.start, range.line, maxLineBytes)
      if (range.start > 0) file.reposition(range.start)
      const setAside = letters?.oversize === true
      const reject = letters?.malformed === true
      /** Entries of this batch's records set aside, appended before the batch is handed on. */
      const pending: Array<SetAside> = []
      // one instance (maxParallelism: 1, refused or capped when the workflow is prepared), or a cluster part's range
      let finished = false
      const position = () => ({ offset: lines.offset(), line: lines.line })
      const fail = (detail: string, column?: number, field?: string, record?: string) =>
        new RecordError({
          detail,
          location: { file: path, line: lines.valueLine, ...(column !== undefined ? { column } : {}) },
          ...(field !== undefined ? { field } : {}),
          ...(record !== undefined ? { record: excerpt(record) } : {})
        })
      /** A malformed line: its error (`on_error: fail`), or `undefined` once it is set aside. */
      const malformed = (detail: string, text: string, column?: number, field?: string): RecordError | undefined => {
        if (!reject) return fail(detail, column, field, column === undefined ? text : undefined)
        pending.push({ line: lines.valueLine, column, field, error: detail, record: text })
        return undefined
      }
      const flush = Effect.suspend(() => (pending.length === 0 || letters === undefined ? Effect.void : letters.write(pending.splice(0))))
      const reader: Connector.SourceReader<object> = {
        readBatch: (max) =>
          Effect.gen(function*() {
            if (finished) return undefined
            const records: Array<object> = []
            while (records.length < max) {
              // the next range's first line: this range is read
              if (bounded && lines.offset() >= range.end) {
                finished = true
                break
              }
              const status = lines.next()
              if (status === NEED_MORE) {
                const chunk = yield* file.read
                if (file.escaped()) lines.escaped = true
                if (chunk !== undefined) lines.push(chunk)
                else if (file.invalid() !== undefined) lines.stop()
                else lines.end()
                continue
              }
              if (status === END) {
                finished = true
                break
              }
              if (status === TOO_LARGE) {
                const detail = `the line is longer than max_record_bytes (${maxLineBytes} bytes): raise max_record_bytes in the source's config to read it`
                if (!setAside) return yield* new RecordError({ detail, location: { file: path, line: lines.line } })
                pending.push({ line: lines.line, offset: lines.offset(), error: detail, head: lines.head(200) })
                lines.skip()
                continue
              }
              const text = lines.escaped ? replaceEscapes(lines.value) : lines.value
              if (status === NOT_TEXT) {
                const at = walkText(text, json.maxDepth, () => undefined)
                return yield* fail(notTextMessage(file.invalid()!), Buffer.byteLength(text, "utf8") + 1, at.field)
              }
              if (isBlank(text)) continue
              const value = lineValue(text, json)
              if (value instanceof LineProblem) {
                const error = malformed(value.detail, text, value.column, value.field)
                if (error !== undefined) return yield* error
                continue
              }
              if (decode !== undefined) {
                const decoded = decodeAll(decode, value, "ignore")
                if (!decoded.ok) {
                  const issue = decoded.issues[0]
                  const error = malformed(issue.message, text, undefined, issue.path.length > 0 ? issue.path.map(String).join(".") : undefined)
                  if (error !== undefined) return yield* error
                  continue
                }
                // the fields the Schema does not declare are kept as they were
                records.push({ ...value, ...decoded.value })
              } else records.push(value)
            }
            // the entries of the lines read with these records go first: a checkpoint after the batch covers them
            yield* flush
            if (records.length === 0) return undefined
            const readAt = yield* Clock.currentTimeMillis
            return Batch.make(records, { origin: { source: context.node, position: position() }, readAt })
          }),
        position: Effect.sync(position),
        seek: (raw) =>
          Effect.map(seekTarget(CONNECTOR, "an ndjson position", raw), (target) => {
            lines = new LineSplitter(target.offset, target.line, maxLineBytes)
            file.reposition(target.offset)
            finished = false
            pending.length = 0
          }),
        commit: () => Effect.void
      }
      return rewinding(reader, letters)
    })
})
