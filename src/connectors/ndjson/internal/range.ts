/**
 * One byte range of an NDJSON file: what instance `index` of `count > 1` reads (a cluster part).
 *
 * The file is cut into `count` nominal ranges of equal size, cut `b_i = ⌊size · i / count⌋`.
 * Range `i` holds the lines that *start* in `[b_i, b_{i+1})`: it starts at the first line start
 * at or after `b_i` (the byte after the first line feed at or after `b_i - 1`) and reads every
 * line starting before the next range's start. A JSON line holds no raw line feed (JSON escapes it
 * in strings), so every line feed ends a line: the ranges partition the file's lines, each read
 * once, whatever the cuts. The line number of a range's first line (for positions and errors) is
 * one more than the line feeds before it, counted in one pass over those bytes.
 */
import { Buffer } from "node:buffer"
import type { FileHandle } from "node:fs/promises"
import { open } from "node:fs/promises"

/** Where a range starts (byte offset and 1-based line of its first line) and where it ends (exclusive). */
export interface LineRange {
  readonly start: number
  readonly line: number
  readonly end: number
}

const LF = 0x0a
const CHUNK = 1024 * 1024

/** The nominal cut `b_i` of range `i` of `count` in a file of `size` bytes. */
export const nominalCut = (size: number, count: number, i: number): number =>
  i <= 0 ? 0 : i >= count ? size : Math.floor((size * i) / count)

/** The first line start at or after `cut`: the byte after the first line feed at or after `cut - 1` (the file's size when none). */
const lineStartFrom = async (file: FileHandle, size: number, cut: number, buffer: Buffer): Promise<number> => {
  if (cut <= 0) return 0
  for (let at = cut - 1; at < size;) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, size - at), at)
    if (bytesRead === 0) break
    const lf = buffer.subarray(0, bytesRead).indexOf(LF)
    if (lf >= 0) return at + lf + 1
    at += bytesRead
  }
  return size
}

/** Line feeds in the first `length` bytes of the file. */
const lineFeeds = async (file: FileHandle, length: number, buffer: Buffer): Promise<number> => {
  let n = 0
  for (let at = 0; at < length;) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - at), at)
    if (bytesRead === 0) break
    const bytes = buffer.subarray(0, bytesRead)
    for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) n++
    at += bytesRead
  }
  return n
}

/** Range `index` of `count` of the file at `path`, as it is now. */
export const lineRange = async (path: string, index: number, count: number): Promise<LineRange> => {
  const file = await open(path, "r")
  try {
    const size = (await file.stat()).size
    const buffer = Buffer.allocUnsafe(CHUNK)
    const start = await lineStartFrom(file, size, nominalCut(size, count, index), buffer)
    const end = index >= count - 1 ? Number.POSITIVE_INFINITY : await lineStartFrom(file, size, nominalCut(size, count, index + 1), buffer)
    const line = 1 + (await lineFeeds(file, start, buffer))
    return { start, line, end: Math.max(start, end) }
  } finally {
    await file.close()
  }
}
