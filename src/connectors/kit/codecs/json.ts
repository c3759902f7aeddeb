/**
 * The `json` codec (one JSON value per message) and the `ndjson` codec (one JSON value per line).
 *
 * Writing: values `JSON.stringify` would refuse or change are written exactly (a `bigint` with
 * all its digits, `-0`, `NaN`/`±Infinity` as strings, bytes as `"\\x..."`; see
 * `internal/jsonText.ts`); a record with a cycle is an {@link EncodeError}. Reading: an integer
 * beyond ±(2^53 − 1) is an error unless `big_integers` says `bigint` or `string`, a number beyond
 * a double is an error, a value nested deeper than `max_depth` (default 1000) is an error
 * (`internal/json.ts`): nothing is changed silently.
 *
 * @since 0.4.0
 */
import { type BigIntegers, JsonRefusal, MAX_DEPTH, parseJson } from "../../../internal/json.ts"
import { toJsonText } from "../../../internal/jsonText.ts"
import { recordJson } from "../internal/recordJson.ts"
import { type Codec, DecodeError, decodeError, EncodeError, type Origin, type Payload, reasonOf, singleOf, toText } from "./Codec.ts"

/**
 * How JSON is read: `max_depth` and `big_integers` (as the `ndjson` source's config spells them).
 *
 * @category models
 * @since 0.4.0
 */
export interface JsonCodecOptions {
  readonly max_depth?: number
  readonly big_integers?: BigIntegers
}

/**
 * The JSON text of one value, written exactly; throws on a cycle (for code that formats one
 * value among others, such as a dead-letter envelope; codecs return an {@link EncodeError}).
 *
 * @category formatting
 * @since 0.4.0
 */
export const jsonText: (value: unknown) => string = toJsonText

/**
 * Records `[start, end)` as NDJSON lines (each ending with `\n`), or the {@link EncodeError} of
 * the first record JSON cannot represent.
 *
 * @category formatting
 * @since 0.4.0
 */
export const formatLines = (records: ReadonlyArray<unknown>, start: number, end: number, codec = "ndjson"): string | EncodeError => {
  let out = ""
  let i = start
  try {
    for (; i < end; i++) out += recordJson(records[i]) + "\n"
    return out
  } catch (e) {
    return new EncodeError({ codec, detail: reasonOf(e), index: i, record: records[i] })
  }
}

const encodeOne = (codec: string) => (record: unknown): string | EncodeError => {
  try {
    return toJsonText(record)
  } catch (e) {
    return new EncodeError({ codec, detail: reasonOf(e), index: 0, record })
  }
}

const parserOf = (name: string, options: JsonCodecOptions | undefined) => {
  const parse = { maxDepth: options?.max_depth ?? MAX_DEPTH, bigIntegers: options?.big_integers ?? "error" }
  return (text: string, payload: Payload, origin: Origin | undefined, line?: number) => {
    const value = parseJson(text, parse)
    if (!(value instanceof JsonRefusal)) return value
    const reason = value.reason
    const location = line === undefined
      ? origin?.location
      : { ...origin?.location, line: (origin?.location?.line ?? 1) + line - 1, ...(reason instanceof SyntaxError ? {} : { column: reason.column }) }
    return decodeError(name, reason instanceof SyntaxError ? reason.message : reason.detail, payload, origin, {
      ...(location !== undefined ? { location } : {}),
      field: reason instanceof SyntaxError ? undefined : reason.field
    })
  }
}

const notText = (name: string, payload: Payload, origin: Origin | undefined) =>
  decodeError(name, "the payload is not valid UTF-8", payload, origin)

/**
 * The `json` codec: one JSON value per message (`encodeBatch` writes a JSON array).
 *
 * @category constructors
 * @since 0.4.0
 */
export const json = (options?: JsonCodecOptions): Codec<unknown> => {
  const parse = parserOf("json", options)
  const encode = encodeOne("json")
  const decode = (payload: Payload, origin?: Origin) => {
    const text = toText(payload)
    return text === undefined ? notText("json", payload, origin) : parse(text, payload, origin)
  }
  return {
    name: "json",
    contentType: "application/json",
    encode,
    encodeBatch: (records, start, end) => {
      const lines = formatLines(records, start, end, "json")
      if (typeof lines !== "string") return lines
      return "[" + lines.slice(0, -1).replaceAll("\n", ",") + "]"
    },
    decode,
    decodeAll: (payload, origin) => {
      const value = decode(payload, origin)
      return value instanceof DecodeError ? value : [value]
    }
  }
}

/**
 * The `ndjson` codec: one JSON value per line. `decode` reads a payload of one line (a trailing
 * line break allowed); `decodeAll` every line of a payload (empty lines skipped; a line that
 * does not decode is an error naming its line).
 *
 * @category constructors
 * @since 0.4.0
 */
export const ndjson = (options?: JsonCodecOptions): Codec<unknown> => {
  const parse = parserOf("ndjson", options)
  const decodeAll = (payload: Payload, origin?: Origin) => {
    const text = toText(payload)
    if (text === undefined) return notText("ndjson", payload, origin)
    const out: Array<unknown> = []
    let line = 0
    let from = 0
    while (from < text.length) {
      line++
      let to = text.indexOf("\n", from)
      if (to < 0) to = text.length
      const body = text.slice(from, to > from && text.charCodeAt(to - 1) === 13 ? to - 1 : to)
      from = to + 1
      if (body.trim().length === 0) continue
      const value = parse(body, payload, origin, line)
      if (value instanceof DecodeError) return value
      out.push(value)
    }
    return out
  }
  return {
    name: "ndjson",
    contentType: "application/x-ndjson",
    encode: (record) => {
      const text = encodeOne("ndjson")(record)
      return typeof text === "string" ? text + "\n" : text
    },
    encodeBatch: (records, start, end) => formatLines(records, start, end),
    decode: singleOf("ndjson", "line", decodeAll),
    decodeAll
  }
}
