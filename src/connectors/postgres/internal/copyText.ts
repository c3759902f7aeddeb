/**
 * COPY text format for the `postgres` sink, encoded straight into one Buffer per slice of rows:
 * strings are escaped and UTF-8 encoded byte by byte, integers and short decimals are written
 * digit by digit, and no per-row or per-value string is built for those common values (other values go through
 * `encodeValue`, which returns their escaped text). A value that cannot go into its column throws
 * a `ValueError` naming the column (the sink isolates the row).
 */
import { type Encoding, encodeValue, numberText, type StageTag, ValueError } from "./copy.ts"

/** A growable byte buffer; `ensure(n)` makes room for `n` more bytes. */
class Out {
  buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 256))
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
}

const TAB = 9
const NL = 10
const CR = 13
const BACKSLASH = 92

/**
 * Writes `s` as UTF-8; with `escaped`, backslash, newline, carriage return and tab become `\\`,
 * `\n`, `\r`, `\t` (COPY text). Returns `false`, having written part of `s`, at a lone
 * surrogate (a string UTF-8 cannot hold: the caller fails the row rather than write U+FFFD).
 */
const writeString = (out: Out, s: string, escaped: boolean): boolean => {
  const n = s.length
  out.ensure(n * 3)
  const buf = out.buf
  let pos = out.pos
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) {
      if (escaped && (c === BACKSLASH || c === NL || c === CR || c === TAB)) {
        buf[pos++] = BACKSLASH
        buf[pos++] = c === BACKSLASH ? BACKSLASH : c === NL ? 110 : c === CR ? 114 : 116
      } else {
        buf[pos++] = c
      }
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6)
      buf[pos++] = 0x80 | (c & 0x3f)
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000
        buf[pos++] = 0xf0 | (cp >> 18)
        buf[pos++] = 0x80 | ((cp >> 12) & 0x3f)
        buf[pos++] = 0x80 | ((cp >> 6) & 0x3f)
        buf[pos++] = 0x80 | (cp & 0x3f)
        i++
      } else {
        out.pos = pos
        return false
      }
    } else {
      buf[pos++] = 0xe0 | (c >> 12)
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f)
      buf[pos++] = 0x80 | (c & 0x3f)
    }
  }
  out.pos = pos
  return true
}

/** Writes a safe integer in decimal. */
const writeInt = (out: Out, v: number): void => {
  out.ensure(17)
  const buf = out.buf
  let pos = out.pos
  let u = v
  if (u < 0) {
    buf[pos++] = 45
    u = -u
  }
  if (u < 10) {
    buf[pos++] = 48 + u
    out.pos = pos
    return
  }
  const digits = u < 100 ? 2 : u < 1000 ? 3 : u < 10000 ? 4 : u < 100000 ? 5 : u < 1000000 ? 6 : u < 10000000 ? 7 : u < 100000000
    ? 8
    : u < 1000000000 ? 9 : String(u).length
  let end = pos + digits
  out.pos = end
  if (u < 0x80000000) {
    while (u > 0) {
      const q = (u / 10) | 0
      buf[--end] = 48 + (u - q * 10)
      u = q
    }
    return
  }
  while (u > 0) {
    const q = Math.floor(u / 10)
    buf[--end] = 48 + (u - q * 10)
    u = q
  }
}

const POW10 = [1, 10, 100, 1000, 10000]

/**
 * Writes a number as `String(v)` would, without building the string for the common cases: safe
 * integers, and values of at most 4 decimals below 1e11 in magnitude. For those, the smallest `k`
 * with `round(v × 10^k) / 10^k === v` gives the decimal with the fewest digits that reads back as
 * `v` (division is correctly rounded, so `m / 10^k` is the double nearest the decimal `m·10^-k`;
 * with `|m| < 2^53` only one decimal of `k` places lies within `v`'s rounding interval), which is
 * exactly the digits `String(v)` prints in this range.
 */
const writeNumber = (out: Out, v: number): void => {
  if (v === 0 && 1 / v < 0) {
    writeString(out, "-0", false)
    return
  }
  if (Number.isSafeInteger(v)) {
    writeInt(out, v)
    return
  }
  if (v > -1e11 && v < 1e11) {
    for (let k = 1; k <= 4; k++) {
      const p = POW10[k]
      const m = Math.round(v * p)
      if (m / p !== v) continue
      let a = m
      if (a < 0) {
        out.ensure(1)
        out.buf[out.pos++] = 45
        a = -a
      }
      const whole = Math.floor(a / p)
      writeInt(out, whole)
      let frac = a - whole * p
      out.ensure(k + 1)
      const buf = out.buf
      buf[out.pos] = 46
      for (let i = k; i > 0; i--) {
        const q = Math.floor(frac / 10)
        buf[out.pos + i] = 48 + (frac - q * 10)
        frac = q
      }
      out.pos += k + 1
      return
    }
  }
  writeString(out, numberText(v), false)
}

/** Bytes per row of the last slice encoded, to size the next buffer. */
let bytesPerRow = 64

/**
 * COPY text of rows `[from, to)`, in one Buffer. `staged` appends the upsert staging columns
 * (`__df_op`, `__df_seq`), `tag` the exactly-once staging columns (`__df_epoch`, `__df_shape`).
 */
export const encodeTextRows = (
  rows: ReadonlyArray<{ readonly [k: string]: unknown }>,
  columns: ReadonlyArray<string>,
  encodings: ReadonlyArray<Encoding>,
  ops: ReadonlyArray<"u" | "d"> | undefined,
  staged: boolean,
  from: number,
  to: number,
  tag?: StageTag
): Buffer => {
  const out = new Out(Math.ceil((to - from) * bytesPerRow * 1.2) + 64)
  const n = columns.length
  const suffix = tag === undefined ? undefined : Buffer.from(`${n > 0 ? "\t" : ""}${tag.epoch}\t${tag.shape}\n`)
  const scalar: Array<boolean> = encodings.map((e) => e === "scalar" || e === "text")
  for (let r = from; r < to; r++) {
    const row = rows[r]
    for (let c = 0; c < n; c++) {
      if (c > 0) {
        out.ensure(1)
        out.buf[out.pos++] = TAB
      }
      const v = row[columns[c]]
      if (v === null || v === undefined) {
        out.ensure(2)
        out.buf[out.pos++] = BACKSLASH
        out.buf[out.pos++] = 78
        continue
      }
      if (typeof v === "string") {
        // verbatim in every kind of column: the server parses it with the column's type
        if (!writeString(out, v, true)) throw new ValueError(columns[c], "a string with a lone surrogate has no UTF-8 form")
        continue
      }
      if (scalar[c]) {
        if (typeof v === "number") {
          writeNumber(out, v)
          continue
        }
        if (typeof v === "boolean" && encodings[c] === "scalar") {
          // `t` / `f`; into a text-like column `true` / `false` (encodeValue), as PostgreSQL casts
          out.ensure(1)
          out.buf[out.pos++] = v ? 116 : 102
          continue
        }
      }
      // Already escaped text.
      writeString(out, encodeValue(v, encodings[c], columns[c]), false)
    }
    if (staged) {
      if (n > 0) {
        out.ensure(1)
        out.buf[out.pos++] = TAB
      }
      writeString(out, `${ops === undefined ? "u" : ops[r]}\t`, false)
      writeInt(out, r)
    }
    if (suffix !== undefined) {
      out.ensure(suffix.length)
      out.pos += suffix.copy(out.buf, out.pos)
    } else {
      out.ensure(1)
      out.buf[out.pos++] = NL
    }
  }
  if (to > from) bytesPerRow = Math.max(8, Math.ceil(out.pos / (to - from)))
  return out.buf.subarray(0, out.pos)
}
