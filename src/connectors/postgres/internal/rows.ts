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

/** A batch of CSV bytes written as they are (`COPY ... (FORMAT csv)`), with its batch to decode when a row is rejected. */
export interface Passed {
  readonly csv: Batch.CsvEncoded
  readonly batch: Batch.Batch<Row>
}

/** What the open transaction wrote, kept to write it again (replay, row isolation). */
export type Written = Prepared | Passed

/** True for bytes passed through. */
export const isPassed = (w: Written): w is Passed => "csv" in w

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
 * The columns a batch writes: every field of its (upsert) images, plus `key` in upsert mode; or
 * the message naming a field the table has no column for.
 */
export const batchColumns = (
  p: Prepared,
  columns: ReadonlyArray<Column>,
  key: ReadonlyArray<string>,
  upsert: boolean,
  table: string
): ReadonlyArray<Column> | string => {
  const names = new Set<string>()
  let shape: Row | undefined
  for (let i = 0; i < p.images.length; i++) {
    if (p.ops !== undefined && p.ops[i] !== "u") continue
    const image = p.images[i]
    // Records of one type share their keys: only look at the keys of a record shaped differently.
    if (shape !== undefined && sameKeys(shape, image)) continue
    shape = image
    for (const k in image) names.add(k)
  }
  if (names.size === 0) for (const k of key) names.add(k)
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

const sameKeys = (a: Row, b: Row): boolean => {
  let n = 0
  for (const k in b) {
    if (!(k in a)) return false
    n++
  }
  let m = 0
  for (const _ in a) m++
  return n === m
}
