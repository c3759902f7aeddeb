/**
 * Turning the text a {@link CsvParser} holds into `csv` records: shared by the one-thread reader
 * (which feeds the parser from the file) and the bytes reader (which parses batches it holds as
 * bytes, or a stretch the byte scanner left to the parser).
 */
import { Effect } from "effect"
import { type ConnectorError, RecordError } from "../../../Errors.ts"
import { type BuildError, build, type Layout } from "./columns.ts"
import type { FileLetters, SetAside } from "../../../internal/deadLetters.ts"
import { notTextMessage, unescapeFields } from "../../../internal/utf8.ts"
import { type CsvParser, END, NEED_MORE, NOT_TEXT, SYNTAX_ERROR, TOO_LARGE } from "./parser.ts"
import { conversionEntry, syntaxEntry } from "./rejects.ts"

/** Where malformed records go (`on_error: dead_letter`): their entries, and the delimiter to write their fields with. */
export interface Rejects {
  readonly entries: Array<SetAside>
  readonly delimiter: string
}

/** A record of the `csv` source. */
export type CsvRecord = { readonly [column: string]: unknown }

/**
 * Parses the records the parser can give from the text it holds into `records`, up to `max` of
 * them. Returns `undefined` when `max` is reached, {@link NEED_MORE} when the parser needs more
 * text, {@link END} at the end of the input, or the `RecordError` (naming `path:line:field`) of a
 * record that does not decode or does not parse. With `setAside` (`oversize: dead_letter`), a
 * record over `max_record_bytes` is skipped and its place added to it instead; with `rejects`
 * (`on_error: dead_letter`), so is a record that does not decode or does not parse.
 */
export const parseBuffered = (
  parser: CsvParser,
  layout: Layout,
  path: string,
  max: number,
  records: Array<CsvRecord>,
  setAside?: Array<SetAside>,
  rejects?: Rejects
): typeof NEED_MORE | typeof END | RecordError | undefined => {
  const fields: Array<string> = []
  const error: BuildError = { detail: "", column: 0, field: undefined }
  while (records.length < max) {
    const n = parser.next(fields)
    if (n === NEED_MORE || n === END) return n
    if (n === TOO_LARGE && setAside !== undefined) {
      setAside.push({ line: parser.errorLine, offset: parser.offset(), error: parser.errorMessage, head: parser.head(200) })
      parser.skip()
      continue
    }
    if (n > 0 && parser.escaped) unescapeFields(fields, n)
    if (n < 0) {
      if (n === SYNTAX_ERROR && rejects !== undefined) {
        rejects.entries.push(syntaxEntry(parser))
        parser.skip()
        continue
      }
      const field = n === NOT_TEXT ? layout.names[parser.errorField - 1] : undefined
      return new RecordError({
        detail: parser.errorMessage,
        location: { file: path, line: parser.errorLine, ...(parser.errorField > 0 ? { column: parser.errorField } : {}) },
        ...(field !== undefined ? { field } : {})
      })
    }
    const record = build(layout, fields, n, error)
    if (record === undefined) {
      if (rejects !== undefined) {
        rejects.entries.push(conversionEntry(parser.recordLine, fields, n, error, rejects.delimiter))
        continue
      }
      return new RecordError({
        detail: error.detail,
        location: { file: path, line: parser.recordLine, column: error.column },
        ...(error.field !== undefined ? { field: error.field } : {}),
        record: fields.slice(0, n)
      })
    }
    records.push(record)
  }
  return undefined
}

/** Where a parser's text comes from (a `TextFile`, or the bytes reader's buffer). */
export interface TextInput {
  /** The next text, or `undefined` when there is no more (at the end, or where the bytes stop being text). */
  readonly read: Effect.Effect<string | undefined, ConnectorError>
  /** Why there is no more text before the end of the input (see `TextFile.invalid`). */
  readonly invalid: () => { readonly offset: number; readonly detail: string } | undefined
  /** Whether the text holds escaped bytes (`invalid_utf8: replace`; see utf8.ts). */
  readonly escaped: () => boolean
}

/** Gives the parser the next text from `input`: a chunk, the end, or where the text stops. */
export const feed = (parser: CsvParser, input: TextInput): Effect.Effect<void, ConnectorError> =>
  Effect.map(input.read, (chunk) => {
    if (chunk !== undefined) {
      if (input.escaped()) parser.escaped = true
      return parser.push(chunk)
    }
    const invalid = input.invalid()
    if (invalid === undefined) parser.end()
    else parser.stop(notTextMessage(invalid))
  })

/**
 * Parses up to `max - records.length` records into `records`, pulling text from `input` when the
 * parser needs it. Returns true at the end of the input. With `letters`, records over
 * `max_record_bytes` (`oversize: dead_letter`) and malformed records (`on_error: dead_letter`) are
 * skipped and written there (before the records read with them are handed on).
 */
export const parseRecords = (
  parser: CsvParser,
  input: TextInput,
  layout: Layout,
  path: string,
  max: number,
  records: Array<CsvRecord>,
  letters?: FileLetters,
  delimiter = ","
): Effect.Effect<boolean, ConnectorError | RecordError> =>
  Effect.gen(function*() {
    const entries: Array<SetAside> = []
    const setAside = letters?.oversize === true ? entries : undefined
    const rejects = letters?.malformed === true ? { entries, delimiter } : undefined
    for (;;) {
      const r = parseBuffered(parser, layout, path, max, records, setAside, rejects)
      if (entries.length > 0) yield* letters!.write(entries.splice(0))
      if (r === undefined) return false
      if (r === END) return true
      if (r !== NEED_MORE) return yield* r
      yield* feed(parser, input)
    }
  })
