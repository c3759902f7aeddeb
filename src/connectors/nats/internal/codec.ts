/**
 * Payloads <-> records for the two codecs of the `nats` connectors (kept apart from the transport
 * so the kit's codecs can replace it): `json` and `string`.
 */
import { RecordError } from "../../../Errors.ts"
import { toJsonText } from "../../../internal/jsonText.ts"

/** A record read by the source. */
export type NatsRecord = { readonly [field: string]: unknown }

const decoder = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

/** Decodes a payload; one that is not UTF-8 or (codec json) not JSON is a record error naming the message. */
export const decodePayload = (
  codec: "json" | "string",
  data: Uint8Array,
  subject: string,
  where: string
): NatsRecord | RecordError => {
  let text: string
  try {
    text = decoder.decode(data)
  } catch {
    return new RecordError({ detail: `${where}: the payload is not UTF-8 text` })
  }
  if (codec === "string") return { subject, data: text }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return new RecordError({ detail: `${where}: the payload is not JSON (${e instanceof Error ? e.message : String(e)}): ${text.slice(0, 80)}` })
  }
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as NatsRecord) : { data: value }
}

/** The payload text of a record. */
export const encodeText = (codec: "json" | "string", record: unknown): string => {
  if (codec === "string") {
    const data = record !== null && typeof record === "object" ? (record as { readonly data?: unknown }).data : undefined
    if (typeof data === "string") return data
    if (typeof record === "string") return record
  }
  return toJsonText(record)
}

/** The payload bytes of a text. */
export const bytes = (text: string): Uint8Array => encoder.encode(text)
