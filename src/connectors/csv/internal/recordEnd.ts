/**
 * The structure of a CSV record whose text is not all there yet.
 *
 * {@link RecordEnd}: finding where a record that spans chunks ends, one chunk at a time, without
 * holding or re-reading the chunks before: the quote state at the end of each chunk is carried
 * to the next.
 * {@link CsvParser} uses it while a record is incomplete, and parses the record (once) only when
 * this says its end has arrived — so a 50 MB field costs one scan here, one join and one parse,
 * instead of a parse from the record's start at every 64 KiB chunk.
 *
 * It follows the parser's rules (a quote opens a field only at its start, `""` inside quotes is
 * data, a line feed outside quotes ends the record) and reports an end also where the parser will
 * report a syntax error (a character after a closing quote), so the parser gets to say so.
 */

const LF = 10
const CR = 13
const QUOTE = 34

/** At the start of a field. */
const FIELD_START = 0
/** Inside an unquoted field. */
const UNQUOTED = 1
/** Inside a quoted field. */
const QUOTED = 2
/** Just after a quote inside a quoted field: a doubled quote, or the closing one. */
const AFTER_QUOTE = 3
/** After a closing quote and a `\r`. */
const AFTER_QUOTE_CR = 4
/** Anything up to the next line feed (the rest of a record being skipped after a syntax error). */
const UNTIL_LINE_FEED = 5

/** The scanner's state for one incomplete record. */
export class RecordEnd {
  private state = FIELD_START
  private readonly delimiter: string
  private readonly delimCode: number

  constructor(delimiter: string) {
    this.delimiter = delimiter
    this.delimCode = delimiter.charCodeAt(0)
  }

  /** A record starts (at the first character the next `scan` sees). */
  start(): void {
    this.state = FIELD_START
  }

  /** From here the record ends at the next line feed, whatever comes before it. */
  untilLineFeed(): void {
    this.state = UNTIL_LINE_FEED
  }

  /**
   * Scans `s[from, s.length)`, the next text of the record: the index of the line feed that ends
   * the record in it — or of the character where the parser has an error to report — or -1 when
   * the record goes on past `s`.
   */
  scan(s: string, from: number): number {
    const len = s.length
    let i = from
    // next delimiter / line feed at or after i (each searched for once per occurrence)
    let nextD = -1
    let nextNl = -1
    while (i < len) {
      switch (this.state) {
        case FIELD_START:
          if (s.charCodeAt(i) === QUOTE) {
            this.state = QUOTED
            i++
          } else this.state = UNQUOTED
          break
        case UNQUOTED: {
          if (nextNl < i) {
            nextNl = s.indexOf("\n", i)
            if (nextNl === -1) nextNl = Number.MAX_SAFE_INTEGER
          }
          if (nextD < i) {
            nextD = s.indexOf(this.delimiter, i)
            if (nextD === -1) nextD = Number.MAX_SAFE_INTEGER
          }
          if (nextD < nextNl) {
            this.state = FIELD_START
            i = nextD + 1
          } else return nextNl < len ? nextNl : -1
          break
        }
        case QUOTED: {
          const q = s.indexOf('"', i)
          if (q === -1) return -1
          this.state = AFTER_QUOTE
          i = q + 1
          break
        }
        case AFTER_QUOTE: {
          const c = s.charCodeAt(i)
          if (c === QUOTE) {
            this.state = QUOTED
            i++
          } else if (c === this.delimCode) {
            this.state = FIELD_START
            i++
          } else if (c === CR) {
            this.state = AFTER_QUOTE_CR
            i++
          } else return i // the end (LF), or a syntax error for the parser to report
          break
        }
        case AFTER_QUOTE_CR:
          // after `"\r`: a line feed ends the record; anything else is the parser's error
          return i
        default:
          return s.indexOf("\n", i)
      }
    }
    return -1
  }
}

/** Where the text of an incomplete record stops (see {@link whereTextStops}). */
export interface TextStop {
  /** Line feeds inside the record before that point. */
  readonly lines: number
  /** 1-based field where the text stops (or where `error` is). */
  readonly field: number
  /** A syntax error met before that point (a character after a closing quote), which a reader reports first. */
  readonly error: string | undefined
}

/**
 * Walks `text[from, ...)`, the start of a record whose text stops at the end of `text` (the bytes
 * after it are not text): the line feeds and the field there, or the syntax error before it.
 */
export const whereTextStops = (text: string, from: number, delimCode: number): TextStop => {
  const len = text.length
  let field = 1
  let lines = 0
  let quoted = false
  let closed = false
  let fieldStart = true
  for (let i = from; i < len; i++) {
    const c = text.charCodeAt(i)
    if (quoted) {
      if (c === QUOTE) {
        if (i + 1 < len && text.charCodeAt(i + 1) === QUOTE) i++
        else {
          quoted = false
          closed = true
        }
      } else if (c === LF) lines++
      continue
    }
    if (closed) {
      closed = false
      const crlf = c === CR && (i + 1 >= len || text.charCodeAt(i + 1) === LF)
      if (c !== delimCode && !crlf) {
        return { lines, field, error: `unexpected character ${JSON.stringify(text[i])} after the closing quote` }
      }
    }
    if (fieldStart && c === QUOTE) {
      quoted = true
      fieldStart = false
    } else if (c === delimCode) {
      field++
      fieldStart = true
    } else fieldStart = false
  }
  return { lines, field, error: undefined }
}
