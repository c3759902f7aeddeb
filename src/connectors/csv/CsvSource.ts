/**
 * The `csv` source: streams an RFC 4180 file in chunks and decodes each record into a plain
 * object keyed by column name, with typed columns.
 *
 * - Columns: the header row names them (`header: true`, the default); without a header they are
 *   named by `columns` in its order, or `c1..cN`.
 * - Types: `columns` maps a column to `string` (default), `integer`, `number`, `boolean`,
 *   `timestamp` (a `Date`) or `json`; an empty field is `""` for a string column and `null`
 *   otherwise, or a record error for a `required` column.
 * - Errors: a field that does not decode, a record with the wrong number of fields or a syntax
 *   error fails with a `RecordError` whose location is `file:line:column` — the 1-based physical
 *   line where the record starts and the 1-based *field index* — and whose `field` is the column.
 *   With `on_error: dead_letter`, such a record is set aside in `dead_letter.path` instead (the
 *   kit's envelope, its text; exactly-once with checkpoints: `internal/deadLetters.ts`) and
 *   reading goes on — in every reader (a sink taking CSV bytes then gets checked records).
 * - Position: `{ offset, line }`, the byte offset and line of the next unread record; `seek`
 *   repositions the file there. `commit` does nothing (a file needs no acknowledgement).
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { ConnectorError, RejectedError } from "../../Errors.ts"
import { CsvSourceConfig } from "./CsvConfig.ts"
import { type Layout, makeLayout } from "./internal/columns.ts"
import { openRange } from "./internal/parallel.ts"
import { rangesFor } from "../kit/internal/rangeThread.ts"
import { openEncoded, plainStrings } from "./internal/encoded.ts"
import { type CsvRecord, feed, parseRecords } from "./internal/records.ts"
import { type FilePosition, FilePositionSchema, fileSourceChecks, seekTarget } from "../../internal/filePosition.ts"
import { CsvParser, END, MAX_RECORD_BYTES, NEED_MORE } from "./internal/parser.ts"
import { fileLetters, fileSourceResources, rewinding } from "../../internal/deadLetters.ts"
import { openTextFile, type TextFile } from "../../internal/textFile.ts"
import { unescapeFields } from "../../internal/utf8.ts"

const CONNECTOR = "csv"

export { decodePosition, type FilePosition } from "../../internal/filePosition.ts"

/**
 * Bytes of file each byte range should have at least for `auto` to split: a range thread costs
 * tens of milliseconds to start (a Node worker's own start-up is ~25 ms, then the worker's module,
 * open the file, find the range's start). Measured on 2 cores, shared and loaded (csv → filter →
 * ndjson, typed and untyped narrow rows, whole process; bench scenario 13): 2 ranges lose to 1 up
 * to ~8 MiB, are even to 1.17× faster at 9-10 MiB and 1.15-1.27× faster at 12-13 MiB, so a range of
 * 5 MiB (about 100,000 narrow rows) repays its thread.
 */
const AUTO_RANGE_BYTES = 5 * 1024 * 1024


const rejected = (operation: string, message: string) =>
  new ConnectorError({ connector: CONNECTOR, operation, reason: new RejectedError({ message }) })

/** Feeds the parser until it returns a record, the end or an error. */
const nextRecord = (parser: CsvParser, file: TextFile, fields: Array<string>) =>
  Effect.gen(function*() {
    for (;;) {
      const n = parser.next(fields)
      if (n !== NEED_MORE) return n
      yield* feed(parser, file)
    }
  })

/**
 * The `csv` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const CsvSource: Connector.SourceDefinition<CsvSourceConfig, CsvRecord> = Connector
  .source({
    type: CONNECTOR,
    description: "Reads an RFC 4180 CSV file as records keyed by column name, with typed columns",
    config: CsvSourceConfig,
    // without a header row, the columns are exactly the listed ones (with one, the header may have more)
    fields: (config) => (config.header === false && config.columns !== undefined ? Object.keys(config.columns) : undefined),
    capabilities: (config) => ({
      seekable: true,
      unbounded: false,
      fuses: ["filter", "map", "select", "rename"],
      autoParallelism: (cores) => rangesFor(config.path, cores, AUTO_RANGE_BYTES),
      // CSV bytes: string fields only, the reader of the bytes reads the same values (typed fields
      // are checked here); NDJSON: the range threads encode what they hand on for an ndjson sink
      encodes: plainStrings(config) ? ["text/csv", "application/x-ndjson"] : ["application/x-ndjson"]
    }),
    resources: (config) => fileSourceResources(config),
    // a byte offset and line (with the instance's byte range when read in parallel)
    position: () => FilePositionSchema,
    ...fileSourceChecks<CsvSourceConfig>(CONNECTOR),
    open: (config, context) =>
      Effect.gen(function*() {
        const path = config.path
        const delimiter = config.delimiter ?? ","
        const invalidUtf8 = config.invalid_utf8 ?? "error"
        const maxRecordBytes = config.max_record_bytes ?? MAX_RECORD_BYTES
        const file = yield* openTextFile(CONNECTOR, path, invalidUtf8)
        const fields: Array<string> = []
        let parser = new CsvParser(delimiter, 0, 1, maxRecordBytes)
        let names: ReadonlyArray<string> | undefined
        if (config.header !== false) {
          const n = yield* nextRecord(parser, file, fields)
          if (n === END) names = config.columns !== undefined ? Object.keys(config.columns) : []
          else if (n < 0) {
            const at = parser.errorField > 0 ? `${parser.errorLine}:${parser.errorField}` : `${parser.errorLine}`
            return yield* rejected("open", `${path}:${at}: the header: ${parser.errorMessage}`)
          } else {
            // invalid_utf8: replace — the header's bytes that are not UTF-8 read as U+FFFD, as the
            // records' do (the reader's escape, a lone surrogate, was left in the column names)
            if (parser.escaped) unescapeFields(fields, n)
            names = fields.slice(0, n)
          }
          const seen = new Set<string>()
          for (const name of names) {
            if (seen.has(name)) return yield* rejected("open", `${path}:1: the header names column '${name}' twice`)
            seen.add(name)
          }
          if (n !== END) {
            const missing = Object.keys(config.columns ?? {}).filter((c) => !seen.has(c))
            if (missing.length > 0) {
              return yield* rejected(
                "open",
                `${path}:1: column(s) ${missing.join(", ")} listed in config.columns are not in the header (${names.join(", ")})`
              )
            }
          }
        }
        const layout: Layout = makeLayout(names, config.columns, config.required)
        const letters = fileLetters(CONNECTOR, context, config)
        if (context.parallelism > 1) {
          // Each instance reads one byte range of the file on a worker thread.
          return rewinding(yield* openRange({
            path,
            delimiter,
            layout,
            headerEnd: config.header !== false ? parser.offset() : 0,
            node: context.node,
            index: context.instance,
            count: context.parallelism,
            fused: context.fused ?? [],
            maxRecordBytes,
            invalidUtf8,
            letters,
            encoding: context.encoding
          }), letters)
        }
        // (records handed on as bytes are not checked field by field: with on_error: dead_letter, each is)
        if (context.encoding === "text/csv" && layout.fixed >= 0 && delimiter.charCodeAt(0) < 128 && letters?.malformed !== true) {
          return rewinding(yield* openEncoded({
            path,
            delimiter,
            layout,
            offset: parser.offset(),
            line: parser.line,
            node: context.node,
            maxRecordBytes,
            invalidUtf8,
            letters
          }), letters)
        }
        let finished = false
        const position = (): FilePosition => ({ offset: parser.offset(), line: parser.line })
        const reader: Connector.SourceReader<CsvRecord> = {
          readBatch: (max) =>
            Effect.gen(function*() {
              if (finished) return undefined
              const records: Array<CsvRecord> = []
              finished = yield* parseRecords(parser, file, layout, path, max, records, letters, delimiter)
              if (records.length === 0) return undefined
              const readAt = yield* Clock.currentTimeMillis
              return Batch.make(records, { origin: { source: context.node, position: { ...position() } }, readAt })
            }),
          position: Effect.sync(() => ({ ...position() })),
          seek: (raw) =>
            Effect.map(seekTarget(CONNECTOR, "a csv position", raw), (target) => {
              parser = new CsvParser(delimiter, target.offset, target.line, maxRecordBytes)
              file.reposition(target.offset)
              finished = false
            }),
          commit: () => Effect.void
        }
        return rewinding(reader, letters)
      })
  })
