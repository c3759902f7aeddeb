/**
 * Payloads <-> records of the `nats` connectors, through the kit's codecs (`json`, `string`):
 * what is left here is the record shape — a JSON object is the record, any other JSON value is
 * `{ data: value }`; a `string` payload is `{ subject, data }`.
 */
import type { RecordError } from "../../../Errors.ts"
import * as Codecs from "../../kit/codecs/index.ts"

/** A record read by the source. */
export type NatsRecord = { readonly [field: string]: unknown }

/** A decoder of payloads for `codec`. */
export const decoder = (codec: "json" | "string") => {
  const c = Codecs.byName(codec)
  /** Decodes a payload; one that does not decode is a record error naming the message (`id`). */
  return (data: Uint8Array, subject: string, id: string): NatsRecord | RecordError => {
    const value = c.decode(data, { id })
    if (Codecs.isDecodeError(value)) return value.toRecordError()
    if (codec === "string") return { subject, data: value }
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as NatsRecord) : { data: value }
  }
}

/** The payload text of a record: `codec: string` writes a string `data` (or a string record) as it is, anything else as JSON. */
export const encodeText = (codec: "json" | "string", record: unknown): string => {
  if (codec === "string") {
    const data = record !== null && typeof record === "object" ? (record as { readonly data?: unknown }).data : undefined
    if (typeof data === "string") return data
    if (typeof record === "string") return record
  }
  return Codecs.jsonText(record)
}

/** The payload bytes of a text. */
export const bytes = (text: string): Uint8Array => Codecs.toBytes(text)
