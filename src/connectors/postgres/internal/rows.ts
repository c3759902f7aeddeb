/**
 * What the `postgres` sink writes, before any SQL: records turned into row images (change records
 * into images and `u` / `d` ops), batches of bytes passed through as they are, and the columns a
 * batch writes.
 */
import * as Batch from "../../../Batch.ts"
import type { Column } from "./catalog.ts"

/** A record as a row: a field per column. */
export type Row = { readonly [k: string]: unknown }

/** Rows of one batch ready to write: images and, for change records, `u` (upsert) / `d` (delete). */
export interface Prepared {
  readonly images: ReadonlyArray<Row>
  readonly ops: ReadonlyArray<"u" | "d"> | undefined
}

/**
 * A batch of bytes written as they are — CSV (`COPY ... (FORMAT csv)`) or PostgreSQL COPY text
 * (`COPY ... FROM STDIN`) — with its batch to decode when a row is rejected.
 */
export interface Passed {
  readonly encoded: Batch.CsvEncoded | Batch.PostgresCopyEncoded
  readonly batch: Batch.Batch<Row>
}

/** What the open transaction wrote, kept to write it again (replay, row isolation). */
export type Written = Prepared | Passed

/** True for bytes passed through. */
export const isPassed = (w: Written): w is Passed => "encoded" in w

/** Records of a written batch. */
export const sizeOf = (w: Written): number => (isPassed(w) ? Batch.size(w.batch) : w.images.length)

const CHANGE_OPS = new Set(["insert", "update", "delete", "read"])

const isChange = (r: Row): boolean => typeof r.op === "string" && CHANGE_OPS.has(r.op) && ("after" in r || "before" in r)

/** Turns change records into images and ops; other records pass through. */
export const prepare = (records: ReadonlyArray<Row>): Prepared => {
  if (records.length === 0 || !isChange(records[0])) return { images: records, ops: undefined }
  const images: Array<Row> = new Array(records.length)
  const ops: Array<"u" | "d"> = new Array(records.length)
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    const del = r.op === "delete"
    ops[i] = del ? "d" : "u"
    images[i] = ((del ? r.before : r.after) ?? {}) as Row
  }
  return { images, ops }
}

/** Rows `[from, to)` of a prepared batch. */
export const slicePrepared = (p: Prepared, from: number, to: number): Prepared => ({
  images: p.images.slice(from, to),
  ops: p.ops === undefined ? undefined : p.ops.slice(from, to)
})

/** The records of a passed batch, or the source's error for one that does not decode. */
export const decodePassed = (w: Passed): Prepared | { readonly error: unknown } => {
  const records = Batch.decodeRecords(w.batch)
  return "error" in records ? records : prepare(records)
}

/**
 * Splits a batch into runs of consecutive records with the same fields, so that each record is
 * written by one rule whatever the batching: a field that is absent (or `undefined`) leaves its
 * column out of the record's write — the column's default on insert, unchanged on an upsert's
 * update — and a field set to `null` writes NULL. Deletes (change records) need only the key and
 * join the run they are in. Returns `[from, to)` pairs; a batch of one shape is one run.
 */
export const runsOf = (p: Prepared): ReadonlyArray<readonly [number, number]> => {
  const runs: Array<readonly [number, number]> = []
  let shape: ReadonlyArray<string> | undefined
  let from = 0
  for (let i = 0; i < p.images.length; i++) {
    if (p.ops !== undefined && p.ops[i] !== "u") continue
    const image = p.images[i]
    if (shape === undefined) shape = fieldsOf(image)
    else if (!hasFields(image, shape)) {
      runs.push([from, i])
      from = i
      shape = fieldsOf(image)
    }
  }
  runs.push([from, p.images.length])
  return runs
}

/** The fields of a record that are present (not `undefined`). */
export const fieldsOf = (image: Row): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const k in image) if (image[k] !== undefined) out.push(k)
  return out
}

/** True when the present fields of `image` are exactly `fields`. */
const hasFields = (image: Row, fields: ReadonlyArray<string>): boolean => {
  let n = 0
  for (const k in image) {
    if (image[k] === undefined) continue
    if (fields[n] !== k && !fields.includes(k)) return false
    n++
  }
  return n === fields.length
}

/**
 * The columns a run of records (see {@link runsOf}) writes: the present fields of its (upsert)
 * images, plus `key` in upsert mode; or the message naming a field the table has no column for.
 */
export const batchColumns = (
  p: Prepared,
  columns: ReadonlyArray<Column>,
  key: ReadonlyArray<string>,
  upsert: boolean,
  table: string
): ReadonlyArray<Column> | string => {
  let names: ReadonlyArray<string> = []
  for (let i = 0; i < p.images.length; i++) {
    if (p.ops !== undefined && p.ops[i] !== "u") continue
    names = fieldsOf(p.images[i])
    break
  }
  if (names.length === 0) names = key
  const out: Array<Column> = []
  for (const n of names) {
    const col = columns.find((c) => c.name === n)
    if (col === undefined) return `field '${n}' has no column in table '${table}'`
    out.push(col)
  }
  if (upsert) {
    for (const k of key) {
      const col = columns.find((c) => c.name === k)
      if (col !== undefined && !out.includes(col)) out.push(col)
    }
  }
  return out
}
