/**
 * Message bodies as records and back, for the broker connectors (`codec: json | string | bytes`).
 * A body that does not decode is a `RecordError` naming the message (`where`), never a silent
 * skip. JSON is read with the project's exact reader (`internal/json.ts`): an integer beyond 2^53
 * or a number out of range is refused, not rounded.
 */
import { RecordError } from "../../../Errors.ts"
import { JsonRefusal, MAX_DEPTH, parseJson } from "../../../internal/json.ts"
import { toJsonText } from "../../../internal/jsonText.ts"

/** The codecs of message bodies. */
export type Codec = "json" | "string" | "bytes"

const decoder = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

const head = (body: Uint8Array): string => {
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 80)).toString("utf8")
  return JSON.stringify(body.byteLength > 80 ? `${text}…` : text)
}

/** The record of a message body, or a `RecordError` naming `where` (e.g. `message 12 (id m-4) of queue q`). */
export const decodeBody = (codec: Codec, body: Uint8Array, where: string): object | RecordError => {
  if (codec === "bytes") return { value: body }
  let text: string
  try {
    text = decoder.decode(body)
  } catch {
    return new RecordError({ detail: `${where}: the body is not UTF-8 text (${head(body)}); use codec: bytes to read it as bytes` })
  }
  if (codec === "string") return { value: text }
  const value = parseJson(text, { maxDepth: MAX_DEPTH, bigIntegers: "error" })
  if (value instanceof JsonRefusal) {
    const reason = value.reason instanceof SyntaxError ? `is not JSON (${value.reason.message})` : `is refused: ${value.reason.detail}`
    return new RecordError({ detail: `${where}: the body ${reason}: ${head(body)}`, ...(value.reason instanceof SyntaxError || value.reason.field === undefined ? {} : { field: value.reason.field }) })
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new RecordError({ detail: `${where}: expected a JSON object, got ${head(body)}; use codec: string to read any text` })
  }
  return value
}

/** The body of a record, or a `RecordError` (a `string`/`bytes` record without such a `value`). */
export const encodeBody = (codec: Codec, record: unknown): Uint8Array | RecordError => {
  if (codec === "json") return encoder.encode(toJsonText(record))
  const value = record !== null && typeof record === "object" ? (record as { readonly value?: unknown }).value : undefined
  if (codec === "string" && typeof value === "string") return encoder.encode(value)
  if (codec === "bytes" && value instanceof Uint8Array) return value
  return new RecordError({
    detail: `codec ${codec} publishes the record's 'value', which must be ${codec === "string" ? "a string" : "a Uint8Array"}`,
    field: "value",
    record
  })
}
