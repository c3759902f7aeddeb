/**
 * Reference readers for the fuzz suites, written independently of the code under test and as
 * plainly as possible (one character at a time, no speed tricks):
 * - {@link decodeUtf8}: strict UTF-8 decoding by the Unicode table of well-formed sequences;
 * - {@link parseCsv}: RFC 4180 with DataFlare's documented conventions (records end at LF or
 *   CRLF, a lone CR is data, a quote opens a field only at its start, empty lines are skipped, a
 *   byte order mark at the start is skipped), reporting the first problem as the readers do.
 */

/** The text of `bytes` up to the first byte that is not well-formed UTF-8 (or is NUL), and whether it stopped early. */
export const decodeUtf8 = (bytes: Uint8Array): { readonly text: string; readonly truncated: boolean } => decode(bytes, false)

/** The text of `bytes`, each byte that is not part of well-formed UTF-8 read as U+FFFD (NUL is text). */
export const decodeLenient = (bytes: Uint8Array): string => decode(bytes, true).text

const decode = (bytes: Uint8Array, lenient: boolean): { readonly text: string; readonly truncated: boolean } => {
  let text = ""
  let i = 0
  const n = bytes.length
  const cont = (k: number, lo = 0x80, hi = 0xbf) => k < n && bytes[k] >= lo && bytes[k] <= hi
  while (i < n) {
    const b = bytes[i]
    let cp = -1
    let len = 0
    if (b === 0 && !lenient) break
    if (b < 0x80) {
      cp = b
      len = 1
    } else if (b >= 0xc2 && b <= 0xdf && cont(i + 1)) {
      cp = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f)
      len = 2
    } else if (b >= 0xe0 && b <= 0xef) {
      const lo = b === 0xe0 ? 0xa0 : 0x80
      const hi = b === 0xed ? 0x9f : 0xbf
      if (cont(i + 1, lo, hi) && cont(i + 2)) {
        cp = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f)
        len = 3
      }
    } else if (b >= 0xf0 && b <= 0xf4) {
      const lo = b === 0xf0 ? 0x90 : 0x80
      const hi = b === 0xf4 ? 0x8f : 0xbf
      if (cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3)) {
        cp = ((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f)
        len = 4
      }
    }
    if (cp < 0 && lenient) {
      text += "\uFFFD"
      i++
      continue
    }
    if (cp < 0) return { text, truncated: true }
    text += String.fromCodePoint(cp)
    i += len
  }
  return { text, truncated: i < n }
}

/** What the reference reads: records (with the line each starts on), then possibly a problem. */
export interface CsvReading {
  readonly records: ReadonlyArray<ReadonlyArray<string>>
  readonly lines: ReadonlyArray<number>
  readonly error?: { readonly kind: "syntax" | "not-text"; readonly line: number; readonly field: number }
}

/**
 * Parses `text` as CSV. `truncated`: the input goes on past `text` but not as text — the record
 * it interrupts (even one not yet started) is a `not-text` problem at the line and field where the
 * text stops.
 */
export const parseCsv = (input: string, delimiter: string, truncated: boolean): CsvReading => {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
  const n = text.length
  const records: Array<Array<string>> = []
  const lines: Array<number> = []
  let i = 0
  let line = 1
  const stop = (kind: "syntax" | "not-text", at: number, field: number): CsvReading => ({
    records,
    lines,
    error: { kind, line: at, field }
  })
  for (;;) {
    // empty lines
    for (;;) {
      if (i < n && text[i] === "\n") {
        i++
        line++
      } else if (i + 1 < n && text[i] === "\r" && text[i + 1] === "\n") {
        i += 2
        line++
      } else if (i + 1 === n && text[i] === "\r" && !truncated) i++
      else break
    }
    if (i >= n) return truncated ? stop("not-text", line, 1) : { records, lines }
    const start = line
    let inside = 0 // line feeds inside quoted fields of this record
    const fields: Array<string> = []
    for (;;) {
      let field = ""
      if (text[i] === '"') {
        i++
        for (;;) {
          if (i >= n) return truncated ? stop("not-text", start + inside, fields.length + 1) : stop("syntax", start, fields.length + 1)
          if (text[i] === '"') {
            if (i + 1 < n && text[i + 1] === '"') {
              field += '"'
              i += 2
              continue
            }
            if (i + 1 >= n && truncated) return stop("not-text", start + inside, fields.length + 1)
            i++
            break
          }
          if (text[i] === "\n") inside++
          field += text[i++]
        }
        fields.push(field)
        if (i >= n) {
          if (truncated) return stop("not-text", start + inside, fields.length)
          break
        }
        const c = text[i]
        if (c === delimiter) {
          i++
          continue
        }
        if (c === "\n") {
          i++
          break
        }
        if (c === "\r") {
          if (i + 1 >= n) {
            if (truncated) return stop("not-text", start + inside, fields.length)
            i++
            break
          }
          if (text[i + 1] === "\n") {
            i += 2
            break
          }
        }
        return stop("syntax", start + inside, fields.length)
      }
      while (i < n && text[i] !== delimiter && text[i] !== "\n") field += text[i++]
      if (i < n && text[i] === delimiter) {
        fields.push(field)
        i++
        continue
      }
      if (i >= n && truncated) return stop("not-text", start + inside, fields.length + 1)
      fields.push(field.endsWith("\r") ? field.slice(0, -1) : field)
      if (i < n) i++
      break
    }
    records.push(fields)
    lines.push(start)
    line = start + inside + 1
  }
}
