/**
 * What the `mysql` sink writes, as SQL: records grouped into runs of one shape (the same fields,
 * the same operation), each run one multi-row statement.
 *
 * - A record's fields are its columns; a field the table does not have is refused (a record error
 *   naming it), never dropped. A field a record leaves out is left out of its statement: on
 *   insert the column takes its default, on upsert it keeps its value — per record, whatever the
 *   batching (records of different shapes never share a statement).
 * - `insert` / `replace`: `INSERT INTO t (...) VALUES ...`; `upsert`: the same with
 *   `ON DUPLICATE KEY UPDATE c = VALUES(c)` for the run's non-key columns; a change record
 *   (`{ op, before, after }`, as `mysql-cdc` and `postgres-cdc` produce) is an upsert of `after`,
 *   or for `op: delete` a `DELETE ... WHERE (key) IN (...)` by `before`'s key.
 * - Values (see {@link sqlValue}): exact — bigints as integer literals, strings as they are
 *   (decimals, dates, JSON text), bytes as binary literals, objects and arrays as JSON text.
 */
import mysql from "mysql2"
import { quoteColumn } from "./client.ts"

/** A record as a row: a field per column. */
export type Row = { readonly [k: string]: unknown }

/** A value that cannot be written (NaN, a function, ...). */
export class UnwritableValue extends Error {
  readonly field: string
  constructor(field: string, message: string) {
    super(message)
    this.field = field
  }
}

/** A record that does not fit the table (an unknown field, a delete without its key). */
export class RecordMismatch extends Error {
  readonly index: number
  readonly field: string | undefined
  constructor(index: number, field: string | undefined, message: string) {
    super(message)
    this.index = index
    this.field = field
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

/** A record's value as an SQL literal (see the module doc). */
export const sqlValue = (field: string, v: unknown): string => {
  if (v === null || v === undefined) return "NULL"
  switch (typeof v) {
    case "string":
    case "bigint":
    case "boolean":
      return mysql.escape(v)
    case "number":
      if (!Number.isFinite(v)) throw new UnwritableValue(field, `field '${field}' is ${v}, which MySQL cannot store`)
      return String(v)
    case "object": {
      if (v instanceof Uint8Array) return "X'" + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") + "'"
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw new UnwritableValue(field, `field '${field}' is an invalid Date`)
        return mysql.escape(
          `${pad(v.getUTCFullYear(), 4)}-${pad(v.getUTCMonth() + 1)}-${pad(v.getUTCDate())} ` +
            `${pad(v.getUTCHours())}:${pad(v.getUTCMinutes())}:${pad(v.getUTCSeconds())}.${pad(v.getUTCMilliseconds(), 3)}`
        )
      }
      try {
        return mysql.escape(JSON.stringify(v))
      } catch (e) {
        throw new UnwritableValue(field, `field '${field}' cannot be written as JSON: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
    default:
      throw new UnwritableValue(field, `field '${field}' is a ${typeof v}, which cannot be written`)
  }
}

/** One statement of a batch and the records (by index in the batch) it writes. */
export interface Statement {
  readonly sql: string
  readonly kind: "write" | "delete"
  /** Indexes of the statement's records in their batch. */
  readonly records: ReadonlyArray<number>
}

/** What the statements of a target need. */
export interface Shape {
  readonly table: string
  readonly columns: ReadonlySet<string>
  readonly key: ReadonlyArray<string>
  readonly upsert: boolean
}

const CHANGE_OPS = new Set(["insert", "update", "delete", "read"])

/** True when the record is a change record. */
export const isChange = (r: Row): boolean => typeof r.op === "string" && CHANGE_OPS.has(r.op) && ("after" in r || "before" in r)

/** Most rows and bytes of one statement (below every server's default `max_allowed_packet`). */
const MAX_ROWS = 2000
const MAX_BYTES = 4 * 1024 * 1024

const image = (r: Row): { readonly kind: "write" | "delete"; readonly row: Row } => {
  if (!isChange(r)) return { kind: "write", row: r }
  return r.op === "delete" ? { kind: "delete", row: (r.before ?? {}) as Row } : { kind: "write", row: (r.after ?? {}) as Row }
}

/** The statements writing `records` into the target, in order. */
export const statements = (records: ReadonlyArray<Row>, shape: Shape): Array<Statement> => {
  const out: Array<Statement> = []
  const table = shape.table
  let i = 0
  while (i < records.length) {
    const first = image(records[i])
    if (first.kind === "delete") {
      const keys: Array<string> = []
      const idx: Array<number> = []
      let bytes = 0
      while (i < records.length && keys.length < MAX_ROWS && bytes < MAX_BYTES) {
        const im = image(records[i])
        if (im.kind !== "delete") break
        const missing = shape.key.find((k) => im.row[k] === undefined)
        if (missing !== undefined) throw new RecordMismatch(i, missing, `a delete needs the key field '${missing}' in 'before'`)
        const tuple = "(" + shape.key.map((k) => sqlValue(k, im.row[k])).join(", ") + ")"
        keys.push(tuple)
        bytes += tuple.length
        idx.push(i)
        i++
      }
      out.push({
        kind: "delete",
        sql: `DELETE FROM ${table} WHERE (${shape.key.map(quoteColumn).join(", ")}) IN (${keys.join(", ")})`,
        records: idx
      })
      continue
    }
    const fields = Object.keys(first.row)
    for (const f of fields) {
      if (!shape.columns.has(f)) throw new RecordMismatch(i, f, `field '${f}' is not a column of the table`)
    }
    if (fields.length === 0) throw new RecordMismatch(i, undefined, "the record has no fields")
    const signature = fields.join("\u0000")
    const tuples: Array<string> = []
    const idx: Array<number> = []
    let bytes = 0
    while (i < records.length && tuples.length < MAX_ROWS && bytes < MAX_BYTES) {
      const im = image(records[i])
      if (im.kind !== "write") break
      const keys = Object.keys(im.row)
      if (keys.join("\u0000") !== signature) break
      const tuple = "(" + fields.map((f) => sqlValue(f, im.row[f])).join(", ") + ")"
      tuples.push(tuple)
      bytes += tuple.length
      idx.push(i)
      i++
    }
    const cols = fields.map(quoteColumn)
    let sql = `INSERT INTO ${table} (${cols.join(", ")}) VALUES ${tuples.join(", ")}`
    if (shape.upsert) {
      const update = fields.filter((f) => !shape.key.includes(f)).map((f) => `${quoteColumn(f)} = VALUES(${quoteColumn(f)})`)
      sql += ` ON DUPLICATE KEY UPDATE ${update.length > 0 ? update.join(", ") : `${quoteColumn(shape.key[0])} = ${quoteColumn(shape.key[0])}`}`
    }
    out.push({ kind: "write", sql, records: idx })
  }
  return out
}
