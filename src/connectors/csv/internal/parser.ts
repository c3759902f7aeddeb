/**
 * A streaming RFC 4180 CSV tokenizer over decoded text.
 *
 * Text is pushed in chunks ({@link CsvParser.push}); {@link CsvParser.next} fills a reused array
 * with the fields of the next record and returns how many there are, or a status code when it
 * needs more input, reached the end, or found a syntax error. A record split across chunks is
 * simply parsed again from its start once more text arrived, so chunk boundaries can fall
 * anywhere (inside a quoted field, between `\r` and `\n`, inside a doubled quote).
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

/** `next` needs more text: push a chunk (or call `end`) and call again. */
export const NEED_MORE = -1
/** `next`: the input is exhausted. */
export const END = -2
/** `next`: a syntax error; see `errorMessage`, `errorLine` and `errorField`. */
export const SYNTAX_ERROR = -3

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
  /** Byte offset in the file of `text[0]`. */
  private baseBytes = 0
  private nextQuote = -1
  private nextDelim = -1
  private readonly delimiter: string
  private readonly delimCode: number
  /** 1-based line of the next unread record. */
  line = 1
  /** 1-based line where the record last returned by `next` starts. */
  recordLine = 1
  errorMessage = ""
  errorLine = 0
  /** 1-based index of the field where the syntax error is. */
  errorField = 0

  constructor(delimiter: string, startOffset = 0, startLine = 1) {
    this.delimiter = delimiter
    this.delimCode = delimiter.charCodeAt(0)
    this.baseBytes = startOffset
    this.line = startLine
  }

  /** Appends decoded text. Drops the text already consumed. */
  push(chunk: string): void {
    if (this.pos > 0) this.compact()
    const atFileStart = this.baseBytes === 0 && this.text.length === 0
    this.text = this.text.length === 0 ? chunk : this.text + chunk
    if (atFileStart && this.text.charCodeAt(0) === BOM) this.pos = 1
    this.nextQuote = -1
    this.nextDelim = -1
  }

  /** No more text will come. */
  end(): void {
    this.eof = true
  }

  /** Byte offset in the file of the next unread record. */
  offset(): number {
    if (this.pos > 0) this.compact()
    return this.baseBytes
  }

  /**
   * Reads the next record into `out` and returns its number of fields, or {@link NEED_MORE},
   * {@link END} or {@link SYNTAX_ERROR}.
   */
  next(out: Array<string>): number {
    const text = this.text
    const len = text.length
    let pos = this.pos
    // Skip empty lines.
    for (;;) {
      if (pos >= len) {
        this.pos = pos
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
            return NEED_MORE
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
    let nl = text.indexOf("\n", pos)
    if (nl === -1) {
      if (!this.eof) return NEED_MORE
      nl = len
    }
    if (this.nextQuote < pos) {
      const q = text.indexOf('"', pos)
      this.nextQuote = q === -1 ? Number.MAX_SAFE_INTEGER : q
    }
    if (this.nextQuote < nl) return this.slow(out)
    // Fast path: one physical line without quotes.
    const end = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl
    const delimiter = this.delimiter
    let n = 0
    let start = pos
    for (;;) {
      let d = this.nextDelim
      if (d < start) {
        d = text.indexOf(delimiter, start)
        if (d === -1) d = Number.MAX_SAFE_INTEGER
        this.nextDelim = d
      }
      if (d >= end) {
        out[n++] = text.slice(start, end)
        break
      }
      out[n++] = text.slice(start, d)
      start = d + 1
    }
    this.pos = nl < len ? nl + 1 : len
    this.line++
    return n
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
    let nextD = -1
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
            if (!eof) return NEED_MORE
            return this.fail("unterminated quoted field", n + 1, 0)
          }
          if (q + 1 >= len && !eof) return NEED_MORE
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
            if (!eof) return NEED_MORE
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
      if (nextD < i) {
        nextD = text.indexOf(this.delimiter, i)
        if (nextD === -1) nextD = Number.MAX_SAFE_INTEGER
      }
      if (nextNl < i) {
        nextNl = text.indexOf("\n", i)
        if (nextNl === -1) nextNl = Number.MAX_SAFE_INTEGER
      }
      let j = Math.min(nextD, nextNl)
      if (j >= len) {
        if (!eof) return NEED_MORE
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
    this.pos = i
    this.line += lines + 1
    this.nextDelim = -1
    return n
  }

  private fail(message: string, field: number, lines: number): number {
    this.errorMessage = message
    this.errorLine = this.recordLine + lines
    this.errorField = field
    return SYNTAX_ERROR
  }

  private compact(): void {
    this.baseBytes += Buffer.byteLength(this.text.slice(0, this.pos), "utf8")
    this.text = this.text.slice(this.pos)
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
