/**
 * Decoding a file's bytes as UTF-8 text in chunks, strictly or leniently.
 *
 * Node's `StringDecoder` (and `Buffer#toString`) replace every invalid byte sequence with U+FFFD
 * without a word: a Latin-1 file read as UTF-8 loses its accented letters and the run succeeds.
 * The strict decoder refuses instead: it hands on the text before the first invalid byte (or NUL
 * byte: a UTF-16 or binary file read as text) and records that byte's offset, so the reader can
 * name the record, line and field where the file stops being text.
 *
 * The lenient one (`invalid_utf8: replace`) must keep byte offsets exact: a reader counts the
 * bytes of the text it consumed to know the file offset of the next record (its checkpoint
 * position), and `StringDecoder`'s U+FFFD counts 3 bytes where it replaced 1 or 2 — a restore then
 * seeks to the wrong byte. So each byte that is not UTF-8 is decoded as the lone surrogate
 * U+DC80 + (byte − 0x80) (Python's "surrogateescape"), which valid text never holds alone;
 * {@link utf8Length} counts such a character as the 1 byte it stands for, and {@link replaceEscapes}
 * turns it into U+FFFD in the values a reader hands on.
 *
 * Cost: `isUtf8` (simdutf) and `indexOf(0)` per chunk, measured at about 1 % of decoding the
 * chunk; only a chunk that fails pays for finding the byte.
 */
import { Buffer, isUtf8 } from "node:buffer"

/**
 * What a source does with bytes that are not UTF-8 text: `error` (the default) fails with a record
 * error naming the place; `replace` reads each invalid sequence as U+FFFD.
 *
 * @category models
 * @since 0.1.0
 */
export type InvalidUtf8 = "error" | "replace"

/** A streaming decoder (the part of `StringDecoder` the readers use). */
export interface ChunkDecoder {
  /** The text of `bytes` (a character split at the end is kept for the next call). */
  readonly write: (bytes: Uint8Array) => string
  /** The text of what is kept at the end of the input. */
  readonly end: () => string
  /**
   * Offset, counted from the first byte written, of the first byte that is not text; -1 while
   * there is none. Once set, `write` and `end` return no more text.
   */
  readonly invalidAt: () => number
  /** What the first invalid byte is (see {@link describeInvalid}), once `invalidAt` is set. */
  readonly invalidDetail: () => string
  /** Whether some text returned holds escaped bytes (lenient decoding only; see the module comment). */
  readonly escaped: () => boolean
  /**
   * Whether the text `write` returned last is ASCII (`false` when not known): told for free by
   * the decoder (a UTF-8 text is ASCII exactly when it has as many characters as bytes), so a
   * reader needs no scan of the text to know it.
   */
  readonly ascii: () => boolean
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The length of the UTF-8 sequence a lead byte starts (0: not a lead byte). */
const sequenceLength = (b: number): number => (b < 0x80 ? 1 : b < 0xc2 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf5 ? 4 : 0)

/** Index after the last complete character of `bytes` (a sequence cut at the end is left out). */
const completeEnd = (bytes: Uint8Array): number => {
  const n = bytes.length
  for (let k = n - 1; k >= 0 && k >= n - 4; k--) {
    const b = bytes[k]
    if ((b & 0xc0) !== 0x80) {
      const len = sequenceLength(b)
      return len > 0 && k + len > n ? k : n
    }
  }
  return n
}

/**
 * Index of the first byte of `bytes[from, ...)` that is not part of a well-formed UTF-8 character
 * (or is a NUL byte, unless `nul`); `bytes.length` when there is none.
 *
 * @category decoding
 * @since 0.1.0
 */
export const firstInvalid = (bytes: Uint8Array, from = 0, nul = false): number => {
  const n = bytes.length
  let i = from
  while (i < n) {
    const b = bytes[i]
    if (b === 0 && !nul) return i
    if (b < 0x80) {
      i++
      continue
    }
    const len = sequenceLength(b)
    if (len === 0 || i + len > n) return i
    const b1 = bytes[i + 1]
    // the second byte's range excludes overlong forms, surrogates and code points past U+10FFFF
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf
    if (b1 < lo || b1 > hi) return i
    for (let k = 2; k < len; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i
    i += len
  }
  return n
}

/**
 * Whether `bytes` are all UTF-8 text without a NUL byte (what the strict decoder accepts).
 *
 * @category decoding
 * @since 0.1.0
 */
export const isText = (bytes: Uint8Array): boolean => isUtf8(bytes) && bytes.indexOf(0) === -1

class StrictDecoder implements ChunkDecoder {
  private carry: Buffer | undefined
  private decoded = 0
  private invalid = -1
  private detail = ""
  private lastAscii = false

  readonly write = (bytes: Uint8Array): string => {
    this.lastAscii = false
    if (this.invalid >= 0) return ""
    const data = this.carry === undefined ? asBuffer(bytes) : Buffer.concat([this.carry, bytes])
    const cut = completeEnd(data)
    this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : undefined
    return this.take(data.subarray(0, cut))
  }

  readonly end = (): string => {
    this.lastAscii = false
    if (this.invalid >= 0 || this.carry === undefined) return ""
    // a character cut short by the end of the input
    const rest = this.take(this.carry)
    this.carry = undefined
    return rest
  }

  readonly invalidAt = (): number => this.invalid

  readonly invalidDetail = (): string => this.detail

  readonly escaped = (): boolean => false

  readonly ascii = (): boolean => this.lastAscii

  private take(body: Buffer): string {
    if (isText(body)) {
      this.decoded += body.length
      const text = body.toString("utf8")
      // every byte over 0x7F belongs to a sequence of 2–4 bytes making 1 or 2 characters
      this.lastAscii = text.length === body.length
      return text
    }
    const bad = firstInvalid(body)
    this.invalid = this.decoded + bad
    this.detail = describeInvalid(body.subarray(bad))
    this.carry = undefined
    return body.toString("utf8", 0, bad)
  }
}

/** Decodes bytes that are not UTF-8 as escapes (see the module comment); NUL is text here. */
class EscapingDecoder implements ChunkDecoder {
  private carry: Buffer | undefined
  private any = false

  readonly write = (bytes: Uint8Array): string => {
    const data = this.carry === undefined ? asBuffer(bytes) : Buffer.concat([this.carry, bytes])
    const cut = completeEnd(data)
    this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : undefined
    return this.take(data.subarray(0, cut))
  }

  readonly end = (): string => {
    if (this.carry === undefined) return ""
    const rest = this.take(this.carry)
    this.carry = undefined
    return rest
  }

  readonly invalidAt = (): number => -1

  readonly invalidDetail = (): string => ""

  readonly escaped = (): boolean => this.any

  readonly ascii = (): boolean => false

  private take(body: Buffer): string {
    if (isUtf8(body)) return body.toString("utf8")
    this.any = true
    let out = ""
    let i = 0
    while (i < body.length) {
      const bad = firstInvalid(body, i, true)
      out += body.toString("utf8", i, bad)
      if (bad < body.length) out += String.fromCharCode(0xdc00 + body[bad])
      i = bad + 1
    }
    return out
  }
}

/**
 * A streaming decoder for `mode`: strict for `error`, escaping for `replace`.
 *
 * @category decoding
 * @since 0.1.0
 */
export const chunkDecoder = (mode: InvalidUtf8): ChunkDecoder => (mode === "error" ? new StrictDecoder() : new EscapingDecoder())

/** A byte that is not UTF-8, as the escaping decoder writes it: a low surrogate U+DC80–U+DCFF not after a high one. */
const ESCAPE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g

/**
 * The number of file bytes `text` was decoded from: its UTF-8 length, with each escaped byte
 * counted as one (`escaped`: the decoder has escaped bytes; otherwise the plain UTF-8 length).
 *
 * @category decoding
 * @since 0.1.0
 */
export const utf8Length = (text: string, escaped: boolean): number => {
  const bytes = Buffer.byteLength(text, "utf8")
  if (!escaped) return bytes
  // an escape is written as 3 bytes (EF BF BD) by byteLength, and stands for 1
  return bytes - 2 * (text.match(ESCAPE)?.length ?? 0)
}

/**
 * `text` with every escaped byte as U+FFFD, as a reader hands values on.
 *
 * @category decoding
 * @since 0.1.0
 */
export const replaceEscapes = (text: string): string => (text.length === 0 ? text : text.replace(ESCAPE, "\uFFFD"))

/**
 * Turns escaped bytes into U+FFFD in the first `n` fields (`invalid_utf8: replace`). Here, not in
 * the CSV reader's modules, because the CSV range threads load it too and must load no Effect.
 */
export const unescapeFields = (fields: Array<string>, n: number): void => {
  for (let i = 0; i < n; i++) fields[i] = replaceEscapes(fields[i])
}

/**
 * Describes the bytes at the start of `bytes` that are not text, for an error message:
 * `byte 0xE9` or `a NUL byte`, with a hint at the likely cause.
 *
 * @category decoding
 * @since 0.1.0
 */
export const describeInvalid = (bytes: Uint8Array): string => {
  const b = bytes[0]
  if (b === 0) return "a NUL byte (is the file UTF-16 or binary?)"
  const len = sequenceLength(b)
  if (len > 1 && firstInvalid(bytes.subarray(0, len)) === 0 && bytes.length < len && isContinuation(bytes)) {
    return "a UTF-8 character cut short by the end of the file"
  }
  return `byte 0x${b.toString(16).toUpperCase().padStart(2, "0")}, which is not UTF-8 (is the file Latin-1 or binary?)`
}

const isContinuation = (bytes: Uint8Array): boolean => {
  for (let k = 1; k < bytes.length; k++) if ((bytes[k] & 0xc0) !== 0x80) return false
  return true
}

/**
 * The message of a record that holds bytes that are not text: what the byte is, where it is in the
 * file and the two ways out.
 *
 * @category decoding
 * @since 0.1.0
 */
export const notTextMessage = (invalid: { readonly offset: number; readonly detail: string }): string =>
  `the file is not UTF-8 text here: ${invalid.detail}, at byte offset ${invalid.offset}; convert the file to UTF-8, or set invalid_utf8: replace to read such bytes as U+FFFD`
