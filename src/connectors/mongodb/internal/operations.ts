/**
 * The pure part of the `mongodb` sink: a record becomes one operation of an unordered
 * `bulkWrite` (`insertOne`, `updateOne` with `$set` and `upsert`, `replaceOne` with `upsert`),
 * keyed by its `id_field` value; a bulk write's result or error becomes each operation's outcome
 * (written, transient: sent again, rejected: a duplicate key, a validation failure).
 */
import { type AnyBulkWriteOperation, BSON, type Document } from "mongodb"
import * as Classify from "../../kit/Classify.ts"
import { type Item, type Outcome, WRITTEN } from "../../kit/internal/itemWrites.ts"
import type { SinkConfig } from "../MongodbConfig.ts"
import { isTransientWriteError, reasonOf } from "../MongodbError.ts"

/** One record as a bulk operation; `key` (the id as Extended JSON) orders writes of one document. */
export interface Operation extends Item {
  readonly id: unknown
  readonly operation: AnyBulkWriteOperation
}

/** A record that cannot become an operation. */
export interface BadRecord {
  readonly index: number
  readonly reason: string
}

/** Whether `toOperation` gave an operation. */
export const isOperation = (u: Operation | BadRecord): u is Operation => "operation" in u

const without = (record: Document, key: string): Document => {
  if (!Object.hasOwn(record, key)) return record
  const { [key]: _, ...rest } = record
  return rest
}

/** The record with `_id` set to `id` (any BSON value: the driver's types say ObjectId only). */
const withId = (doc: Document, id: unknown): Document => {
  const out: Document = {}
  out._id = id
  return Object.assign(out, without(doc, "_id"))
}

/** An id as a key for ordering (Extended JSON, canonical: `1` and `1.0` or an ObjectId and its hex differ). */
export const idKey = (id: unknown): string => BSON.EJSON.stringify(id as Document, { relaxed: false })

/** Builds the operation of one record for the sink's config, or says why it cannot be written. */
export const toOperation = (record: unknown, index: number, config: SinkConfig): Operation | BadRecord => {
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    return { index, reason: `the record is ${record === null ? "null" : Array.isArray(record) ? "a list" : `a ${typeof record}`}, not an object` }
  }
  const doc = record as Document
  const mode = config.mode ?? "insert"
  if (config.id_field === undefined) {
    // insert without id_field: the record's own _id if it has one, else the driver makes one
    return { index, key: Object.hasOwn(doc, "_id") ? idKey(doc._id) : undefined, id: doc._id, operation: { insertOne: { document: { ...doc } } } }
  }
  const id: unknown = doc[config.id_field]
  if (id === undefined || id === null) return { index, reason: `field '${config.id_field}' is missing (null)` }
  if (Array.isArray(id)) return { index, reason: `field '${config.id_field}' is a list: it cannot identify a document` }
  const key = config.id_key === "field" ? config.id_field : "_id"
  const filter: Document = { [key]: id }
  const operation: AnyBulkWriteOperation = mode === "insert"
    ? { insertOne: { document: key === "_id" ? withId(doc, id) : { ...doc } } }
    : mode === "upsert"
    ? { updateOne: { filter, update: { $set: without(doc, "_id") }, upsert: true } }
    : { replaceOne: { filter, replacement: without(doc, "_id"), upsert: true } }
  return { index, key: idKey(id), id, operation }
}

/** A write error of a bulk write: `{ index, code, errmsg }`. */
interface WriteError {
  readonly index: number
  readonly code: number
  readonly errmsg: string
}

const { field } = Classify

/** The write errors of a `MongoBulkWriteError` (one or many), or `undefined` for another error. */
export const writeErrors = (error: unknown): ReadonlyArray<WriteError> | undefined => {
  if (field(error, "name") !== "MongoBulkWriteError") return undefined
  const raw = field(error, "writeErrors")
  const list: ReadonlyArray<unknown> = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  return list.map((e) => ({
    index: Number(field(e, "index")),
    code: Number(field(e, "code")),
    errmsg: String(field(e, "errmsg") ?? field(e, "message") ?? "write error")
  }))
}

/**
 * The outcomes of `count` operations sent in one `bulkWrite` that failed with `error`: each
 * write error's operation is transient or rejected, the others were written — unless the error
 * also says the write concern was not met (the writes may not last: all are sent again) or is
 * not a bulk write error at all (retryable: all sent again; otherwise the whole call fails).
 */
export const outcomesOfError = (count: number, error: unknown): ReadonlyArray<Outcome> | undefined => {
  const errors = writeErrors(error)
  if (errors === undefined) {
    const reason = reasonOf(error)
    return reason.isRetryable ? Array.from({ length: count }, (): Outcome => ({ _tag: "Retry", reason: reason.message })) : undefined
  }
  const concern = field(error, "err") ?? field(field(error, "result"), "writeConcernError")
  const out: Array<Outcome> = Array.from({ length: count }, (): Outcome =>
    concern !== undefined && concern !== null ? { _tag: "Retry", reason: "the write concern was not satisfied" } : WRITTEN
  )
  for (const e of errors) {
    if (e.index < 0 || e.index >= count) continue
    out[e.index] = isTransientWriteError(e.code)
      ? { _tag: "Retry", reason: `code ${e.code}: ${e.errmsg}` }
      : { _tag: "Rejected", status: `code ${e.code}`, reason: e.errmsg }
  }
  return out
}
