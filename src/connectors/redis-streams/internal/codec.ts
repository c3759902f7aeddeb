/**
 * Stream entries <-> records, for the two codecs of the `redis-streams` connectors: `fields` (a
 * flat map of fields) and `json` (one field holding the record as JSON, through the kit's JSON
 * codec).
 */
import { RecordError } from "../../../Errors.ts"
import * as Codecs from "../../kit/codecs/index.ts"
import type { Entry } from "./client.ts"

/** A record read by the source: the entry's fields, or the JSON value of its field. */
export type StreamRecord = { readonly [field: string]: unknown }

const json = Codecs.json()

/** How entries decode. */
export interface DecodeOptions {
  readonly codec: "fields" | "json"
  readonly field: string
  readonly idField: string | undefined
  readonly stream: string
}

/** Decodes one entry; a `json` entry whose field is missing or is not JSON is a record error naming the entry id. */
export const decodeEntry = (entry: Entry, fields: ReadonlyArray<string>, options: DecodeOptions): StreamRecord | RecordError => {
  if (options.codec === "fields") {
    const record: { [field: string]: unknown } = {}
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1]
    if (options.idField !== undefined) record[options.idField] = entry.id
    return record
  }
  let raw: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === options.field) {
      raw = fields[i + 1]
      break
    }
  }
  const where = `entry ${entry.id} of stream '${options.stream}'`
  if (raw === undefined) return new RecordError({ detail: `${where} has no field '${options.field}' (codec: json)`, field: options.field })
  const value = json.decode(raw, { id: `${entry.id} of stream '${options.stream}'` })
  if (Codecs.isDecodeError(value)) return new RecordError({ ...value.toRecordError().fields(), field: options.field })
  const record: { [field: string]: unknown } = value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as { [field: string]: unknown })
    : { [options.field]: value }
  if (options.idField !== undefined) record[options.idField] = entry.id
  return record
}

const valueText = (v: unknown): string => (typeof v === "string" ? v : Codecs.jsonText(v) ?? "null")

/**
 * The `XADD` field arguments of a record, or why it cannot be encoded (a value that has no JSON
 * text, e.g. a cycle: the error's message).
 */
export const encodeRecord = (record: unknown, codec: "fields" | "json", field: string, into: Array<string>): string | undefined => {
  try {
    if (codec === "json" || record === null || typeof record !== "object" || Array.isArray(record)) {
      into.push(field, valueText(record))
      return undefined
    }
    let any = false
    for (const key in record) {
      const v = (record as { readonly [k: string]: unknown })[key]
      if (v === undefined) continue
      into.push(key, valueText(v))
      any = true
    }
    // an entry needs at least one field
    if (!any) into.push(field, "{}")
    return undefined
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}
