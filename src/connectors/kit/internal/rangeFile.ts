/**
 * The file side of a range reader (a range thread of a parallel `csv` or `ndjson` source): the
 * open file, one read buffer, and the decoder of the text from the read position on. No Effect
 * here: the range threads load it.
 */
import { Buffer } from "node:buffer"
import { closeSync, openSync, readSync } from "node:fs"
import { type ChunkDecoder, chunkDecoder, type InvalidUtf8 } from "../../../internal/utf8.ts"
import { countByte, ioFailure } from "./rangeProtocol.ts"

const LF = 0x0a

/** An open file read chunk by chunk from a position, as text. Failures are thrown as `RangeReadError`s. */
export class RangeFile {
  readonly fd: number
  readonly buffer: Buffer
  private readonly invalidUtf8: InvalidUtf8
  /** The decoder of the text read since the last {@link RangeFile.restart}. */
  decoder: ChunkDecoder
  /** File offset of the first byte given to `decoder`. */
  private decoderStart = 0
  /** Next byte to read. */
  filePos = 0

  constructor(path: string, chunkSize: number, invalidUtf8: InvalidUtf8) {
    try {
      this.fd = openSync(path, "r")
    } catch (e) {
      throw ioFailure("open", e)
    }
    this.buffer = Buffer.allocUnsafe(chunkSize)
    this.invalidUtf8 = invalidUtf8
    this.decoder = chunkDecoder(invalidUtf8)
  }

  /** Reads from `offset` afresh (a new decoder). */
  restart(offset: number): void {
    this.decoder = chunkDecoder(this.invalidUtf8)
    this.decoderStart = offset
    this.filePos = offset
  }

  /**
   * The text of the next chunk, read up to `limit` (exclusive); `undefined` when the file ends
   * before it (it is shorter than when it was opened).
   */
  next(limit: number): string | undefined {
    let n: number
    try {
      n = readSync(this.fd, this.buffer, 0, Math.min(this.buffer.length, limit - this.filePos), this.filePos)
    } catch (e) {
      throw ioFailure("read", e)
    }
    if (n === 0) return undefined
    this.filePos += n
    return this.decoder.write(this.buffer.subarray(0, n))
  }

  /** Where the first byte that is not text is (file offset) and what it is; `undefined` while there is none. */
  invalid(): { readonly offset: number; readonly detail: string } | undefined {
    const at = this.decoder.invalidAt()
    return at < 0 ? undefined : { offset: this.decoderStart + at, detail: this.decoder.invalidDetail() }
  }

  /** Line feeds in the file's first `length` bytes. */
  lineFeeds(length: number): number {
    let lines = 0
    for (let at = 0; at < length;) {
      let n: number
      try {
        n = readSync(this.fd, this.buffer, 0, Math.min(this.buffer.length, length - at), at)
      } catch (e) {
        throw ioFailure("read", e)
      }
      if (n === 0) break
      lines += countByte(this.buffer.subarray(0, n), LF, 0)
      at += n
    }
    return lines
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.fd)
  }
}
