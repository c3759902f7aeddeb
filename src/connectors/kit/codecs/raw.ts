/**
 * The raw codecs: `bytes` (the payload as it is, a `Uint8Array`) and `string` (the payload as
 * UTF-8 text; bytes that are not UTF-8 are a {@link DecodeError}, never replaced).
 *
 * @since 0.4.0
 */
import { Buffer } from "node:buffer"
import { type Codec, decodeError, EncodeError, type Payload, toText } from "./Codec.ts"

const describe = (u: unknown): string => (u === null ? "null" : Array.isArray(u) ? "an array" : typeof u === "object" ? "an object" : `a ${typeof u}`)

/**
 * The `bytes` codec: a record is a `Uint8Array` (or a string, written as UTF-8); a payload is
 * read as its bytes. `encodeBatch` concatenates the records.
 *
 * @category constructors
 * @since 0.4.0
 */
export const bytes = (): Codec<unknown> => {
  const encode = (record: unknown, index = 0): Uint8Array | EncodeError =>
    record instanceof Uint8Array
      ? record
      : typeof record === "string"
      ? Buffer.from(record, "utf8")
      : new EncodeError({ codec: "bytes", detail: `expected bytes (a Uint8Array) or a string, got ${describe(record)}`, index, record })
  return {
    name: "bytes",
    contentType: "application/octet-stream",
    encode: (record) => encode(record),
    encodeBatch: (records, start, end) => {
      const parts: Array<Uint8Array> = []
      for (let i = start; i < end; i++) {
        const one = encode(records[i], i)
        if (one instanceof EncodeError) return one
        parts.push(one)
      }
      return Buffer.concat(parts)
    },
    decode: (payload: Payload) => (typeof payload === "string" ? Buffer.from(payload, "utf8") : payload),
    decodeAll: (payload: Payload) => [typeof payload === "string" ? Buffer.from(payload, "utf8") : payload]
  }
}

/**
 * The `string` codec: a record is a string; a payload is read as UTF-8 text. `encodeBatch`
 * concatenates the records.
 *
 * @category constructors
 * @since 0.4.0
 */
export const string = (): Codec<unknown> => {
  const encode = (record: unknown, index = 0): string | EncodeError =>
    typeof record === "string"
      ? record
      : new EncodeError({ codec: "string", detail: `expected a string, got ${describe(record)}`, index, record })
  const decode = (payload: Payload, origin?: { readonly id?: string }) => {
    const text = toText(payload)
    return text === undefined ? decodeError("string", "the payload is not valid UTF-8", payload, origin) : text
  }
  return {
    name: "string",
    contentType: "text/plain; charset=utf-8",
    encode: (record) => encode(record),
    encodeBatch: (records, start, end) => {
      let out = ""
      for (let i = start; i < end; i++) {
        const one = encode(records[i], i)
        if (typeof one !== "string") return one
        out += one
      }
      return out
    },
    decode,
    decodeAll: (payload, origin) => {
      const one = decode(payload, origin)
      return typeof one === "string" ? [one] : one
    }
  }
}
