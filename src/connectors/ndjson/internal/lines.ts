/**
 * A streaming line splitter over decoded text that knows the byte offset and 1-based line number
 * of the next unread line. Lines end at `\n`; a `\r` before it is dropped.
 *
 * Linear time on lines of any length: each chunk is searched once for a line feed; the pieces of
 * a line that spans chunks are collected and joined once, when its end arrives (a string grown
 * chunk by chunk would be copied whole at every search). A line of more than `maxLineBytes` UTF-8
 * bytes is reported with {@link TOO_LARGE} as soon as that many bytes of it are held, so memory
 * stays bounded by the limit.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { utf8Length } from "../../../internal/utf8.ts"

/** `next` needs more text. */
export const NEED_MORE = 0
/** `next` returned a line (in `value`). */
export const LINE = 1
/** `next`: the input is exhausted. */
export const END = 2
/** `next`: the line at `line` is longer than `maxLineBytes` (nothing of it is returned). */
export const TOO_LARGE = 3
/**
 * `next`: the text stops (see {@link LineSplitter.stop}) inside the line at `line`; `value` holds
 * the part of it before that point.
 */
export const NOT_TEXT = 4

/** The default of `maxLineBytes`: 64 MiB. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024

/** The splitter state. One instance per open file. */
export class LineSplitter {
  private text = ""
  private pos = 0
  private eof = false
  private stopped = false
  private baseBytes: number
  /** Pieces of the line at `pos` that began in earlier chunks (text then holds its latest part). */
  private pieces: Array<string> = []
  private pieceChars = 0
  private atFileStart: boolean
  /** Dropping the line `skip` was called for, up to its end; the bytes dropped so far. */
  private skipping = false
  private skippedBytes = 0
  private readonly cheapLimit: number
  /** The longest line, in UTF-8 bytes without its line break. */
  readonly maxLineBytes: number
  /** The text holds bytes escaped by the lenient decoder (set by the reader; see utf8.ts): count them as 1 byte each. */
  escaped = false
  /** 1-based line of the next unread line. */
  line: number
  /** The line last returned by `next` (without its line break). */
  value = ""
  /** 1-based number of the line last returned. */
  valueLine = 0

  constructor(startOffset = 0, startLine = 1, maxLineBytes = MAX_LINE_BYTES) {
    this.baseBytes = startOffset
    this.line = startLine
    this.atFileStart = startOffset === 0
    this.maxLineBytes = maxLineBytes
    this.cheapLimit = Math.floor(maxLineBytes / 3)
  }

  /** Appends decoded text. */
  push(chunk: string): void {
    if (chunk.length === 0) return
    if (this.skipping) {
      this.text = chunk
      this.pos = 0
      this.skipIn()
      return
    }
    if (this.pos < this.text.length) {
      // the unread text starts a line whose end has not come: keep it aside (`baseBytes` stays
      // the offset of the line's start until the line is read)
      if (this.pieces.length === 0) this.compact()
      this.pieces.push(this.text)
      this.pieceChars += this.text.length
    } else if (this.pieces.length === 0) this.compact()
    this.text = chunk
    this.pos = 0
    if (this.atFileStart) {
      this.atFileStart = false
      if (chunk.charCodeAt(0) === 0xfeff) this.pos = 1
    }
  }

  /** No more text will come. */
  end(): void {
    this.eof = true
  }

  /**
   * The input goes on, but not as text: the lines complete before that point are still returned,
   * then {@link NOT_TEXT} for the one it interrupts.
   */
  stop(): void {
    this.stopped = true
  }

  /** Byte offset of the next unread line (while a line is skipped, its start). */
  offset(): number {
    if (this.pos > 0 && this.pieces.length === 0 && !this.skipping) this.compact()
    return this.baseBytes
  }

  /** The first `n` characters of the line at the read position (what is held of it). */
  head(n: number): string {
    return this.pieces.length > 0 ? this.pieces[0].slice(0, n) : this.text.slice(this.pos, this.pos + n)
  }

  /**
   * After {@link TOO_LARGE}: drops that line and goes on after it. What is held of it is dropped
   * now, the text pushed next up to its line feed; until then `offset` and `line` stay at its start.
   */
  skip(): void {
    if (this.pieces.length === 0) this.compact()
    this.skippedBytes = 0
    for (const piece of this.pieces) this.skippedBytes += utf8Length(piece, this.escaped)
    this.pieces = []
    this.pieceChars = 0
    this.skipping = true
    this.skipIn()
  }

  /** Drops the skipped line's text in `text` from `pos`; the text after its line feed is unread text. */
  private skipIn(): void {
    const nl = this.text.indexOf("\n", this.pos)
    const end = nl === -1 ? this.text.length : nl + 1
    this.skippedBytes += utf8Length(this.text.slice(this.pos, end), this.escaped)
    if (nl === -1) {
      this.text = ""
      this.pos = 0
      return
    }
    this.endSkip()
    this.text = this.text.slice(end)
    this.pos = 0
  }

  private endSkip(): void {
    this.skipping = false
    this.baseBytes += this.skippedBytes
    this.line++
  }

  /**
   * Reads the next line into `value`; returns {@link LINE}, {@link NEED_MORE}, {@link END},
   * {@link TOO_LARGE} or {@link NOT_TEXT}.
   */
  next(): number {
    if (this.skipping) {
      if (this.stopped) return this.notText("")
      if (!this.eof) return NEED_MORE
      // the skipped line was the last, without a line feed
      this.endSkip()
      return END
    }
    const text = this.text
    const pos = this.pos
    const held = this.pieceChars
    if (pos >= text.length && held === 0) return this.stopped ? this.notText("") : this.eof ? END : NEED_MORE
    let nl = text.indexOf("\n", pos)
    let after = nl + 1
    if (nl === -1) {
      // (a `\r` at the end may start the line break, which does not count)
      const end = text.length > pos && text.charCodeAt(text.length - 1) === 13 ? text.length - 1 : text.length
      if (this.tooLarge(held + end - pos, pos, end)) return TOO_LARGE
      if (this.stopped) return this.notText(this.joined(text.slice(pos)))
      if (!this.eof) return NEED_MORE
      nl = text.length
      after = nl
    }
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl
    if (this.tooLarge(held + end - pos, pos, end)) return TOO_LARGE
    if (held === 0) this.value = text.slice(pos, end)
    else {
      // a line that spanned chunks (its `\r` may end the previous piece)
      let held = 0
      for (const piece of this.pieces) held += utf8Length(piece, this.escaped)
      let value = this.joined(text.slice(pos, end))
      if (nl === pos && value.charCodeAt(value.length - 1) === 13) value = value.slice(0, -1)
      this.value = value
      this.baseBytes += held
      this.pieces = []
      this.pieceChars = 0
    }
    this.valueLine = this.line
    this.line++
    this.pos = after
    return LINE
  }

  /** The held pieces and `last`, as one string. */
  private joined(last: string): string {
    return this.pieces.length === 0 ? last : this.pieces.join("") + last
  }

  /** Whether a line of `chars` characters (held pieces, then `text[from, to)`) exceeds the limit. */
  private tooLarge(chars: number, from: number, to: number): boolean {
    if (chars <= this.cheapLimit) return false
    if (chars > this.maxLineBytes) return true
    let bytes = Buffer.byteLength(this.text.slice(from, to), "utf8")
    for (const piece of this.pieces) bytes += Buffer.byteLength(piece, "utf8")
    return bytes > this.maxLineBytes
  }

  private notText(value: string): number {
    this.value = value
    this.valueLine = this.line
    return NOT_TEXT
  }

  /** Drops the consumed text, counting its bytes in `baseBytes`. */
  private compact(): void {
    this.baseBytes += utf8Length(this.text.slice(0, this.pos), this.escaped)
    this.text = this.text.slice(this.pos)
    this.pos = 0
  }
}
