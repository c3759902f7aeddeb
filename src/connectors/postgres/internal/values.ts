/**
 * PostgreSQL text output → the JavaScript values of the connectors' contract (see
 * docs/connectors/postgres.md, "Types"). Sessions that read set fixed output settings
 * ({@link OUTPUT_SETTINGS}), so the server's text output of every type is canonical and these
 * decoders are exact:
 *
 * | type (after domains) | value |
 * |---|---|
 * | `bool` | boolean |
 * | `int2`, `int4`, `oid` | number |
 * | `int8` | bigint (or its digits, `bigint: string`) |
 * | `float4`, `float8` | number (NaN, ±Infinity, -0 kept) |
 * | `bytea` | Uint8Array |
 * | arrays | arrays (nested per dimension) of the element's value, NULL elements `null`; an array with non-default lower bounds stays its text |
 * | everything else (`numeric`, date/time types, `json`/`jsonb`, `uuid`, enums, ranges, ...) | the server's text |
 *
 * Why text and not the binary protocol: the text output is what `COPY ... TO STDOUT` writes and
 * a sink's `COPY ... FROM STDIN` reads, so the same bytes can be handed on unparsed, and a value
 * JavaScript cannot hold exactly (a numeric, a timestamp with microseconds or at infinity, a json
 * document with its whitespace) stays the server's own text.
 */

/**
 * The output settings that make every type's text output canonical, as one simple-query string
 * run on a reading session right after it connects (also on a replication connection: `pgoutput`
 * formats values with the walsender's settings). Set with `SET`, not as startup options, so a
 * connection string's own `options` cannot silently replace them.
 */
export const OUTPUT_SETTINGS_SQL =
  "SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_encoding = 'UTF8'"

/** OIDs of the built-in types that do not decode to their text. */
export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701
} as const

/** How a type's text output is read (domains already resolved to their base type). */
export type TypeShape =
  | { readonly _tag: "Scalar"; readonly oid: number; readonly name: string }
  | { readonly _tag: "Array"; readonly element: TypeShape; readonly delimiter: string; readonly name: string }

/** A decoder of one field's text (already unescaped from COPY text). Throws {@link ValueError}. */
export type Decoder = (text: string) => unknown

/** A text output that does not read as its type (only when a session's output settings were not applied). */
export class ValueError extends Error {
  readonly text: string
  readonly type: string
  constructor(text: string, type: string) {
    super(`cannot read ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + "..." : text)} as ${type}`)
    this.text = text
    this.type = type
  }
}

const INTEGER = /^-?\d+$/
const FLOAT = /^(-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|NaN|-?Infinity)$/

const text: Decoder = (s) => s

const bool = (s: string): boolean => {
  if (s === "t") return true
  if (s === "f") return false
  throw new ValueError(s, "boolean")
}

const int = (s: string): number => {
  if (!INTEGER.test(s)) throw new ValueError(s, "integer")
  return Number(s)
}

const int8 = (s: string): bigint => {
  if (!INTEGER.test(s)) throw new ValueError(s, "bigint")
  return BigInt(s)
}

const int8Text = (s: string): string => {
  if (!INTEGER.test(s)) throw new ValueError(s, "bigint")
  return s
}

const float = (s: string): number => {
  if (!FLOAT.test(s)) throw new ValueError(s, "float")
  return Number(s)
}

const HEX = /^\\x([0-9a-fA-F]{2})*$/

const bytea = (s: string): Uint8Array => {
  if (!HEX.test(s)) throw new ValueError(s.length > 20 ? s.slice(0, 20) : s, "bytea (hex)")
  const b = Buffer.from(s.slice(2), "hex")
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

const scalarDecoder = (oid: number, bigint: "bigint" | "string"): Decoder => {
  switch (oid) {
    case OID.bool:
      return bool
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return int
    case OID.int8:
      return bigint === "bigint" ? int8 : int8Text
    case OID.float4:
    case OID.float8:
      return float
    case OID.bytea:
      return bytea
    default:
      return text
  }
}

/** The decoder of a type's text output. */
export const decoderOf = (shape: TypeShape, bigint: "bigint" | "string"): Decoder => {
  if (shape._tag === "Scalar") return scalarDecoder(shape.oid, bigint)
  const element = decoderOf(shape.element, bigint)
  const delimiter = shape.delimiter.charCodeAt(0)
  const name = shape.name
  return (s) => parseArray(s, delimiter, element, name)
}

/** True when the decoder returns the text itself (no work, and an encoded batch's field is the value). */
export const isText = (decoder: Decoder): boolean => decoder === text

const OPEN = 123 // {
const CLOSE = 125 // }
const QUOTE = 34
const BACKSLASH = 92

/**
 * Reads `array_out` text: `{1,2,NULL}`, `{{1,2},{3,4}}`, quoted elements with backslash escapes.
 * An array with non-default lower bounds (`[0:1]={1,2}`) cannot be a JavaScript array without
 * losing its bounds: it stays its text.
 */
export const parseArray = (s: string, delimiter: number, element: Decoder, type: string): unknown => {
  if (s.charCodeAt(0) !== OPEN) {
    if (s.charCodeAt(0) === 91 /* [ */) return s
    throw new ValueError(s, type)
  }
  let i = 0
  const n = s.length
  const parse = (): Array<unknown> => {
    // at '{'
    i++
    const out: Array<unknown> = []
    if (s.charCodeAt(i) === CLOSE) {
      i++
      return out
    }
    for (;;) {
      const c = s.charCodeAt(i)
      if (c === OPEN) {
        out.push(parse())
      } else if (c === QUOTE) {
        i++
        let value = ""
        let from = i
        for (;;) {
          if (i >= n) throw new ValueError(s, type)
          const d = s.charCodeAt(i)
          if (d === QUOTE) break
          if (d === BACKSLASH) {
            value += s.slice(from, i)
            i++
            from = i
          }
          i++
        }
        value += s.slice(from, i)
        i++
        out.push(element(value))
      } else {
        const from = i
        while (i < n) {
          const d = s.charCodeAt(i)
          if (d === delimiter || d === CLOSE) break
          i++
        }
        const raw = s.slice(from, i)
        out.push(raw === "NULL" ? null : element(raw))
      }
      if (i >= n) throw new ValueError(s, type)
      const d = s.charCodeAt(i)
      i++
      if (d === CLOSE) return out
      if (d !== delimiter) throw new ValueError(s, type)
    }
  }
  const value = parse()
  if (i !== n) throw new ValueError(s, type)
  return value
}
