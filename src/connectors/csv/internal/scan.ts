/**
 * Finding CSV record boundaries in raw bytes without parsing the fields, for batches handed on
 * encoded (`Batch.encoded`, format `text/csv`).
 *
 * The scanner accepts a *plain* subset of the syntax {@link CsvParser} reads, where every CSV
 * reader (in particular PostgreSQL's `COPY ... (FORMAT csv)`) sees the same records and fields:
 * records end with `\n`; a quote only opens a field (`"..."`, with `""` inside) and a closing
 * quote is followed by the delimiter, `\n` or the end of the input; no `\r` outside quotes; no
 * empty line; no record starting with `\` (PostgreSQL reads a line `\.` as the end of the data);
 * no record longer than `maxRecord` bytes (the parser refuses it, naming its line).
 * (A byte order mark at the start of the file is the reader's business, not the scanner's.) It stops at the first record outside that subset (the caller parses that
 * part with `CsvParser`, which handles it, or reports it as a syntax error).
 *
 * A record with no quote is found with one `indexOf` for its line feed (the next quote and the
 * next `\r` are searched for once per occurrence, not once per record).
 */

const LF = 10
const CR = 13
const QUOTE = 34
const BACKSLASH = 92

/** What {@link scanPlain} found. */
export interface ScanResult {
  /** Index just after the last complete plain record. */
  end: number
  /** Complete plain records found. */
  records: number
  /** The physical lines of those records (line feeds, and a last line without one at the end of the input). */
  lines: number
  /** Stopped at a record outside the plain subset (it starts at `end`). */
  odd: boolean
}

/**
 * Scans `buf[from, to)`, which starts at a record boundary, for at most `max` complete plain
 * records. With `eof`, the input ends at `to` (a last record without a line feed counts).
 * Without it, a record reaching `to` is incomplete: the scan stops before it.
 */
export const scanPlain = (
  buf: Uint8Array,
  from: number,
  to: number,
  max: number,
  delimiter: number,
  eof: boolean,
  out: ScanResult,
  maxRecord: number = Number.MAX_SAFE_INTEGER
): void => {
  let p = from
  let records = 0
  let lines = 0
  let odd = false
  // next quote / carriage return at or after p (-1: none before `to`)
  let nextQuote = buf.indexOf(QUOTE, p)
  let nextCr = buf.indexOf(CR, p)
  if (nextQuote >= to) nextQuote = -1
  if (nextCr >= to) nextCr = -1
  while (records < max && p < to) {
    const first = buf[p]
    if (first === LF || first === CR || first === BACKSLASH) {
      odd = true
      break
    }
    let lf = buf.indexOf(LF, p)
    if (lf >= to) lf = -1
    const lineEnd = lf === -1 ? to : lf
    if (nextCr !== -1 && nextCr < p) {
      nextCr = buf.indexOf(CR, p)
      if (nextCr >= to) nextCr = -1
    }
    if (nextQuote !== -1 && nextQuote < p) {
      nextQuote = buf.indexOf(QUOTE, p)
      if (nextQuote >= to) nextQuote = -1
    }
    if (nextQuote === -1 || nextQuote >= lineEnd) {
      // no quote on this line: the record is the line
      if (nextCr !== -1 && nextCr < lineEnd) {
        odd = true
        break
      }
      if (lineEnd - p > maxRecord) {
        odd = true
        break
      }
      if (lf === -1) {
        if (!eof) break
        p = to
        lines++ // the last line, without a line feed, counts as the parser counts it
      } else {
        p = lf + 1
        lines++
      }
      records++
      continue
    }
    // a quote on the line: walk the record field by field
    let i = p
    let recordLines = 0
    let complete = false
    for (;;) {
      if (i < to && buf[i] === QUOTE) {
        // quoted field: find the closing quote (a doubled quote is data)
        let q = i + 1
        for (;;) {
          q = buf.indexOf(QUOTE, q)
          if (q === -1 || q >= to) {
            q = -1
            break
          }
          if (q + 1 < to && buf[q + 1] === QUOTE) {
            q += 2
            continue
          }
          break
        }
        if (q === -1) break // incomplete (or, at the end of the input, unterminated: odd)
        for (let k = buf.indexOf(LF, i + 1); k !== -1 && k < q; k = buf.indexOf(LF, k + 1)) recordLines++
        i = q + 1
        if (i === to) {
          if (eof) {
            recordLines++
            complete = true
          }
          break
        }
        const c = buf[i]
        if (c === delimiter) {
          i++
          continue
        }
        if (c === LF) {
          recordLines++
          i++
          complete = true
          break
        }
        odd = true // `"a"b`, `"a"\r\n`: let the parser decide
        break
      }
      // unquoted field: up to the delimiter or the line feed, with no quote or carriage return
      let j = i
      while (j < to) {
        const c = buf[j]
        if (c === delimiter || c === LF || c === QUOTE || c === CR) break
        j++
      }
      if (j === to) {
        if (eof) {
          i = to
          recordLines++
          complete = true
        }
        break
      }
      const c = buf[j]
      if (c === QUOTE || c === CR) {
        odd = true
        break
      }
      i = j + 1
      if (c === LF) {
        recordLines++
        complete = true
        break
      }
    }
    if (!odd && complete && i - p - (i < to || buf[i - 1] === LF ? 1 : 0) > maxRecord) odd = true
    if (odd) break
    if (!complete) {
      // incomplete at `to`; at the end of the input that is an unterminated quote: odd
      if (eof) odd = true
      break
    }
    p = i
    lines += recordLines
    records++
  }
  out.end = p
  out.records = records
  out.lines = lines
  out.odd = odd
}
