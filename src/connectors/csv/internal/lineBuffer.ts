/**
 * NDJSON lines written into one growing buffer of their own (it is transferred to the main
 * thread). Lines are joined into a short run of text (about {@link RUN_CHARS} characters) and
 * each run is encoded with one call: one native call per line cost more than the encoding itself
 * (Session 8 in bench/RESULTS.md), and joining all of a batch's lines before encoding them was
 * measured 3× slower than a call per line (a long text to flatten). No Effect here: the CSV range
 * threads load it.
 */
import { Buffer } from "node:buffer"

/** Bytes the next batch is expected to take (the last batch's, and some), shared by the buffers of a thread. */
let capacity = 64 * 1024

/** Characters of lines joined before they are encoded. */
const RUN_CHARS = 4096

/** One batch's NDJSON lines. */
export class LineBuffer {
  private buffer: Buffer | undefined
  private at = 0
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

  /** Encodes the lines joined so far. */
  private encode(): void {
    const run = this.run
    this.run = ""
    let buffer = this.buffer ?? (this.buffer = Buffer.allocUnsafeSlow(capacity))
    // a UTF-16 unit takes at most 3 bytes of UTF-8
    if (buffer.length - this.at < run.length * 3) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, this.at + run.length * 3))
      buffer.copy(bigger, 0, 0, this.at)
      this.buffer = buffer = bigger
    }
    this.at += buffer.write(run, this.at)
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
