/**
 * NDJSON lines written into one growing buffer of their own (it is transferred to the main
 * thread): each line is written as it is made (measured 3× faster than joining the lines and
 * encoding the text at once). No Effect here: the CSV range threads load it.
 */
import { Buffer } from "node:buffer"

/** Bytes the next batch is expected to take (the last batch's, and some), shared by the buffers of a thread. */
let capacity = 64 * 1024

/** One batch's NDJSON lines. */
export class LineBuffer {
  private buffer: Buffer | undefined
  private at = 0
  /** Lines written. */
  count = 0

  /** Appends `line` and a line feed. */
  push(line: string): void {
    let buffer = this.buffer ?? (this.buffer = Buffer.allocUnsafeSlow(capacity))
    // a UTF-16 unit takes at most 3 bytes of UTF-8
    if (buffer.length - this.at < line.length * 3 + 1) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, this.at + line.length * 3 + 1))
      buffer.copy(bigger, 0, 0, this.at)
      this.buffer = buffer = bigger
    }
    this.at += buffer.write(line, this.at)
    buffer[this.at++] = 10
    this.count++
  }

  /** The lines written (`undefined` when none), and a fresh start. */
  take(): { readonly bytes: Uint8Array<ArrayBuffer>; readonly count: number } | undefined {
    const { buffer, at, count } = this
    this.buffer = undefined
    this.at = 0
    this.count = 0
    if (buffer === undefined || count === 0) return undefined
    capacity = Math.max(64 * 1024, Math.ceil(at * 1.25))
    return { bytes: new Uint8Array(buffer.buffer as ArrayBuffer, 0, at), count }
  }
}
