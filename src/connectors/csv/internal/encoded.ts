/**
 * The `csv` source reading for a sink that writes CSV bytes as they are (`OpenContext.encoding`
 * `text/csv`): batches of complete records are found with {@link scanPlain} and handed on as
 * `Batch.encoded` batches — counted, not parsed; the records are parsed only if something reads
 * them. A stretch of the file outside the plain subset (see scan.ts) is parsed here, as the
 * one-thread reader does, and handed on as ordinary records.
 *
 * Positions are the same `{ offset, line }` as the one-thread reader's: a checkpoint taken in
 * one mode restores in the other.
 *
 * Bytes handed on are UTF-8 text (checked per batch with `isUtf8`, native): a stretch that is not
 * is parsed, so it fails (or, with `invalid_utf8: replace`, is read with U+FFFD) exactly as with
 * the one-thread reader. A record still incomplete after `max_record_bytes` bytes is parsed too,
 * which refuses it. The buffer doubles when a record outgrows it, so a record spanning many chunks
 * is scanned a bounded number of times (linear time).
 */
import { Buffer } from "node:buffer"
import type { FileHandle } from "node:fs/promises"
import { open } from "node:fs/promises"
import { Clock, Effect } from "effect"
import * as Batch from "../../../Batch.ts"
import type * as Connector from "../../../Connector.ts"
import { RecordError } from "../../../Errors.ts"
import { seekTarget } from "../../../internal/filePosition.ts"
import { CHUNK_SIZE, fileError } from "../../../internal/textFile.ts"
import type { FileLetters } from "../../../internal/deadLetters.ts"
import { chunkDecoder, type InvalidUtf8, isText } from "../../../internal/utf8.ts"
import type { CsvSourceConfig } from "../CsvConfig.ts"
import { type Layout, STRING } from "./columns.ts"
import { CsvParser } from "./parser.ts"
import { type CsvRecord, parseBuffered, parseRecords, type TextInput } from "./records.ts"
import { type ScanResult, scanPlain } from "./scan.ts"

const CONNECTOR = "csv"

/**
 * Whether every field of a `csv` config is a string (no typed or required column): then a reader
 * of the bytes reads the same values as the source would.
 */
export const plainStrings = (config: CsvSourceConfig): boolean =>
  (config.required === undefined || config.required.length === 0) &&
  Object.values(config.columns ?? {}).every((t) => t === "string")

/**
 * Parses complete records held as bytes (what an encoded batch holds) — synchronously, for
 * `Batch.encoded`; throws the `RecordError` of a record that does not decode.
 */
const decodeBytes = (
  bytes: Uint8Array,
  delimiter: string,
  layout: Layout,
  path: string,
  offset: number,
  line: number
): ReadonlyArray<CsvRecord> => {
  // the bytes were checked to be text and their records to be within the size limit
  const parser = new CsvParser(delimiter, offset, line, Number.MAX_SAFE_INTEGER)
  parser.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))
  parser.end()
  const records: Array<CsvRecord> = []
  const r = parseBuffered(parser, layout, path, Number.POSITIVE_INFINITY, records)
  if (r instanceof RecordError) throw r
  return records
}

/** What {@link openEncoded} needs. */
export interface EncodedOptions {
  readonly path: string
  readonly delimiter: string
  readonly layout: Layout
  /** Byte offset and line of the first record (after the header). */
  readonly offset: number
  readonly line: number
  readonly node: string
  readonly maxRecordBytes: number
  readonly invalidUtf8: InvalidUtf8
  /** Where records over `maxRecordBytes` go (`oversize: dead_letter`); they fail without. */
  readonly letters: FileLetters | undefined
}

/** Opens the encoded reader in the current scope (the file is closed with it). */
export const openEncoded = (options: EncodedOptions) =>
  Effect.gen(function*() {
    const { path, delimiter, layout, node, maxRecordBytes, invalidUtf8 } = options
    const handle: FileHandle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => open(path, "r"), catch: (e) => fileError(CONNECTOR, "open", path, e) }),
      (h) => Effect.promise(() => h.close()).pipe(Effect.ignore)
    )
    const delimCode = delimiter.charCodeAt(0)
    const encoding: Omit<Batch.CsvEncoded, "bytes" | "line"> = {
      format: "text/csv",
      delimiter,
      columns: [...layout.names],
      emptyIsNull: layout.kinds.map((k) => k !== STRING),
      file: path
    }
    /** Unconsumed bytes: `buf` starts at file offset `offset` (a record boundary). */
    let buf: Buffer = Buffer.alloc(0)
    let offset = options.offset
    let line = options.line
    let eof = false
    const scan: ScanResult = { end: 0, records: 0, lines: 0, odd: false }

    /**
     * Appends the next chunk of the file to `buf` (read into a new buffer after a copy of the
     * unconsumed bytes: earlier batches keep views of the old one); returns the new bytes (empty at
     * the end).
     */
    const readMore = Effect.suspend(() => {
      const kept = buf.length
      const next = Buffer.allocUnsafe(kept + Math.max(CHUNK_SIZE, kept))
      buf.copy(next, 0)
      return Effect.tryPromise({
        try: () => handle.read(next, kept, next.length - kept, offset + kept),
        catch: (e) => fileError(CONNECTOR, "read", path, e)
      }).pipe(Effect.map(({ bytesRead }) => {
        if (bytesRead === 0) {
          eof = true
          return next.subarray(0, 0)
        }
        buf = next.subarray(0, kept + bytesRead)
        return next.subarray(kept, kept + bytesRead)
      }))
    })

    const consume = (bytes: number, lines: number) => {
      buf = buf.subarray(bytes)
      offset += bytes
      line += lines
    }

    /** Reads the next chunk at file offset `at` into a new buffer (empty at the end). */
    const readAt = (at: number) =>
      Effect.suspend(() => {
        const chunk = Buffer.allocUnsafe(CHUNK_SIZE)
        return Effect.tryPromise({
          try: () => handle.read(chunk, 0, CHUNK_SIZE, at),
          catch: (e) => fileError(CONNECTOR, "read", path, e)
        }).pipe(Effect.map(({ bytesRead }) => chunk.subarray(0, bytesRead)))
      })

    /**
     * Parses a batch (at most `max` records) starting at a record the scanner left to the parser.
     * The bytes it reads are not kept (a record it skips may be larger than memory should hold):
     * afterwards the reader goes on from the parser's position, reading again what it read ahead.
     */
    const parseBatch = (max: number) =>
      Effect.gen(function*() {
        const parser = new CsvParser(delimiter, offset, line, maxRecordBytes)
        const decoder = chunkDecoder(invalidUtf8)
        const start = offset
        const records: Array<CsvRecord> = []
        let fresh: Uint8Array | undefined = buf.length > 0 ? buf : undefined
        let next = offset + buf.length
        const input: TextInput = {
          read: Effect.gen(function*() {
            for (;;) {
              const bytes: Uint8Array = fresh ?? (yield* readAt(next))
              fresh = undefined
              if (bytes !== buf) next += bytes.length
              if (decoder.invalidAt() >= 0) return undefined
              if (bytes.length === 0) {
                const rest = decoder.end()
                return rest.length > 0 ? rest : undefined
              }
              const text = decoder.write(bytes)
              if (text.length > 0 || decoder.invalidAt() >= 0) return text.length > 0 ? text : undefined
            }
          }),
          invalid: () => {
            const at = decoder.invalidAt()
            return at < 0 ? undefined : { offset: start + at, detail: decoder.invalidDetail() }
          },
          escaped: () => decoder.escaped()
        }
        yield* parseRecords(parser, input, layout, path, max, records, options.letters, options.delimiter)
        buf = Buffer.alloc(0)
        offset = parser.offset()
        line = parser.line
        eof = false
        return records
      })

    const origin = () => ({ source: node, position: { offset, line } })

    /** A batch of parsed records (see `parseBatch`), or `undefined` at the end. */
    const parsed = (max: number) =>
      Effect.gen(function*() {
        const records = yield* parseBatch(max)
        if (records.length === 0) return undefined
        const readAt = yield* Clock.currentTimeMillis
        return Batch.make<CsvRecord>(records, { origin: origin(), readAt })
      })

    const reader: Connector.SourceReader<CsvRecord> = {
      readBatch: (max) =>
        Effect.gen(function*() {
          let scanned = 0
          let records = 0
          let lines = 0
          for (;;) {
            if (offset === 0 && scanned === 0) {
              // a byte order mark at the very start (a file without a header): the parser skips it
              if (buf.length < 3 && !eof) {
                yield* readMore
                continue
              }
              if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return yield* parsed(max)
            }
            const from = scanned
            scanPlain(buf, scanned, buf.length, max - records, delimCode, eof, scan, maxRecordBytes)
            // bytes that are not text, and records over the limit, are the parser's to report
            // (it reads them exactly as the one-thread reader does)
            const odd = scan.odd || (scan.end > from && !isText(buf.subarray(from, scan.end)))
            if (!odd) {
              scanned = scan.end
              records += scan.records
              lines += scan.lines
            }
            const oversized = buf.length - scanned > maxRecordBytes
            if (records > 0 && (records >= max || odd || oversized || eof)) break
            // a stretch the plain subset does not cover, or bytes at the end that are not a
            // complete record: the parser reads (or reports) them
            if (odd || oversized || eof) return buf.length === 0 ? undefined : yield* parsed(max)
            yield* readMore
          }
          const bytes = buf.subarray(0, scanned)
          const first = { offset, line }
          consume(scanned, lines)
          const readAt = yield* Clock.currentTimeMillis
          return Batch.encoded<CsvRecord>(
            { ...encoding, bytes, line: first.line },
            records,
            () => decodeBytes(bytes, delimiter, layout, path, first.offset, first.line),
            { origin: origin(), readAt }
          )
        }),
      position: Effect.sync(() => ({ offset, line })),
      seek: (raw) =>
        Effect.map(seekTarget(CONNECTOR, "a csv position", raw), (target) => {
          buf = Buffer.alloc(0)
          offset = target.offset
          line = target.line
          eof = false
        }),
      commit: () => Effect.void
    }
    return reader
  })
