/**
 * The read plan of the `mysql` source and its position: which `SELECT` continues a read from a
 * position, and how a batch moves the position on.
 *
 * - A table with a primary key is read in key order; its position is the last row's key, so a
 *   resume starts right after it (`(k1, k2) > (?, ?)`).
 * - Incremental: `(cursor, key)` order; from `(v, K)` the rows with `cursor > v`, or `cursor = v`
 *   and `key > K`. NULL cursors sort first: read once, before every value, when there is no
 *   `initial_value` (the position then says `cursor: null` with the last key read among them);
 *   `initial_value` is exclusive.
 * - A query, or a table without a key, is positioned by row count (`offset`): a resume runs it
 *   again and skips that many rows as they arrive, so the query must return its rows in a stable
 *   order (give it an `ORDER BY`); it runs as written (not wrapped in a derived table, whose
 *   `ORDER BY` the server may drop).
 * - A partitioned read keeps its range `[lo, hi)` of the partition column in the position.
 *
 * Values in positions are the server's text (`"9007199254740993"`, `"2024-01-01 00:00:00.5"`,
 * bytes in hex); they go back to the server typed after the column, so comparisons are exact
 * (integers as integers, decimals cast to the column's type, never through a double).
 */
import { Schema } from "effect"
import type { Position } from "../../../Batch.ts"
import { Offset } from "../../kit/Positions.ts"
import type * as SqlTableSource from "../../kit/sqlTableSource.ts"
import { type Column, isInteger } from "./catalog.ts"
import { quoteColumn, quoteIdent } from "./client.ts"

/** A range `[lo, hi)` of the partition column (`null`: unbounded), or `empty` (the kit's). */
export type Range = SqlTableSource.Range

/** What is read (the kit's plan over this catalog's columns). */
export type ReadPlan = SqlTableSource.ReadPlan<Column>

/** Where the read is (mutated as batches are read). */
export type ReadState = SqlTableSource.ReadState

/** The Schema of the source's positions (declared by the definition, decoded before `seek`). */
export const TablePosition = Schema.Struct({
  offset: Offset,
  cursor: Schema.NullOr(Schema.String),
  key: Schema.NullOr(Schema.Array(Schema.NullOr(Schema.String))),
  range: Schema.NullOr(Schema.Union([Schema.Literal("empty"), Schema.Struct({ lo: Schema.NullOr(Schema.String), hi: Schema.NullOr(Schema.String) })]))
})

/** A value of a record as position text. */
export const positionText = (v: unknown): string | null =>
  v === null || v === undefined
    ? null
    : v instanceof Uint8Array
    ? Buffer.from(v).toString("hex")
    : typeof v === "string"
    ? v
    : String(v)

const isBinary = (c: Column): boolean => /binary|blob|^bit$/u.test(c.dataType)

/** A placeholder and its value for comparing `c` with position text `s`. */
const param = (c: Column, s: string): { readonly sql: string; readonly value: unknown } => {
  if (isInteger(c)) return { sql: "?", value: BigInt(s) }
  if (c.dataType === "decimal") {
    const m = /^decimal\(\d+(,\d+)?\)/u.exec(c.columnType)
    return { sql: `CAST(? AS ${m === null ? "DECIMAL(65,30)" : m[0]})`, value: s }
  }
  if (c.dataType === "float" || c.dataType === "double") return { sql: "?", value: Number(s) }
  if (isBinary(c)) return { sql: "?", value: Buffer.from(s, "hex") }
  return { sql: "?", value: s }
}

/** `(k1, k2) > (?, ?)` for the plan's key from `key`. */
const keyAfter = (plan: ReadPlan, key: ReadonlyArray<string | null>, values: Array<unknown>): string => {
  const cols = plan.key.map((name) => plan.columns.find((c) => c.name === name)!)
  const ps = cols.map((c, i) => param(c, key[i] ?? ""))
  for (const p of ps) values.push(p.value)
  return cols.length === 1
    ? `${quoteColumn(cols[0].name)} > ${ps[0].sql}`
    : `(${cols.map((c) => quoteColumn(c.name)).join(", ")}) > (${ps.map((p) => p.sql).join(", ")})`
}

/**
 * The `SELECT` continuing the read from `state` and how many of its rows to skip first (a query
 * or a keyless table, positioned by row count), or `empty` when the instance has nothing to read.
 */
export const selectFrom = (
  plan: ReadPlan,
  state: ReadState
): { readonly sql: string; readonly values: ReadonlyArray<unknown>; readonly skip: number } | "empty" => {
  if (state.range === "empty") return "empty"
  const values: Array<unknown> = []
  if (plan.table === undefined) {
    // run as written (a derived table may drop its ORDER BY); a resume skips `offset` rows client-side
    return { sql: plan.query!, values, skip: state.offset }
  }
  const where: Array<string> = []
  const range = state.range
  if (range !== undefined && plan.partition !== undefined) {
    const p = quoteColumn(plan.partition.name)
    if (range.lo !== null) {
      where.push(`${p} >= ?`)
      values.push(BigInt(range.lo))
    }
    if (range.hi !== null) {
      where.push(`${p} < ?`)
      values.push(BigInt(range.hi))
    }
  }
  const cursor = plan.cursor
  if (cursor !== undefined) {
    const c = quoteColumn(cursor.name)
    if (state.cursor === null) {
      if (state.key !== null) where.push(`((${c} IS NULL AND ${keyAfter(plan, state.key, values)}) OR ${c} IS NOT NULL)`)
    } else {
      const p = param(cursor, state.cursor)
      if (state.key === null) {
        where.push(`${c} > ${p.sql}`)
        values.push(p.value)
      } else {
        values.push(p.value, p.value)
        const after = keyAfter(plan, state.key, values)
        where.push(`(${c} > ${p.sql} OR (${c} = ${p.sql} AND ${after}))`)
      }
    }
  } else if (plan.key.length > 0 && state.key !== null) {
    where.push(keyAfter(plan, state.key, values))
  }
  const order = [...(cursor !== undefined ? [cursor.name] : []), ...plan.key].map(quoteColumn)
  const sql = `SELECT ${plan.columns.map((c) => quoteColumn(c.name)).join(", ")} FROM ${quoteIdent(plan.table)}` +
    (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
    (order.length > 0 ? ` ORDER BY ${order.join(", ")}` : "")
  return { sql, values, skip: plan.key.length === 0 ? state.offset : 0 }
}

/** The indexes of the key and cursor columns in the result. */
export interface PositionFields {
  readonly key: ReadonlyArray<number>
  readonly cursor: number | undefined
}

/** Where the position's columns are in a row of the plan's `SELECT`. */
export const positionFields = (plan: ReadPlan): PositionFields => ({
  key: plan.key.map((k) => plan.columns.findIndex((c) => c.name === k)),
  cursor: plan.cursor === undefined ? undefined : plan.columns.findIndex((c) => c.name === plan.cursor!.name)
})

/** Moves `state` past `rows` (raw driver rows, values as the server's text). */
export const advance = (plan: ReadPlan, state: ReadState, at: PositionFields, rows: ReadonlyArray<ReadonlyArray<unknown>>): void => {
  state.offset += rows.length
  const last = rows[rows.length - 1]
  if (last === undefined || plan.table === undefined) return
  if (plan.key.length > 0) state.key = at.key.map((i) => positionText(last[i]))
  if (at.cursor !== undefined) state.cursor = positionText(last[at.cursor])
}

/** The position of `state`. */
export const toPosition = (state: ReadState): Position => ({
  offset: state.offset,
  cursor: state.cursor,
  key: state.key === null ? null : [...state.key],
  range: state.range === undefined ? null : state.range === "empty" ? "empty" : { lo: state.range.lo, hi: state.range.hi }
})

const isText = (u: unknown): u is string | null => u === null || typeof u === "string"

/** Sets `state` from a position of this plan; false when it is not one. */
export const fromPosition = (position: Position, plan: ReadPlan, state: ReadState): boolean => {
  if (position === null || typeof position !== "object" || Array.isArray(position)) return false
  const p = position as { readonly [k: string]: Position }
  if (typeof p.offset !== "number" || !isText(p.cursor)) return false
  const key = p.key
  if (key !== null && !(Array.isArray(key) && key.length === plan.key.length && key.every(isText))) return false
  const range = p.range
  let r: Range
  if (range === null || range === undefined) r = undefined
  else if (range === "empty") r = "empty"
  else if (typeof range === "object" && !Array.isArray(range)) {
    const o = range as { readonly [k: string]: Position }
    if (!isText(o.lo) || !isText(o.hi)) return false
    r = { lo: o.lo, hi: o.hi }
  } else return false
  state.offset = p.offset
  state.cursor = p.cursor
  state.key = key === null ? null : (key as ReadonlyArray<string | null>)
  state.range = r
  return true
}
