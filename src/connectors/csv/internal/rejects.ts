/**
 * The entries of malformed CSV records set aside (`on_error: dead_letter`): a record whose
 * fields do not convert (or are too many or too few) — its fields written back as a CSV line —
 * and a record the parser cannot read (a syntax error, an unterminated quote) — its text as it is
 * in the file, up to the end of the line of the error (of an unterminated quote, of the file). Only the failing records pay for this.
 */
import type { SetAside } from "../../../internal/deadLetters.ts"
import { RECORD_TEXT_CHARS } from "../../../internal/letterText.ts"
import type { BuildError } from "./columns.ts"
import type { CsvParser } from "./parser.ts"

/** The parser's message for a quote that is never closed (the rest of the file is the record). */
const UNCLOSED = "unterminated quoted field"

/** `fields[0, n)` as one CSV line, each field quoted when it holds the delimiter, a quote or a line break. */
export const fieldsText = (fields: ReadonlyArray<string>, n: number, delimiter: string): string => {
  let text = ""
  for (let i = 0; i < n; i++) {
    const f = fields[i]
    if (i > 0) text += delimiter
    text += f.includes(delimiter) || f.includes('"') || f.includes("\n") || f.includes("\r") ? `"${f.replaceAll('"', '""')}"` : f
    // (the writer cuts the text: no need to build more of it)
    if (text.length > RECORD_TEXT_CHARS) break
  }
  return text
}

/** The entry of a record that `build` refused (`error` as it filled it), read at `line`. */
export const conversionEntry = (line: number, fields: ReadonlyArray<string>, n: number, error: BuildError, delimiter: string): SetAside => ({
  line,
  column: error.column,
  field: error.field,
  error: error.detail,
  record: fieldsText(fields, n, delimiter)
})

/**
 * The entry of the record at the parser's read position, which `next` found a syntax error in
 * (`errorMessage`, at `errorLine`, field `errorField`): call before `skip`.
 */
export const syntaxEntry = (parser: CsvParser): SetAside => {
  const head = parser.head(RECORD_TEXT_CHARS + 1)
  // the record's text up to the end of the line of the error (an unclosed quote: to the end of the file)
  let end = -1
  const unclosed = parser.errorMessage === UNCLOSED
  for (let k = unclosed ? -1 : parser.errorLine - parser.recordLine; k >= 0; k--) {
    end = head.indexOf("\n", end + 1)
    if (end === -1) break
  }
  const text = end === -1 ? head : head.slice(0, end > 0 && head.charCodeAt(end - 1) === 13 ? end - 1 : end)
  return {
    line: parser.recordLine,
    ...(parser.errorField > 0 ? { column: parser.errorField } : {}),
    error: parser.errorLine === parser.recordLine ? parser.errorMessage : `${parser.errorMessage} (at line ${parser.errorLine})`,
    record: text
  }
}
