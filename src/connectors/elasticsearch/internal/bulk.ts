/**
 * The pure part of the `elasticsearch` sink: records become bulk items (an action line and, but
 * for `delete`, a source line, serialized once), items are cut into requests bounded by count
 * and bytes, and each item's result in a bulk response is classified: written, retryable (429,
 * 5xx, `es_rejected_execution_exception`), or rejected for good (a mapping error, a 400, a
 * `create` of an existing id).
 *
 * The retry loop and the order of items with the same `_id` are `internal/itemWrites.ts`'s.
 */
import { Buffer } from "node:buffer"
import { type Item, type Outcome, WRITTEN } from "../../kit/internal/itemWrites.ts"
import { toJsonText } from "../../../internal/jsonText.ts"
import type { BulkOp } from "../ElasticsearchConfig.ts"

/** One record as a bulk item (its key: the document id, `id_field`, when there is one). */
export interface BulkItem extends Item {
  /** The action line and the source line (none for `delete`), newline-free JSON. */
  readonly lines: ReadonlyArray<string>
  /** Bytes of the lines in the request body, newlines included. */
  readonly bytes: number
}

/** A record that cannot become a bulk item (no usable id, not JSON). */
export interface BadRecord {
  readonly index: number
  readonly reason: string
}

/** What the items are built from. */
export interface BulkOptions {
  readonly index: string
  readonly op: BulkOp
  readonly idField: string | undefined
  readonly routing: string | undefined
}

const field = (record: unknown, name: string): unknown =>
  record !== null && typeof record === "object" && Object.hasOwn(record, name)
    ? (record as { readonly [k: string]: unknown })[name]
    : undefined

/** A field's value as an id or routing value: a non-empty string or a finite number, else a reason. */
const idText = (value: unknown, name: string): string | { readonly reason: string } => {
  if (typeof value === "string" && value.length > 0 && value.length <= 512) return value
  if (typeof value === "number" && Number.isFinite(value)) return String(value)
  if (typeof value === "bigint") return value.toString()
  if (value === undefined || value === null) return { reason: `field '${name}' is missing (null)` }
  if (typeof value === "string") {
    return { reason: value.length === 0 ? `field '${name}' is empty` : `field '${name}' is longer than 512 bytes` }
  }
  return { reason: `field '${name}' is a ${Array.isArray(value) ? "list" : typeof value}, not a string or a number` }
}

/** Builds the bulk item of one record, or says why it cannot be sent. */
export const toItem = (record: unknown, index: number, options: BulkOptions): BulkItem | BadRecord => {
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    return { index, reason: `the record is ${record === null ? "null" : Array.isArray(record) ? "a list" : `a ${typeof record}`}, not an object` }
  }
  let id: string | undefined
  if (options.idField !== undefined) {
    const text = idText(field(record, options.idField), options.idField)
    if (typeof text !== "string") return { index, reason: text.reason }
    id = text
  }
  const meta: { _index: string; _id?: string; routing?: string } = { _index: options.index }
  if (id !== undefined) meta._id = id
  if (options.routing !== undefined) {
    const text = idText(field(record, options.routing), options.routing)
    if (typeof text !== "string") return { index, reason: text.reason }
    meta.routing = text
  }
  const action = JSON.stringify({ [options.op]: meta })
  let source: string
  try {
    source = options.op === "update" ? `{"doc":${toJsonText(record)},"doc_as_upsert":true}` : toJsonText(record)
  } catch (e) {
    return { index, reason: `cannot write the record as JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
  const lines = options.op === "delete" ? [action] : [action, source]
  let bytes = 0
  for (const line of lines) bytes += Buffer.byteLength(line, "utf8") + 1
  return { index, key: id, lines, bytes }
}

/** Whether `toItem` gave an item. */
export const isItem = (u: BulkItem | BadRecord): u is BulkItem => "lines" in u

/**
 * Cuts items into requests of at most `maxCount` items and `maxBytes` body bytes (an item larger
 * than `maxBytes` alone goes in a request of its own: the server decides).
 */
export const requests = (items: ReadonlyArray<BulkItem>, maxCount: number, maxBytes: number): Array<Array<BulkItem>> => {
  const out: Array<Array<BulkItem>> = []
  let current: Array<BulkItem> = []
  let bytes = 0
  for (const item of items) {
    if (current.length > 0 && (current.length >= maxCount || bytes + item.bytes > maxBytes)) {
      out.push(current)
      current = []
      bytes = 0
    }
    current.push(item)
    bytes += item.bytes
  }
  if (current.length > 0) out.push(current)
  return out
}

/** The request body of some items (NDJSON, ending with a newline). */
export const body = (items: ReadonlyArray<BulkItem>): Array<string> => {
  const lines: Array<string> = []
  for (const item of items) for (const line of item.lines) lines.push(line)
  return lines
}

/** Error types that say the node was too busy, whatever the status. */
const RETRYABLE_TYPES = new Set(["es_rejected_execution_exception", "circuit_breaking_exception", "unavailable_shards_exception"])

/** One item of a bulk response: `{ <op>: { status, error? } }`. */
export const classifyItem = (op: BulkOp, item: unknown): Outcome => {
  const result = field(item, op) ?? (item !== null && typeof item === "object" ? Object.values(item)[0] : undefined)
  const status = field(result, "status")
  const error = field(result, "error")
  const code = typeof status === "number" ? status : 0
  if (error === undefined && code >= 200 && code < 300) return WRITTEN
  // deleting what is not there leaves the index as asked (a replay deletes again)
  if (op === "delete" && code === 404 && error === undefined) return WRITTEN
  const type = typeof field(error, "type") === "string" ? String(field(error, "type")) : "unknown"
  const reasonText = field(error, "reason")
  const cause = field(error, "caused_by")
  const causeText = typeof field(cause, "reason") === "string" ? `: ${String(field(cause, "reason"))}` : ""
  const reason = `${type}${typeof reasonText === "string" ? `: ${reasonText}` : ""}${causeText}`
  if (code === 429 || code >= 500 || code === 0 || RETRYABLE_TYPES.has(type)) return { _tag: "Retry", reason: `${code} ${reason}` }
  return { _tag: "Rejected", status: code, reason }
}

/**
 * The outcomes of a request's items from the bulk response's `items`; a response with fewer
 * items than were sent leaves the missing ones to be retried.
 */
export const outcomes = (op: BulkOp, sent: number, items: ReadonlyArray<unknown> | undefined): Array<Outcome> => {
  const out: Array<Outcome> = []
  for (let i = 0; i < sent; i++) {
    out.push(
      items !== undefined && i < items.length
        ? classifyItem(op, items[i])
        : { _tag: "Retry", reason: "the bulk response did not report this item" }
    )
  }
  return out
}
