/**
 * Reading `COPY ... TO STDOUT` (text format) on a `pg` client: {@link CopyOut} hands out whole
 * rows in byte blocks of at most `max` rows, as the server wrote them; {@link decodeRows} turns
 * such a block into records and {@link lastRowFields} reads only the fields of its last row that
 * a position needs.
 *
 * COPY text: fields separated by a tab, rows ended by a line feed, `\N` for NULL, and a backslash
 * before `\`, a tab, a line feed, a carriage return (and `\b \f \v`) inside a value — so a raw
 * line feed byte always ends a row and a raw tab always ends a field, and a UTF-8 block cut at a
 * line feed decodes on its own.
 */
import type pg from "pg"
import { to as copyTo } from "pg-copy-streams"
import type { Decoder } from "./values.ts"

const NL = 10
const BACKSLASH = 92

/** One block of whole rows. */
export interface RowBlock {
  readonly bytes: Buffer
  readonly rows: number
}

/**
 * A running `COPY ... TO STDOUT`. `next(max)` resolves with the next block of at most `max`
 * whole rows, or `undefined` at the end. The socket is read only while a block is asked for,
 * so a slow consumer holds the server back (backpressure) and memory stays at about a block.
 */
export class CopyOut {
  private readonly stream: ReturnType<typeof copyTo>
  private error: unknown = undefined
  private ended = false
  private wake: (() => void) | undefined = undefined
  /** Bytes received after the last whole row handed out. */
  private rest: Buffer | undefined = undefined

  constructor(client: pg.Client, statement: string) {
    this.stream = client.query(copyTo(statement))
    const notify = () => {
      const w = this.wake
      this.wake = undefined
      if (w !== undefined) w()
    }
    this.stream.on("readable", notify)
    this.stream.on("end", () => {
      this.ended = true
      notify()
    })
    this.stream.on("error", (e: unknown) => {
      this.error ??= e
      notify()
    })
  }

  /** Rows the server reported when the COPY completed (after the last block). */
  get rowCount(): number {
    return this.stream.rowCount
  }

  private async chunk(): Promise<Buffer | null> {
    for (;;) {
      if (this.error !== undefined) throw this.error
      const chunk = this.stream.read() as Buffer | null
      if (chunk !== null) return chunk
      if (this.ended) return null
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  /** The next block of at most `max` (≥ 1) whole rows, or `undefined` when the COPY is done. */
  async next(max: number): Promise<RowBlock | undefined> {
    const parts: Array<Buffer> = []
    let size = 0
    let rows = 0
    let pending = this.rest
    this.rest = undefined
    for (;;) {
      const chunk = pending ?? (await this.chunk())
      pending = undefined
      if (chunk === null) break
      let at = 0
      let cut = -1
      for (;;) {
        const nl = chunk.indexOf(NL, at)
        if (nl < 0) break
        rows++
        at = nl + 1
        if (rows === max) {
          cut = at
          break
        }
      }
      if (cut >= 0) {
        parts.push(chunk.subarray(0, cut))
        size += cut
        if (cut < chunk.length) this.rest = chunk.subarray(cut)
        break
      }
      parts.push(chunk)
      size += chunk.length
    }
    if (rows === 0) {
      if (size > 0) throw new Error("COPY output ended inside a row")
      return undefined
    }
    const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, size)
    // A block may end with a partial row only when the COPY ended: keep whole rows, carry the rest.
    const last = bytes.lastIndexOf(NL)
    if (last !== bytes.length - 1) {
      this.rest = bytes.subarray(last + 1)
      return { bytes: bytes.subarray(0, last + 1), rows }
    }
    return { bytes, rows }
  }
}

/** Undoes COPY text escapes in a field (not `\N`, which the caller handles). */
export const unescapeField = (s: string): string => {
  if (s.indexOf("\\") < 0) return s
  let out = ""
  let from = 0
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== BACKSLASH) continue
    out += s.slice(from, i)
    const c = s[i + 1]
    i++
    switch (c) {
      case "n":
        out += "\n"
        break
      case "r":
        out += "\r"
        break
      case "t":
        out += "\t"
        break
      case "b":
        out += "\b"
        break
      case "f":
        out += "\f"
        break
      case "v":
        out += "\v"
        break
      default: {
        // \ooo (octal) and \xhh (hex) are accepted by COPY FROM; COPY TO never writes them.
        const oct = /^[0-7]{1,3}/.exec(s.slice(i, i + 3))
        if (oct !== null) {
          out += String.fromCharCode(parseInt(oct[0], 8))
          i += oct[0].length - 1
        } else if (c === "x" && /^[0-9a-fA-F]/.test(s.slice(i + 1, i + 2))) {
          const hex = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1, i + 3))![0]
          out += String.fromCharCode(parseInt(hex, 16))
          i += hex.length
        } else if (c !== undefined) {
          out += c
        }
      }
    }
    from = i + 1
  }
  return out + s.slice(from)
}

/** A field that does not decode, with the row's index in the block and the column's. */
export class FieldError extends Error {
  readonly row: number
  readonly column: number
  readonly fields: ReadonlyArray<string | null>
  override readonly cause: unknown
  constructor(row: number, column: number, fields: ReadonlyArray<string | null>, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause))
    this.row = row
    this.column = column
    this.fields = fields
    this.cause = cause
  }
}

/** The unescaped fields of one row (`null` for `\N`). */
export const splitFields = (line: string): Array<string | null> => {
  const out: Array<string | null> = []
  let from = 0
  for (;;) {
    const tab = line.indexOf("\t", from)
    const raw = tab < 0 ? line.slice(from) : line.slice(from, tab)
    out.push(raw === "\\N" ? null : unescapeField(raw))
    if (tab < 0) return out
    from = tab + 1
  }
}

/**
 * The records of a block of rows: one object per row with a field per column, each decoded by
 * its column's decoder. Throws {@link FieldError} for a field that does not decode or a row with
 * the wrong number of fields. One pass over the block's text: fields are cut at tabs and only a
 * field with a backslash in it is unescaped.
 */
export const decodeRows = (
  bytes: Uint8Array,
  columns: ReadonlyArray<string>,
  decoders: ReadonlyArray<Decoder>
): Array<{ [column: string]: unknown }> => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
  const out: Array<{ [column: string]: unknown }> = []
  const n = columns.length
  const len = text.length
  let pos = 0
  let backslash = text.indexOf("\\")
  if (backslash < 0) backslash = len
  while (pos < len) {
    let end = text.indexOf("\n", pos)
    if (end < 0) end = len
    const record: { [column: string]: unknown } = {}
    let c = 0
    for (; c < n; c++) {
      let stop = c < n - 1 ? text.indexOf("\t", pos) : end
      if (stop < 0 || stop > end) break
      if (c === n - 1 && text.lastIndexOf("\t", end) >= pos) stop = -1
      if (stop < 0) break
      let raw = text.slice(pos, stop)
      if (backslash < stop) {
        if (raw === "\\N") {
          record[columns[c]] = null
          pos = stop + 1
          backslash = text.indexOf("\\", pos)
          if (backslash < 0) backslash = len
          continue
        }
        raw = unescapeField(raw)
        backslash = text.indexOf("\\", stop)
        if (backslash < 0) backslash = len
      }
      try {
        record[columns[c]] = decoders[c](raw)
      } catch (cause) {
        throw new FieldError(out.length, c, splitFields(text.slice(rowStart(text, end), end)), cause)
      }
      pos = stop + 1
    }
    if (c !== n) {
      const fields = splitFields(text.slice(rowStart(text, end), end))
      throw new FieldError(out.length, Math.min(fields.length, n) - 1, fields, `a row of ${fields.length} fields for ${n} columns`)
    }
    out.push(record)
    pos = end + 1
  }
  return out
}

/** Where the row ending at `end` starts. */
const rowStart = (text: string, end: number): number => text.lastIndexOf("\n", end - 1) + 1

/** The unescaped fields of the last row of a block (for a position: its key and cursor). */
export const lastRowFields = (bytes: Uint8Array): Array<string | null> => {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const start = b.lastIndexOf(NL, b.length - 2) + 1
  return splitFields(b.toString("utf8", start, b.length - 1))
}

/** Skips `n` rows of a COPY (positions by row count). Resolves with how many were skipped. */
export const skipRows = async (copy: CopyOut, n: number): Promise<number> => {
  let skipped = 0
  while (skipped < n) {
    const block = await copy.next(Math.min(n - skipped, 65536))
    if (block === undefined) break
    skipped += block.rows
  }
  return skipped
}
