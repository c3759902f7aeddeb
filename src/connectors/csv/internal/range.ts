/**
 * Reading one byte range of a CSV file: what a worker thread of a parallel `csv` source does.
 * No Effect here: this runs inside a worker thread, where loading less is starting sooner.
 *
 * The body of the file (after the header) is cut into `count` nominal ranges of equal size. The
 * real start `S_i` of range `i > 0` is the byte after the first line feed at or after the nominal
 * cut `b_i` that is preceded by an even number of quote characters (counted from the end of the
 * header): in an RFC 4180 file, that line feed ends a record, and a line feed inside a quoted
 * field is always preceded by an odd number. Each range's reader computes its own start (one scan
 * of the bytes before its cut, with `indexOf`), publishes it in a shared array, and reads up to
 * the start its successor published — waiting for it (`Atomics.wait`) only when it gets there.
 *
 * A quote inside an unquoted field (`ab"c`, accepted as data by the parser) would upset the count:
 * the scan checks that every quote before the start stands where RFC 4180 puts one, and when one
 * does not, the range starts at the end of the file (it is empty) and the range before it reads
 * on to the end (see {@link findStart}). Should a start still lie inside a quoted field, the
 * reader of the range before it ends inside that field and fails with an error that names the
 * line and says to read the file with `parallelism: 1`: it never silently loses or duplicates a
 * record.
 */
import type { Buffer } from "node:buffer"
import { readSync } from "node:fs"
import { type InvalidUtf8, notTextMessage, unescapeFields } from "../../../internal/utf8.ts"
import { RangeFile } from "../../kit/internal/rangeFile.ts"
import { type BuildError, build, type Layout } from "./columns.ts"
import type { LazyLines } from "./lazyLines.ts"
import { CsvParser, END, NEED_MORE, NOT_TEXT, QUOTED, SYNTAX_ERROR, TOO_LARGE } from "./parser.ts"
import { conversionEntry, syntaxEntry } from "./rejects.ts"
import { countByte, type FusedNode, ioFailure, RangeReadError, type RangeSetAside } from "../../kit/internal/rangeProtocol.ts"

export {
  type FusedNode,
  type RangeFailure,
  RangeReadError,
  type RangeReply,
  type RangeRequest,
  type RangeSetAside
} from "../../kit/internal/rangeProtocol.ts"

/** What a range reader starts from (a worker thread's `workerData`). */
export interface RangeInit {
  readonly path: string
  readonly delimiter: string
  readonly layout: Layout
  /** Byte offset of the first record (after the header). */
  readonly headerEnd: number
  /** File size when the source was opened. */
  readonly size: number
  readonly index: number
  readonly count: number
  /** `BigInt64Array` over this buffer: `count + 1` range starts; `-1` unknown, `-2` failed. */
  readonly starts: SharedArrayBuffer
  readonly chunkSize: number
  readonly maxRecordBytes: number
  readonly invalidUtf8: InvalidUtf8
  /** `oversize: dead_letter`: records over `maxRecordBytes` are skipped and reported with the batch. */
  readonly setAside: boolean
  /**
   * `on_error: dead_letter`: records that do not decode or do not parse are skipped and reported
   * with the batch (a quoted field running past the range's end still fails: see the module doc).
   */
  readonly rejects?: boolean
}

/** One answer of a range reader: records, and the position after them. */
export interface RangeBatch {
  /** The records (empty when they come as `ndjson`). */
  readonly records: Array<unknown>
  /** With {@link RangeReader.lazy}: the kept rows as NDJSON lines (`undefined` when none were kept). */
  readonly ndjson: { readonly bytes: Uint8Array<ArrayBuffer>; readonly count: number } | undefined
  /** Records skipped for being too large, in file order (empty without `oversize: dead_letter`). */
  readonly setAside: Array<RangeSetAside>
  readonly offset: number
  readonly line: number
  /** True when the range is exhausted (no further read returns records). */
  readonly done: boolean
}

const UNKNOWN = -1n
const FAILED = -2n

/** The nominal cut `b_i` of range `i`. */
export const nominalCut = (headerEnd: number, size: number, count: number, i: number): number =>
  i <= 0 ? headerEnd : i >= count ? size : headerEnd + Math.floor(((size - headerEnd) * i) / count)


const LF = 10
const CR = 13
const QUOTE = 34

/**
 * Follows the quotes of a file's body in order and says whether each stands where RFC 4180 puts
 * one: an opening quote at the start of a field (after the delimiter, a line break, or the quote
 * that closed an escaped pair), a closing quote before the delimiter, a line break, the end or a
 * second quote (the pair `""`). While every quote does, an odd count at a line feed means it lies
 * inside a quoted field, as the parser reads it. `delimiter` is the delimiter's byte (-1 when it
 * is not one byte: then any quote counts as irregular).
 */
class QuoteCheck {
  odd = false
  irregular = false
  /** The byte before the next chunk (a line feed stands for the start of the body). */
  private prev = LF
  /** The last chunk ended with a closing quote: the next chunk's first byte must fit it. */
  private closing = false
  private readonly delimiter: number
  constructor(delimiter: number) {
    this.delimiter = delimiter
  }

  /** A chunk starts at `bytes[from]`. */
  enter(bytes: Uint8Array, from: number, to: number): void {
    if (this.closing && from < to) {
      this.closing = false
      if (!this.fitsClose(bytes[from])) this.irregular = true
    }
  }

  /** The quote at `bytes[q]` of the chunk `[from, to)`. */
  quote(bytes: Uint8Array, q: number, from: number, to: number): void {
    if (this.delimiter < 0) this.irregular = true
    else if (!this.odd) {
      const before = q > from ? bytes[q - 1] : this.prev
      if (before !== LF && before !== CR && before !== QUOTE && before !== this.delimiter) this.irregular = true
    } else if (q + 1 < to) {
      if (!this.fitsClose(bytes[q + 1])) this.irregular = true
    } else this.closing = true
    this.odd = !this.odd
  }

  /** A chunk ends at `bytes[to - 1]`. */
  leave(bytes: Uint8Array, to: number): void {
    if (to > 0) this.prev = bytes[to - 1]
  }

  /** Every quote of the chunk `[from, to)`. */
  scan(bytes: Uint8Array, from: number, to: number): void {
    this.enter(bytes, from, to)
    for (let q = bytes.indexOf(QUOTE, from); q !== -1 && q < to; q = bytes.indexOf(QUOTE, q + 1)) this.quote(bytes, q, from, to)
    this.leave(bytes, to)
  }

  private fitsClose(after: number): boolean {
    return after === this.delimiter || after === LF || after === CR || after === QUOTE
  }
}

/** The byte `auto`'s quote check compares with: the delimiter's, or -1 when it is not one byte. */
export const delimiterByte = (delimiter: string): number => (delimiter.length === 1 && delimiter.charCodeAt(0) < 128 ? delimiter.charCodeAt(0) : -1)

/**
 * Computes the start of range `i > 0` from the file: the offset after the first line feed at or
 * after `cut - 1` with an even number of quotes in `[headerEnd, that line feed)`, and the 1-based
 * line there. The end of the file when there is none — and when a quote before that line feed
 * stands where RFC 4180 puts none (`ab"c`, which the parser reads as data): the count then says
 * nothing, so the range before this one reads on to the end of the file (with its own start
 * checked the same way, it starts at a record) and this one and those after it are empty. A file
 * with such quotes is read right, with fewer threads.
 */
export const findStart = (
  fd: number,
  headerEnd: number,
  cut: number,
  size: number,
  buffer: Buffer,
  delimiter: number
): { readonly offset: number; readonly line: number } => {
  let lines = 0
  let pos = 0
  const quotes = new QuoteCheck(delimiter)
  const stop = Math.max(cut - 1, headerEnd)
  while (pos < stop && !quotes.irregular) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, stop - pos), pos)
    if (n === 0) break
    const bytes = buffer.subarray(0, n)
    lines += countByte(bytes, LF, 0)
    if (pos + n > headerEnd) quotes.scan(bytes, Math.max(0, headerEnd - pos), n)
    pos += n
  }
  while (pos < size && !quotes.irregular) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - pos), pos)
    if (n === 0) break
    quotes.enter(buffer, 0, n)
    for (let k = 0; k < n; k++) {
      const c = buffer[k]
      if (c === QUOTE) quotes.quote(buffer, k, 0, n)
      else if (c === LF) {
        lines++
        if (!quotes.odd && !quotes.irregular) return { offset: pos + k + 1, line: lines + 1 }
      }
    }
    quotes.leave(buffer, n)
    pos += n
  }
  if (quotes.irregular) {
    // this range and the ones after it are empty: count the lines up to the end
    lines = 0
    for (let at = 0; at < size;) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - at), at)
      if (n === 0) break
      lines += countByte(buffer.subarray(0, n), LF, 0)
      at += n
    }
  }
  return { offset: size, line: lines + 1 }
}

/**
 * Records built before the fused steps run on them: few, so that what a young-generation
 * collection finds alive (and copies) is small — the records the steps drop die young.
 */
const STEP_RECORDS = 128

/** How long a reader waits for the next range's reader to publish its start before finding it itself. */
const PATIENCE_MS = 2000
/** Below this many bytes before the cut, finding a start is cheaper than waiting for it. */
const SMALL = 4 * 1024 * 1024

/**
 * The reader of one range, synchronous (a worker thread has nothing else to do). Call
 * {@link RangeReader.start} once, then {@link RangeReader.read} until `done`.
 */
export class RangeReader {
  private readonly file: RangeFile
  private readonly starts: BigInt64Array
  private readonly error: BuildError = { detail: "", column: 0, field: undefined }
  private readonly fields: Array<string> = []
  private parser: CsvParser
  /** End of the range, once known. */
  private end = -1
  private finished = false
  private steps: ((records: Array<unknown>) => Array<unknown>) | undefined
  private lines: LazyLines | undefined

  readonly init: RangeInit
  constructor(init: RangeInit) {
    this.init = init
    this.file = new RangeFile(init.path, init.chunkSize, init.invalidUtf8)
    this.starts = new BigInt64Array(init.starts)
    this.parser = new CsvParser(init.delimiter, init.headerEnd, 1, init.maxRecordBytes)
  }

  /** Finds and publishes where this range starts; returns that position. */
  start(): { readonly offset: number; readonly line: number } {
    const { index, count, headerEnd, size } = this.init
    if (index + 1 >= count) this.end = size
    let at: { readonly offset: number; readonly line: number }
    if (index === 0) {
      // the line of the first record: 1 + the line feeds in the header
      at = { offset: headerEnd, line: 1 + this.file.lineFeeds(headerEnd) }
    } else {
      try {
        at = findStart(this.file.fd, headerEnd, nominalCut(headerEnd, size, count, index), size, this.file.buffer, delimiterByte(this.init.delimiter))
      } catch (e) {
        Atomics.store(this.starts, index, FAILED)
        Atomics.notify(this.starts, index)
        throw ioFailure("read", e)
      }
      Atomics.store(this.starts, index, BigInt(at.offset))
      Atomics.notify(this.starts, index)
    }
    this.seek(at.offset, at.line)
    return at
  }

  /** Runs `run` (a fused chain over a whole array) on each batch of built records. */
  fuse(run: (records: Array<unknown>) => Array<unknown>): void {
    this.steps = run
  }

  /**
   * Checks rows and writes the kept ones as NDJSON lines with `lines` (lazy conversion, see
   * `lazyLines.ts`) instead of building records: batches carry `ndjson`, no `records`.
   */
  lazy(lines: LazyLines): void {
    this.lines = lines
  }

  /** Continue at `offset` / `line` (inside this range). */
  seek(offset: number, line: number): void {
    this.parser = new CsvParser(this.init.delimiter, offset, line, this.init.maxRecordBytes)
    this.file.restart(offset)
    this.finished = false
  }

  /** Closes the file. */
  close(): void {
    this.file.close()
  }

  /**
   * Reads up to `max` output records (after the fused steps; reading at most `16 × max` input
   * records for one answer, so an answer never waits long when a filter drops nearly everything).
   */
  read(max: number): RangeBatch {
    const out: Array<unknown> = []
    const setAside: Array<RangeSetAside> = []
    if (this.finished) return { records: out, ndjson: undefined, setAside, ...this.position(), done: true }
    const parser = this.parser
    const fields = this.fields
    const { layout } = this.init
    const lines = this.lines
    const chunked = this.steps !== undefined || lines?.filtered === true
    const budget = chunked ? max * 16 : max
    let built: Array<unknown> = this.steps === undefined ? out : []
    let read = 0
    while (read < budget) {
      let n: number
      // lazy conversion of ASCII text: the fields' places, checked on the bytes (no string per field)
      let bytes: Buffer | undefined
      if (lines !== undefined && !parser.escaped) {
        n = parser.nextSpans()
        if (n === QUOTED) n = parser.next(fields)
        else if (n >= 0 && (bytes = parser.asciiBytes()) === undefined) {
          for (let k = 0; k < n; k++) fields[k] = parser.field(k)
        }
      } else n = parser.next(fields)
      if (n >= 0) {
        // (escaped bytes of invalid_utf8: replace are read as U+FFFD)
        if (parser.escaped) unescapeFields(fields, n)
        if (lines !== undefined) {
          const added = bytes === undefined ? lines.add(fields, n, this.error) : lines.addSpans(parser.source(), bytes, parser.spans, parser.hasDoubled ? parser.doubled : undefined, n, fields, this.error)
          if (!added) {
            if (!this.init.rejects) throw this.invalid(n)
            // (a refused row's field strings are filled, on the byte path too)
            setAside.push(conversionEntry(parser.recordLine, fields, n, this.error, this.init.delimiter))
            // (counted: a range of bad records still answers in bounded steps)
            read++
            continue
          }
          read++
          // (without a filter too: the rows' strings die young)
          if (lines.pending >= STEP_RECORDS) {
            lines.flush()
            if (lines.lines.count >= max) break
          }
          continue
        }
        const record = build(layout, fields, n, this.error)
        if (record === undefined) {
          if (!this.init.rejects) throw this.invalid(n)
          setAside.push(conversionEntry(parser.recordLine, fields, n, this.error, this.init.delimiter))
          read++
          continue
        }
        built.push(record)
        read++
        if (this.steps !== undefined && built.length >= STEP_RECORDS) {
          this.runSteps(built, out)
          built = []
          if (out.length >= max) break
        }
      } else if (n === NEED_MORE) {
        this.fill()
      } else if (n === TOO_LARGE && this.init.setAside) {
        setAside.push({ line: parser.errorLine, offset: parser.offset(), error: parser.errorMessage, head: parser.head(200) })
        parser.skip()
      } else if (n === END) {
        this.finished = true
        break
      } else {
        const split = this.init.index + 1 < this.init.count && parser.errorMessage === "unterminated quoted field"
        if (n === SYNTAX_ERROR && this.init.rejects && !split) {
          setAside.push(syntaxEntry(parser))
          parser.skip()
          continue
        }
        throw new RangeReadError({
          _tag: "Record",
          detail: split
            ? `a quoted field runs past byte ${this.end}, where the file was split for parallel reading (is there a quote inside an unquoted field? RFC 4180 does not allow one); read this file with parallelism: 1`
            : parser.errorMessage,
          line: parser.errorLine,
          column: parser.errorField,
          field: n === NOT_TEXT ? layout.names[parser.errorField - 1] : undefined,
          record: undefined
        })
      }
    }
    if (lines !== undefined) {
      if (lines.pending > 0) lines.flush()
      return { records: out, ndjson: lines.lines.take(), setAside, ...this.position(), done: this.finished }
    }
    if (this.steps !== undefined && built.length > 0) this.runSteps(built, out)
    return { records: out, ndjson: undefined, setAside, ...this.position(), done: this.finished }
  }

  /** The error of the record of `n` fields that `build` (or the lazy check) refused. */
  private invalid(n: number): RangeReadError {
    return new RangeReadError({
      _tag: "Record",
      detail: this.error.detail,
      line: this.parser.recordLine,
      column: this.error.column,
      field: this.error.field,
      record: this.fields.slice(0, n)
    })
  }

  private runSteps(built: Array<unknown>, out: Array<unknown>): void {
    const kept = this.steps!(built)
    for (let i = 0; i < kept.length; i++) out.push(kept[i])
  }

  private position(): { readonly offset: number; readonly line: number } {
    return { offset: this.parser.offset(), line: this.parser.line }
  }

  /**
   * The start of the next range: published by its reader (normally long before this reader gets
   * there); if it does not come (that reader is not running, e.g. one instance restored alone),
   * found here the same way — the result is the same.
   */
  private nextStart(): number {
    const { headerEnd, size, count } = this.init
    const i = this.init.index + 1
    const cut = nominalCut(headerEnd, size, count, i)
    const deadline = performance.now() + (cut - headerEnd < SMALL ? 0 : PATIENCE_MS)
    for (;;) {
      const v = Atomics.load(this.starts, i)
      if (v >= 0n) return Number(v)
      const left = deadline - performance.now()
      if (v === FAILED || left <= 0) break
      Atomics.wait(this.starts, i, UNKNOWN, left)
    }
    let at: number
    try {
      at = findStart(this.file.fd, headerEnd, cut, size, this.file.buffer, delimiterByte(this.init.delimiter)).offset
    } catch (e) {
      throw ioFailure("read", e)
    }
    Atomics.compareExchange(this.starts, i, UNKNOWN, BigInt(at))
    Atomics.notify(this.starts, i)
    return at
  }

  /** Pushes the next chunk of the range into the parser (or ends it). */
  private fill(): void {
    const { index, count, headerEnd, size } = this.init
    const file = this.file
    if (this.end < 0) {
      // Up to the nominal cut of the next range, its start is not needed (it lies at or after it).
      const cut = nominalCut(headerEnd, size, count, index + 1)
      if (file.filePos >= cut) this.end = this.nextStart()
    }
    const limit = this.end < 0 ? nominalCut(headerEnd, size, count, index + 1) : this.end
    if (file.filePos >= limit) {
      const rest = file.decoder.end()
      if (file.decoder.escaped()) this.parser.escaped = true
      if (rest.length > 0) this.parser.push(rest)
      this.endText()
      return
    }
    const text = file.next(limit)
    if (text === undefined) {
      // The file is shorter than when it was opened.
      this.end = file.filePos
      this.fill()
      return
    }
    this.parser.push(text, file.decoder.ascii())
    if (file.decoder.escaped()) this.parser.escaped = true
    if (file.decoder.invalidAt() >= 0) this.endText()
  }

  /** The text ends: at the end of the range, or where the bytes stop being text. */
  private endText(): void {
    const invalid = this.file.invalid()
    if (invalid === undefined) this.parser.end()
    else this.parser.stop(notTextMessage(invalid))
  }
}

/** A range worker's `workerData`. */
export interface RangeWorkerData extends RangeInit {
  readonly fused: ReadonlyArray<FusedNode>
  /**
   * `ndjson`: the thread sends the records (after the fused nodes) as NDJSON lines, encoded as the
   * `ndjson` codec does, instead of the records (the source's only consumer is an `ndjson` sink).
   * A batch with a record JSON cannot represent is sent as records (the sink reports it).
   */
  readonly encode: "ndjson" | undefined
}
