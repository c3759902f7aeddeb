/**
 * NDJSON lines written into one growing buffer of their own (it is transferred to the main
 * thread). Lines given as text are joined into short runs (about {@link RUN_CHARS} characters),
 * each encoded with one native call instead of one per line (joining all of a batch's lines
 * before encoding them was measured 3× slower than a call per line: a long text to flatten).
 * Lines can also be written as bytes ({@link LineBuffer.room}, {@link LineBuffer.wrote}), in
 * order with the text ones. No Effect here: the CSV range threads load it.
 */
import { Buffer } from "node:buffer"

/** Bytes the next batch is expected to take (the last batch's, and some), shared by the buffers of a thread. */
let capacity = 64 * 1024

/** Characters of lines joined before they are encoded. */
const RUN_CHARS = 4096

/** One batch's NDJSON lines. */
export class LineBuffer {
  private buffer: Buffer | undefined
  /** Bytes written. */
  at = 0
  /** Lines not encoded yet, each with its line feed. */
  private run = ""
  /** Lines written. */
  count = 0

  /** Appends `line` and a line feed. */
  push(line: string): void {
    this.run += line + "\n"
    this.count++
    if (this.run.length >= RUN_CHARS) this.encode()
  }

  /**
   * Room for `bytes` more bytes: the buffer to write them into, from {@link LineBuffer.at} (the
   * lines pushed as text are written first); then call {@link LineBuffer.wrote}.
   */
  room(bytes: number): Buffer {
    if (this.run.length > 0) this.encode()
    return this.ensure(bytes)
  }

  /** A line (with its line feed) was written into {@link LineBuffer.room}, up to `at`. */
  wrote(at: number): void {
    this.at = at
    this.count++
  }

  private ensure(bytes: number): Buffer {
    let buffer = this.buffer ?? (this.buffer = Buffer.allocUnsafeSlow(Math.max(capacity, bytes)))
    if (buffer.length - this.at < bytes) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, this.at + bytes))
      buffer.copy(bigger, 0, 0, this.at)
      this.buffer = buffer = bigger
    }
    return buffer
  }

  /** Encodes the lines joined so far. */
  private encode(): void {
    const run = this.run
    this.run = ""
    // a UTF-16 unit takes at most 3 bytes of UTF-8
    this.at += this.ensure(run.length * 3).write(run, this.at)
  }

  /** The lines written (`undefined` when none), and a fresh start. */
  take(): { readonly bytes: Uint8Array<ArrayBuffer>; readonly count: number } | undefined {
    if (this.run.length > 0) this.encode()
    const { buffer, at, count } = this
    this.buffer = undefined
    this.at = 0
    this.count = 0
    if (buffer === undefined || count === 0) return undefined
    capacity = Math.max(64 * 1024, Math.ceil(at * 1.25))
    return { bytes: new Uint8Array(buffer.buffer as ArrayBuffer, 0, at), count }
  }
}
