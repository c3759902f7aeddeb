/**
 * Reading one byte range of an NDJSON file: what a worker thread of a parallel `ndjson` source
 * does (its program is `src/workers/internal/ndjsonRange.ts`). No Effect here: this runs inside a
 * worker thread, where loading less is starting sooner.
 *
 * The ranges are those of `range.ts` (the lines *starting* in the `i`-th of `n` equal cuts of the
 * file): a JSON line holds no raw line feed, so every line feed ends a line and the ranges
 * partition the file's lines whatever the cuts. Each thread finds its own start and end (a scan
 * from each cut to the next line feed) and its first line's number (the line feeds before it,
 * counted with `indexOf`), then reads `[start, end)` as the serial reader reads the whole file:
 * the same splitter (`lines.ts`), decoder (`utf8.ts`) and line checks (`lineValue.ts`), so a line
 * is accepted, refused or set aside alike, with the same `file:line:column`.
 */
import { Buffer } from "node:buffer"
import { readSync } from "node:fs"
import type { BigIntegers } from "../../../internal/json.ts"
import { lastHadNegativeZero, walkText } from "../../../internal/json.ts"
import { type InvalidUtf8, notTextMessage, replaceEscapes } from "../../../internal/utf8.ts"
import { RangeFile } from "../../kit/internal/rangeFile.ts"
import { type FusedNode, ioFailure, RangeReadError, type RangeSetAside } from "../../kit/internal/rangeProtocol.ts"
import { END, LineSplitter, NEED_MORE, NOT_TEXT, TOO_LARGE } from "./lines.ts"
import { excerpt, isBlank, LineProblem, lineValue } from "./lineValue.ts"
import { nominalCut } from "./range.ts"

/** What a range reader starts from (with the fused nodes and the encoding: a thread's `workerData`). */
export interface NdjsonRangeInit {
  readonly path: string
  /** File size when the source was opened. */
  readonly size: number
  readonly index: number
  readonly count: number
  readonly chunkSize: number
  readonly maxLineBytes: number
  readonly invalidUtf8: InvalidUtf8
  readonly maxDepth: number
  readonly bigIntegers: BigIntegers
  /** `oversize: dead_letter`: lines over `maxLineBytes` are skipped and reported with the batch. */
  readonly setAside: boolean
  /** `on_error: dead_letter`: malformed lines are skipped and reported with the batch. */
  readonly rejects: boolean
}

/** A range thread's `workerData`. */
export interface NdjsonRangeWorkerData extends NdjsonRangeInit {
  readonly fused: ReadonlyArray<FusedNode>
  /**
   * `ndjson`: the thread hands on the records as NDJSON lines (the source's only consumer is an
   * `ndjson` sink); `csv`: as CSV rows (`Batch.CsvRowsEncoded`, a `csv` sink), batch by batch
   * where the records are uniform.
   */
  readonly encode: "ndjson" | "csv" | undefined
}

/** One answer of a range reader: records, and the position after them. */
export interface NdjsonRangeBatch {
  readonly records: Array<unknown>
  /** Lines set aside (`oversize`/`on_error: dead_letter`), in file order. */
  readonly setAside: Array<RangeSetAside>
  /** Whether a line read for this batch holds `-0` (which `JSON.stringify` writes as `0`). */
  readonly negativeZero: boolean
  readonly offset: number
  readonly line: number
  /** True when the range is exhausted (no further read returns records). */
  readonly done: boolean
}

const LF = 0x0a

/**
 * Records parsed before the fused steps run on them: few, so that what a young-generation
 * collection finds alive (and copies) is small — the records the steps drop die young.
 */
const STEP_RECORDS = 128

/**
 * The reader of one range, synchronous (a worker thread has nothing else to do). Call
 * {@link NdjsonRangeReader.start} once, then {@link NdjsonRangeReader.read} until `done`.
 */
export class NdjsonRangeReader {
  private readonly file: RangeFile
  private readonly json: { readonly maxDepth: number; readonly bigIntegers: BigIntegers }
  private lines: LineSplitter
  /** End of the range (the next range's start), once known. */
  private end = 0
  private finished = false
  private steps: ((records: Array<unknown>) => Array<unknown>) | undefined

  readonly init: NdjsonRangeInit
  constructor(init: NdjsonRangeInit) {
    this.init = init
    this.file = new RangeFile(init.path, init.chunkSize, init.invalidUtf8)
    this.json = { maxDepth: init.maxDepth, bigIntegers: init.bigIntegers }
    this.lines = new LineSplitter(0, 1, init.maxLineBytes)
  }

  /** Finds where this range starts and ends; returns its start (offset and line). */
  start(): { readonly offset: number; readonly line: number } {
    const { index, count, size } = this.init
    let offset: number
    try {
      offset = this.lineStartFrom(nominalCut(size, count, index))
      this.end = index + 1 >= count ? size : Math.max(offset, this.lineStartFrom(nominalCut(size, count, index + 1)))
    } catch (e) {
      throw ioFailure("read", e)
    }
    const line = 1 + this.file.lineFeeds(offset)
    this.seek(offset, line)
    return { offset, line }
  }

  /** Runs `run` (a fused chain over a whole array) on each batch of parsed records. */
  fuse(run: (records: Array<unknown>) => Array<unknown>): void {
    this.steps = run
  }

  /** Continue at `offset` / `line` (inside this range). */
  seek(offset: number, line: number): void {
    this.lines = new LineSplitter(offset, line, this.init.maxLineBytes)
    this.file.restart(offset)
    this.finished = false
  }

  /** Closes the file. */
  close(): void {
    this.file.close()
  }

  /**
   * Reads up to `max` output records (after the fused steps; reading at most `16 × max` lines for
   * one answer, so an answer never waits long when a filter drops nearly everything).
   */
  read(max: number): NdjsonRangeBatch {
    const out: Array<unknown> = []
    const setAside: Array<RangeSetAside> = []
    let negativeZero = false
    if (this.finished) return { records: out, setAside, negativeZero, ...this.position(), done: true }
    const steps = this.steps
    const budget = steps !== undefined ? max * 16 : max
    let built: Array<unknown> = steps === undefined ? out : []
    let read = 0
    const { rejects } = this.init
    while (read < budget) {
      const lines = this.lines
      const status = lines.next()
      if (status === NEED_MORE) {
        this.fill()
        continue
      }
      if (status === END) {
        this.finished = true
        break
      }
      if (status === TOO_LARGE) {
        const detail = `the line is longer than max_record_bytes (${lines.maxLineBytes} bytes): raise max_record_bytes in the source's config to read it`
        if (!this.init.setAside) throw this.failure(detail, lines.line, undefined, undefined, undefined)
        setAside.push({ line: lines.line, offset: lines.offset(), error: detail, head: lines.head(200) })
        lines.skip()
        read++
        continue
      }
      const text = lines.escaped ? replaceEscapes(lines.value) : lines.value
      if (status === NOT_TEXT) {
        const at = walkText(text, this.json.maxDepth, () => undefined)
        throw this.failure(notTextMessage(this.file.invalid()!), lines.valueLine, Buffer.byteLength(text, "utf8") + 1, at.field, undefined)
      }
      if (isBlank(text)) continue
      read++
      const value = lineValue(text, this.json)
      if (value instanceof LineProblem) {
        if (!rejects) throw this.failure(value.detail, lines.valueLine, value.column, value.field, value.column === undefined ? excerpt(text) : undefined)
        setAside.push({ line: lines.valueLine, column: value.column, field: value.field, error: value.detail, record: text })
        continue
      }
      if (!negativeZero && lastHadNegativeZero()) negativeZero = true
      built.push(value)
      if (steps !== undefined && built.length >= STEP_RECORDS) {
        const kept = steps(built)
        for (let i = 0; i < kept.length; i++) out.push(kept[i])
        built = []
        if (out.length >= max) break
      }
    }
    if (steps !== undefined && built.length > 0) {
      const kept = steps(built)
      for (let i = 0; i < kept.length; i++) out.push(kept[i])
    }
    return { records: out, setAside, negativeZero, ...this.position(), done: this.finished }
  }

  private failure(detail: string, line: number, column: number | undefined, field: string | undefined, record: string | undefined): RangeReadError {
    return new RangeReadError({ _tag: "Record", detail, line, column: column ?? 0, field, record })
  }

  private position(): { readonly offset: number; readonly line: number } {
    return { offset: this.lines.offset(), line: this.lines.line }
  }

  /** Pushes the next chunk of the range into the splitter (or ends it). */
  private fill(): void {
    const lines = this.lines
    const file = this.file
    const text = file.filePos < this.end ? file.next(this.end) : undefined
    if (text === undefined) {
      // the end of the range (or of a file shorter than when it was opened)
      this.end = file.filePos
      const rest = file.decoder.end()
      if (file.decoder.escaped()) lines.escaped = true
      if (rest.length > 0) lines.push(rest)
      if (file.decoder.invalidAt() >= 0) lines.stop()
      else lines.end()
      return
    }
    if (file.decoder.escaped()) lines.escaped = true
    if (text.length > 0) lines.push(text)
    if (file.decoder.invalidAt() >= 0) lines.stop()
  }

  /** The first line start at or after `cut`: the byte after the first line feed at or after `cut - 1` (the file's size when none). */
  private lineStartFrom(cut: number): number {
    const { size } = this.init
    if (cut <= 0) return 0
    for (let at = cut - 1; at < size;) {
      const n = readSync(this.file.fd, this.file.buffer, 0, Math.min(this.file.buffer.length, size - at), at)
      if (n === 0) break
      const lf = this.file.buffer.subarray(0, n).indexOf(LF)
      if (lf >= 0) return at + lf + 1
      at += n
    }
    return size
  }
}
