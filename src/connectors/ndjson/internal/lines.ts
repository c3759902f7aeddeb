/**
 * A streaming line splitter over decoded text that knows the byte offset and 1-based line number
 * of the next unread line. Lines end at `\n`; a `\r` before it is dropped.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"

/** `next` needs more text. */
export const NEED_MORE = 0
/** `next` returned a line (in `value`). */
export const LINE = 1
/** `next`: the input is exhausted. */
export const END = 2

/** The splitter state. One instance per open file. */
export class LineSplitter {
  private text = ""
  private pos = 0
  private eof = false
  private baseBytes: number
  /** 1-based line of the next unread line. */
  line: number
  /** The line last returned by `next` (without its line break). */
  value = ""
  /** 1-based number of the line last returned. */
  valueLine = 0

  constructor(startOffset = 0, startLine = 1) {
    this.baseBytes = startOffset
    this.line = startLine
  }

  /** Appends decoded text. */
  push(chunk: string): void {
    if (this.pos > 0) this.compact()
    const atFileStart = this.baseBytes === 0 && this.text.length === 0
    this.text = this.text.length === 0 ? chunk : this.text + chunk
    if (atFileStart && this.text.charCodeAt(0) === 0xfeff) this.pos = 1
  }

  /** No more text will come. */
  end(): void {
    this.eof = true
  }

  /** Byte offset of the next unread line. */
  offset(): number {
    if (this.pos > 0) this.compact()
    return this.baseBytes
  }

  /** Reads the next line into `value`; returns {@link LINE}, {@link NEED_MORE} or {@link END}. */
  next(): number {
    const text = this.text
    const pos = this.pos
    if (pos >= text.length) return this.eof ? END : NEED_MORE
    let nl = text.indexOf("\n", pos)
    let after = nl + 1
    if (nl === -1) {
      if (!this.eof) return NEED_MORE
      nl = text.length
      after = nl
    }
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl
    this.value = text.slice(pos, end)
    this.valueLine = this.line
    this.line++
    this.pos = after
    return LINE
  }

  private compact(): void {
    this.baseBytes += Buffer.byteLength(this.text.slice(0, this.pos), "utf8")
    this.text = this.text.slice(this.pos)
    this.pos = 0
  }
}
