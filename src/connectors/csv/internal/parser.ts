/**
 * A streaming RFC 4180 CSV tokenizer over decoded text.
 *
 * Text is pushed in chunks ({@link CsvParser.push}); {@link CsvParser.next} fills a reused array
 * with the fields of the next record and returns how many there are, or a status code when it
 * needs more input, reached the end, found a syntax error or a record larger than the limit. A
 * record split across chunks is parsed again from its start once more text arrived, so chunk
 * boundaries can fall anywhere (inside a quoted field, between `\r` and `\n`, inside a doubled
 * quote).
 *
 * Linear time on records of any size: chunks pushed while a record is incomplete are collected
 * and scanned only for the record's end ({@link RecordEnd}, which carries the quote state from
 * chunk to chunk); once it has come they are joined and the record parsed, once (parsing it again
 * at every 64 KiB chunk made a 50 MB field cost 13.6 s). A record of more than `maxRecordBytes`
 * UTF-8 bytes (without its line break) is reported with {@link TOO_LARGE} as soon as that many
 * bytes of it are held, so memory stays bounded by the limit.
 *
 * Speed: a record whose physical line holds no quote character is split with `indexOf` on the
 * delimiter (the positions of the next quote and the next delimiter are cached, so each is
 * searched for once per occurrence, not once per field); only lines with quotes go through the
 * character-level state machine.
 *
 * Rules: fields are separated by the delimiter; records end at `\n` or `\r\n` (a lone `\r` is
 * data); a field starting with `"` is quoted — it may hold delimiters, newlines and doubled
 * quotes `""`, and must be followed by a delimiter or the end of the record; a quote inside an
 * unquoted field is data; empty lines are skipped; a UTF-8 byte order mark at the start of the
 * file is skipped.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { utf8Length } from "../../../internal/utf8.ts"
import { RecordEnd, whereTextStops } from "./recordEnd.ts"

/** `next` needs more text: push a chunk (or call `end`) and call again. */
export const NEED_MORE = -1
/** `next`: the input is exhausted. */
export const END = -2
/** `next`: a syntax error; see `errorMessage`, `errorLine` and `errorField`. */
export const SYNTAX_ERROR = -3
/** `next`: the record starting at `recordLine` is larger than `maxRecordBytes`. */
export const TOO_LARGE = -4

/** `next`: the input stops being text (see {@link CsvParser.stop}) inside the record at `errorLine`, field `errorField`. */
export const NOT_TEXT = -5

/** {@link CsvParser.nextSpans}: the next record's line holds a quote; read it with `next`. */
export const QUOTED = -6

/** The default of `maxRecordBytes`: 64 MiB. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024

const LF = 10
const CR = 13
const QUOTE = 34
const BOM = 0xfeff

/**
 * The tokenizer state. One instance per open file.
 */
export class CsvParser {
  private text = ""
  private pos = 0
  private eof = false
  /** Set by `stop`: why the text ends before the input does. */
  private stopped: string | undefined
  /** Byte offset in the file of `text[0]`. */
  private baseBytes = 0
  private nextQuote = -1
  private nextDelim = -1
  /** Chunks pushed after `text`, not yet joined to it (while a long record is incomplete). */
  private chunks: Array<string> = []
  private chunkChars = 0
  /** {@link CsvParser.nextSpans}: where each field of the record starts and ends in {@link CsvParser.source}, pairwise. */
  spans = new Int32Array(64)
  /**
   * {@link CsvParser.nextSpans}: the record last read has a quoted field holding doubled quotes
   * (`""`), whose place in {@link CsvParser.spans} is the text between its quotes, `""` and all;
   * {@link CsvParser.doubled} says which fields (read it only when this is set).
   */
  hasDoubled = false
  /** Per field of the record last read by {@link CsvParser.nextSpans}: 1 when its place holds `""` (each stands for one `"`). */
  doubled = new Uint8Array(32)
  /** The text as bytes, one per character, when it is ASCII (`null`: not made yet; `undefined`: not ASCII). */
  private mirror: Buffer | undefined | null = null
  /** `text` is known to be ASCII (told by `push`; `false`: not known, `asciiBytes` checks). */
  private asciiKnown = false
  /** So are all the chunks collected in `chunks`. */
  private chunksAscii = true
  /** Finds the end of the incomplete record in the chunks pushed. */
  private readonly finder: RecordEnd
  /** The incomplete record's end is in the collected chunks (or it is too large): parse it. */
  private ready = false
  /** Characters held of the incomplete record. */
  private heldChars = 0
  /** UTF-8 bytes held of the incomplete record, counted once it may exceed the limit (-1 before). */
  private heldBytes = -1
  /** Dropping the record `skip` was called for, up to its end (see `skip`). */
  private skipping = false
  /** Bytes and line feeds dropped of that record so far (counted in `offset` and `line` once it ends). */
  private skippedBytes = 0
  private skippedLines = 0
  /** Whether a byte order mark may still come (nothing of the file start consumed yet). */
  private atFileStart: boolean
  private readonly delimiter: string
  private readonly delimCode: number
  /** Records longer than this many characters may exceed `maxRecordBytes` (UTF-8 takes up to 3 bytes per character). */
  private readonly cheapLimit: number
  /** The largest record, in UTF-8 bytes without its line break. */
  readonly maxRecordBytes: number
  /** The text holds bytes escaped by the lenient decoder (set by the reader; see utf8.ts): count them as 1 byte each. */
  escaped = false
  /** 1-based line of the next unread record. */
  line = 1
  /** 1-based line where the record last returned by `next` starts. */
  recordLine = 1
  errorMessage = ""
  errorLine = 0
  /** 1-based index of the field where the syntax error is. */
  errorField = 0

  constructor(delimiter: string, startOffset = 0, startLine = 1, maxRecordBytes = MAX_RECORD_BYTES) {
    this.delimiter = delimiter
    this.delimCode = delimiter.charCodeAt(0)
    this.baseBytes = startOffset
    this.line = startLine
    this.atFileStart = startOffset === 0
    this.maxRecordBytes = maxRecordBytes
    this.cheapLimit = Math.floor(maxRecordBytes / 3)
    this.finder = new RecordEnd(delimiter)
  }

  /**
   * Appends decoded text. Drops the text already consumed. `ascii`: the chunk is known to be
   * ASCII (the decoder says so for free), which spares {@link CsvParser.asciiBytes} its check.
   */
  push(chunk: string, ascii = false): void {
    if (chunk.length === 0) return
    if (this.skipping) {
      this.skipIn(chunk)
      return
    }
    if (this.chunkChars > 0 || this.pos < this.text.length) {
      // an incomplete record: collect, and look for its end (see `next`)
      if (this.chunks.length === 0) this.chunksAscii = ascii
      else if (!ascii) this.chunksAscii = false
      this.chunks.push(chunk)
      this.chunkChars += chunk.length
      if (!this.ready) this.ready = this.finder.scan(chunk, 0) >= 0
      this.heldChars += chunk.length
      if (this.heldBytes >= 0) this.heldBytes += Buffer.byteLength(chunk, "utf8")
      else if (this.heldChars > this.cheapLimit) {
        this.heldBytes = Buffer.byteLength(this.text.slice(this.pos), "utf8")
        for (const c of this.chunks) this.heldBytes += Buffer.byteLength(c, "utf8")
      }
      if (this.heldBytes > this.maxRecordBytes) this.ready = true
      return
    }
    if (this.pos > 0) this.compact()
    this.text = chunk
    this.mirror = null
    this.asciiKnown = ascii
    this.nextQuote = -1
    this.nextDelim = -1
    if (this.atFileStart) {
      this.atFileStart = false
      if (chunk.charCodeAt(0) === BOM) this.pos = 1
    }
  }

  /** No more text will come. */
  end(): void {
    this.eof = true
  }

  /**
   * The input goes on, but not as text (a byte that is not UTF-8): the records complete before
   * that point are still returned, then {@link NOT_TEXT} for the one it interrupts, located at the
   * line and field where the text stops. `detail` is the message.
   */
  stop(detail: string): void {
    this.stopped = detail
  }

  /** The first `n` characters of the record at the read position (what is held of it). */
  head(n: number): string {
    return this.text.slice(this.pos, this.pos + n)
  }

  /** Byte offset in the file of the next unread record (while a record is skipped, its start). */
  offset(): number {
    if (this.pos > 0 && !this.skipping) this.compact()
    return this.baseBytes
  }

  /**
   * After {@link TOO_LARGE}: drops that record and goes on after it. What is held of it is
   * dropped now; the text pushed next is scanned for its end (quotes followed from its start, as
   * the parser would) and dropped up to it, so a skipped record costs no memory. Until its end has
   * come, `offset` and `line` stay at its start.
   */
  skip(): void {
    if (this.pos > 0) this.compact()
    const pieces = [this.text, ...this.chunks]
    this.text = ""
    this.mirror = null
    this.asciiKnown = false
    this.chunksAscii = false
    this.chunks = []
    this.chunkChars = 0
    this.ready = false
    this.nextQuote = -1
    this.nextDelim = -1
    this.skipping = true
    this.skippedBytes = 0
    this.skippedLines = 0
    this.finder.start()
    for (let k = 0; k < pieces.length; k++) {
      if (this.skipping) this.skipIn(pieces[k])
      else if (pieces[k].length > 0) {
        // after the skipped record: normal text again (joined at the next `next`)
        this.chunks.push(pieces[k])
        this.chunkChars += pieces[k].length
        this.ready = true
      }
    }
  }

  /** Drops the text of the skipped record in `s`; the text after its end becomes the unread text. */
  private skipIn(s: string): void {
    let e = this.finder.scan(s, 0)
    if (e >= 0 && s.charCodeAt(e) !== LF) {
      // a syntax error inside the skipped record: it ends at the next line feed
      this.finder.untilLineFeed()
      e = this.finder.scan(s, e)
    }
    const dropped = e < 0 ? s : s.slice(0, e + 1)
    this.skippedBytes += utf8Length(dropped, this.escaped)
    this.skippedLines += countLines(dropped, 0, dropped.length)
    if (e < 0) return
    this.endSkip()
    this.text = s.slice(e + 1)
    this.mirror = null
    this.asciiKnown = false
    this.pos = 0
  }

  /** The skipped record ended: count it. */
  private endSkip(): void {
    this.skipping = false
    this.baseBytes += this.skippedBytes
    this.line += this.skippedLines
  }

  /**
   * Reads the next record into `out` and returns its number of fields, or {@link NEED_MORE},
   * {@link END}, {@link SYNTAX_ERROR} or {@link TOO_LARGE} (`errorMessage` and `errorLine` say
   * which; `errorField` is 0).
   */
  next(out: Array<string>): number {
    const n = this.nextSpans()
    if (n === QUOTED) return this.slow(out)
    const { text, spans } = this
    if (this.hasDoubled) for (let k = 0; k < n; k++) out[k] = this.field(k)
    else for (let k = 0; k < n; k++) out[k] = text.slice(spans[2 * k], spans[2 * k + 1])
    return n
  }

  /** The `k`-th field of the record last read by {@link CsvParser.nextSpans}, as a string (`""` read as `"`). */
  field(k: number): string {
    const s = this.text.slice(this.spans[2 * k], this.spans[2 * k + 1])
    return this.hasDoubled && this.doubled[k] === 1 ? s.replaceAll('""', '"') : s
  }

  /** The text the {@link CsvParser.spans} of the record last read point into (until the next `next`, `nextSpans` or `push`). */
  source(): string {
    return this.text
  }

  /**
   * {@link CsvParser.source} as bytes, when it is ASCII: the same offsets, one byte per character
   * (made once per text, on demand); `undefined` when it is not ASCII.
   */
  asciiBytes(): Buffer | undefined {
    if (this.mirror === null) {
      const text = this.text
      // ASCII exactly when no character takes more than one byte of UTF-8
      this.mirror = this.asciiKnown || Buffer.byteLength(text, "utf8") === text.length ? Buffer.from(text, "latin1") : undefined
    }
    return this.mirror
  }

  /**
   * `next` without making the fields' strings where it can: for a record on one line (no line
   * break inside quotes), returns its number of fields with their places in
   * {@link CsvParser.source} in {@link CsvParser.spans} — a field holding `""` is marked in
   * {@link CsvParser.doubled} (see {@link CsvParser.hasDoubled}; {@link CsvParser.field} reads
   * it); {@link QUOTED} for any other record (it is still unread: `next` reads it); the status
   * codes of `next` otherwise.
   */
  nextSpans(): number {
    if (this.skipping) {
      if (this.stopped !== undefined) return this.notText()
      if (!this.eof) return NEED_MORE
      // the skipped record ran to the end of the input (its last line counts, as a record's does)
      this.skippedLines += 1
      this.endSkip()
      return END
    }
    if (this.chunkChars > 0) {
      if (!this.eof && this.stopped === undefined && !this.ready) return NEED_MORE
      this.join()
    }
    const text = this.text
    const len = text.length
    let pos = this.pos
    // Skip empty lines.
    for (;;) {
      if (pos >= len) {
        this.pos = pos
        if (this.stopped !== undefined) return this.notText()
        return this.eof ? END : NEED_MORE
      }
      const c = text.charCodeAt(pos)
      if (c === LF) {
        pos++
        this.line++
      } else if (c === CR) {
        if (pos + 1 >= len) {
          if (!this.eof) {
            this.pos = pos
            if (this.stopped !== undefined) return this.notText()
            return this.incomplete()
          }
          pos++ // a lone CR at the very end
          continue
        }
        if (text.charCodeAt(pos + 1) !== LF) break
        pos += 2
        this.line++
      } else break
    }
    this.pos = pos
    this.recordLine = this.line
    this.hasDoubled = false
    let nl = text.indexOf("\n", pos)
    if (nl === -1) {
      if (!this.eof) return this.incomplete()
      nl = len
    }
    if (this.nextQuote < pos) {
      const q = text.indexOf('"', pos)
      this.nextQuote = q === -1 ? Number.MAX_SAFE_INTEGER : q
    }
    if (this.nextQuote < nl) return this.quotedSpans(pos, nl)
    // Fast path: one physical line without quotes.
    const end = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl
    if (end - pos > this.cheapLimit && this.oversized(pos, end)) return this.tooLarge()
    const delimiter = this.delimiter
    let spans = this.spans
    let n = 0
    let start = pos
    for (;;) {
      let d = this.nextDelim
      if (d < start) {
        d = text.indexOf(delimiter, start)
        if (d === -1) d = Number.MAX_SAFE_INTEGER
        this.nextDelim = d
      }
      if (2 * n + 2 > spans.length) {
        const more = new Int32Array(spans.length * 2)
        more.set(spans)
        this.spans = spans = more
      }
      spans[2 * n] = start
      if (d >= end) {
        spans[2 * n + 1] = end
        n++
        break
      }
      spans[2 * n + 1] = d
      n++
      start = d + 1
    }
    this.pos = nl < len ? nl + 1 : len
    this.line++
    return n
  }

  /**
   * The fields of the record at `pos`, whose line (up to the line feed at `nl`, or the end of the
   * text at the end of the input) holds a quote, as places: where every quoted field closes on
   * the line and is followed by the delimiter or the line's end — the field is the text between
   * its quotes, as `slow` reads it, except that each `""` in it stands for one `"` (the field is
   * marked in {@link CsvParser.doubled}). {@link QUOTED} for any other record (a line break inside
   * quotes, a character after a closing quote, a long line): `slow` reads it, or says what is
   * wrong with it.
   */
  private quotedSpans(pos: number, nl: number): number {
    const text = this.text
    if (nl - pos > this.cheapLimit) return QUOTED
    const delim = this.delimCode
    let spans = this.spans
    let doubled = this.doubled
    let any = false
    let n = 0
    let i = pos
    for (;;) {
      if (2 * n + 2 > spans.length) {
        const more = new Int32Array(spans.length * 2)
        more.set(spans)
        this.spans = spans = more
      }
      if (n >= doubled.length) {
        const more = new Uint8Array(doubled.length * 2)
        more.set(doubled)
        this.doubled = doubled = more
      }
      if (i < nl && text.charCodeAt(i) === QUOTE) {
        let q = text.indexOf('"', i + 1)
        let pairs = 0
        // `""` inside the quotes: one quote of the field's value
        while (q !== -1 && q + 1 < nl && text.charCodeAt(q + 1) === QUOTE) {
          pairs++
          q = text.indexOf('"', q + 2)
        }
        if (q === -1 || q >= nl) return this.unread()
        spans[2 * n] = i + 1
        spans[2 * n + 1] = q
        doubled[n] = pairs > 0 ? 1 : 0
        if (pairs > 0) any = true
        n++
        const after = q + 1
        if (after === nl) break
        const c = text.charCodeAt(after)
        if (c === delim) {
          i = after + 1
          continue
        }
        // `"...."\r` ending the line; anything else (`""`, `"a"b`) is slow's
        if (c === CR && after + 1 === nl) break
        return this.unread()
      }
      // an unquoted field: up to the delimiter or the end of the line (a `\r` before the line feed is not in it)
      let d = this.nextDelim
      if (d < i) {
        d = text.indexOf(this.delimiter, i)
        if (d === -1) d = Number.MAX_SAFE_INTEGER
        this.nextDelim = d
      }
      spans[2 * n] = i
      doubled[n] = 0
      if (d < nl) {
        spans[2 * n + 1] = d
        n++
        i = d + 1
        continue
      }
      spans[2 * n + 1] = nl > i && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl
      n++
      break
    }
    this.hasDoubled = any
    this.pos = nl < text.length ? nl + 1 : text.length
    this.line++
    return n
  }

  /**
   * {@link QUOTED} from `quotedSpans`: `slow` reads the record from its start. The delimiter found
   * last may lie past one it meets first (this record's fields were skipped to find it): forget it.
   */
  private unread(): number {
    this.nextDelim = -1
    return QUOTED
  }

  /** The character-level state machine, for a record whose line holds a quote. */
  private slow(out: Array<string>): number {
    const text = this.text
    const len = text.length
    const eof = this.eof
    const delim = this.delimCode
    let i = this.pos
    let lines = 0
    let n = 0
    let nextNl = -1
    for (;;) {
      // At the start of a field.
      if (i < len && text.charCodeAt(i) === QUOTE) {
        let start = i + 1
        let value = ""
        let j = start
        for (;;) {
          const q = text.indexOf('"', j)
          if (q === -1) {
            if (!eof) return this.incomplete()
            return this.fail("unterminated quoted field", n + 1, 0)
          }
          if (q + 1 >= len && !eof) return this.incomplete()
          if (q + 1 < len && text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(start, q + 1)
            j = q + 2
            start = j
            continue
          }
          value += text.slice(start, q)
          // line breaks inside the quotes: none when the next line feed is past the closing quote
          // (found once per record, not once per quoted field)
          if (nextNl <= i) {
            nextNl = text.indexOf("\n", i + 1)
            if (nextNl === -1) nextNl = Number.MAX_SAFE_INTEGER
          }
          if (nextNl < q) {
            lines += countLines(text, nextNl, q)
            nextNl = -1
          }
          i = q + 1
          break
        }
        out[n++] = value
        if (i >= len) break // eof checked above
        const c = text.charCodeAt(i)
        if (c === delim) {
          i++
          continue
        }
        if (c === LF) {
          i++
          break
        }
        if (c === CR) {
          if (i + 1 >= len) {
            if (!eof) return this.incomplete()
            i++
            break
          }
          if (text.charCodeAt(i + 1) === LF) {
            i += 2
            break
          }
        }
        return this.fail(`unexpected character ${JSON.stringify(text[i])} after the closing quote`, n, lines)
      }
      // Unquoted field: up to the delimiter or the end of the line (each found once with indexOf).
      // (the next delimiter is kept across records: a file without one is searched once, not once per record)
      let nextD = this.nextDelim
      if (nextD < i) {
        nextD = text.indexOf(this.delimiter, i)
        if (nextD === -1) nextD = Number.MAX_SAFE_INTEGER
        this.nextDelim = nextD
      }
      if (nextNl < i) {
        nextNl = text.indexOf("\n", i)
        if (nextNl === -1) nextNl = Number.MAX_SAFE_INTEGER
      }
      let j = Math.min(nextD, nextNl)
      if (j >= len) {
        if (!eof) return this.incomplete()
        j = len
        out[n++] = text.slice(i, j > i && text.charCodeAt(j - 1) === CR ? j - 1 : j)
        i = j
        break
      }
      if (j === nextD) {
        out[n++] = text.slice(i, j)
        i = j + 1
        continue
      }
      // LF
      out[n++] = text.slice(i, j > i && text.charCodeAt(j - 1) === CR ? j - 1 : j)
      i = j + 1
      break
    }
    if (i - this.pos > this.cheapLimit && this.oversized(this.pos, i)) return this.tooLarge()
    this.pos = i
    this.line += lines + 1
    return n
  }

  /**
   * The record at `pos` is incomplete: refuse it when what is held of it is already over the
   * limit; otherwise wait for its end, looking for it in each chunk pushed from now on.
   */
  private incomplete(): number {
    if (this.stopped !== undefined) return this.notText()
    // the record is parsed again from its start: what was found past it no longer bounds a search from there
    this.nextDelim = -1
    this.nextQuote = -1
    // (a `\r` at the end may start the line break, which does not count)
    const end = this.text.charCodeAt(this.text.length - 1) === CR ? this.text.length - 1 : this.text.length
    const held = end - this.pos
    if (held > this.cheapLimit && this.oversized(this.pos, end)) return this.tooLarge()
    this.finder.start()
    this.ready = this.finder.scan(this.text, this.pos) >= 0
    this.heldChars = held
    this.heldBytes = held > this.cheapLimit ? Buffer.byteLength(this.text.slice(this.pos), "utf8") : -1
    return NEED_MORE
  }

  /** Whether `text[from, to)` takes more than `maxRecordBytes` bytes in UTF-8. */
  private oversized(from: number, to: number): boolean {
    return to - from > this.maxRecordBytes || Buffer.byteLength(this.text.slice(from, to), "utf8") > this.maxRecordBytes
  }

  private tooLarge(): number {
    this.errorMessage =
      `the record starting here is larger than max_record_bytes (${this.maxRecordBytes} bytes; an unclosed quote makes the rest of the file one field): raise max_record_bytes in the source's config to read it`
    this.errorLine = this.recordLine
    this.errorField = 0
    return TOO_LARGE
  }

  /**
   * Locates the end of the text inside the record at `pos` (line and 1-based field) — or the
   * syntax error before it (a character after a closing quote), which a reader meets first.
   */
  private notText(): number {
    const at = whereTextStops(this.text, this.pos, this.delimCode)
    if (at.error !== undefined) return this.fail(at.error, at.field, at.lines)
    this.errorMessage = this.stopped ?? ""
    this.errorLine = this.line + at.lines
    this.errorField = at.field
    return NOT_TEXT
  }

  /** Joins the collected chunks to the unread text. */
  private join(): void {
    if (this.pos > 0) this.compact()
    // (a slice of an ASCII text is ASCII; `compact` keeps `asciiKnown`)
    this.asciiKnown = this.asciiKnown && this.chunksAscii
    this.text = this.text + (this.chunks.length === 1 ? this.chunks[0] : this.chunks.join(""))
    this.mirror = null
    this.chunks = []
    this.chunkChars = 0
    this.ready = false
    this.nextQuote = -1
    this.nextDelim = -1
    if (this.atFileStart && this.text.length > 0) {
      this.atFileStart = false
      if (this.text.charCodeAt(0) === BOM) this.pos = 1
    }
  }

  private fail(message: string, field: number, lines: number): number {
    this.errorMessage = message
    this.errorLine = this.recordLine + lines
    this.errorField = field
    return SYNTAX_ERROR
  }

  private compact(): void {
    // (an ASCII text takes a byte per character)
    this.baseBytes += this.asciiKnown ? this.pos : utf8Length(this.text.slice(0, this.pos), this.escaped)
    this.text = this.text.slice(this.pos)
    this.mirror = null
    this.pos = 0
    this.nextQuote = -1
    this.nextDelim = -1
  }
}

const countLines = (text: string, from: number, to: number): number => {
  let n = 0
  let i = text.indexOf("\n", from)
  while (i !== -1 && i < to) {
    n++
    i = text.indexOf("\n", i + 1)
  }
  return n
}
