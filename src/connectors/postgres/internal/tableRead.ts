/**
 * The `postgres` source's reading plan: what one `COPY (SELECT ...) TO STDOUT` reads from a
 * position, and the position after a block of rows.
 *
 * - A table with a primary key is read in key order; the position is the last row's key (the
 *   server's text of each key column, read from the COPY row itself: no helper column is added,
 *   so the COPY bytes are exactly the table's rows).
 * - Incremental: `(cursor, key)` order, the position `{ cursor, key }`. A NULL cursor sorts before
 *   every value: without `initial_value`, rows whose cursor is NULL are read first (in key order;
 *   `{ cursor: null, key }` is a place among them), and once the position has a cursor value they
 *   are behind it, never read again; with `initial_value` (exclusive) they are not read.
 * - A query, or a table without a key, is positioned by row count (`{ offset }`).
 * - With `parallelism: n`, an instance reads one range of the partition column; the range is
 *   part of the position.
 *
 * Values reach SQL text (COPY takes no parameters) only through `pg`'s literal and identifier
 * escaping, and are cast to their column's type.
 */
import { Schema } from "effect"
import pg from "pg"
import type * as Batch from "../../../Batch.ts"
import { RecordError } from "../../../Errors.ts"
import type { Column } from "./catalog.ts"
import * as Positions from "../../kit/Positions.ts"
import type * as SqlTableSource from "../../kit/sqlTableSource.ts"
import { quoteIdent } from "./client.ts"
import type { FieldError } from "./copyOut.ts"

/** An instance's range of the partition column: `[lo, hi)` (`null`: open), or nothing to read (the kit's). */
export type Range = SqlTableSource.Range

/** What the reader reads (the kit's plan over this catalog's columns; `columns` as COPY writes them). */
export type ReadPlan = SqlTableSource.ReadPlan<Column>

/** Where the reader is (keys are never NULL here: they are primary-key values). */
export type ReadState = SqlTableSource.ReadState<string>

/**
 * Run right before a COPY that reads a table in key order: the planner would otherwise sort a
 * large, physically unordered table whole (temporary files, and no first row until the sort is
 * done) where the primary key's index gives the order as it streams. A sort is still used where no
 * index gives the order (an incremental cursor column without one). Not for other statements:
 * the catalog queries need their sorts (they took seconds without). {@link UNORDERED_SQL} undoes it.
 */
export const ORDERED_READ_SQL = "SET enable_sort = off"

/** Undoes {@link ORDERED_READ_SQL}. */
export const UNORDERED_SQL = "RESET enable_sort"

const lit = (value: string, column: Column): string => `${pg.escapeLiteral(value)}::${column.type}`

const col = (name: string): string => `t.${pg.escapeIdentifier(name)}`

const columnOf = (plan: ReadPlan, name: string): Column => plan.columns.find((c) => c.name === name)!

/** The `COPY ... TO STDOUT` statement reading from `state`, or `"empty"` when there is nothing to read. */
export const copyStatement = (plan: ReadPlan, state: ReadState): string | "empty" => {
  if (plan.table === undefined) return `COPY (${plan.query!}) TO STDOUT`
  if (state.range === "empty") return "empty"
  const where: Array<string> = []
  const range = state.range
  if (range !== undefined && plan.partition !== undefined) {
    const p = col(plan.partition.name)
    if (range.lo !== null) where.push(`${p} >= ${lit(range.lo, plan.partition)}`)
    if (range.hi !== null) where.push(`(${p} < ${lit(range.hi, plan.partition)}${range.lo === null ? ` OR ${p} IS NULL` : ""})`)
  }
  const keyCols = plan.key.map(col)
  const keyLits = (key: ReadonlyArray<string>) => key.map((v, i) => lit(v, columnOf(plan, plan.key[i])))
  const order: Array<string> = []
  const cursor = plan.cursor
  if (cursor !== undefined) {
    const c = col(cursor.name)
    if (state.cursor !== null && state.key !== null) {
      where.push(`(${[c, ...keyCols].join(", ")}) > (${[lit(state.cursor, cursor), ...keyLits(state.key)].join(", ")})`)
    } else if (state.cursor !== null) {
      where.push(`${c} > ${lit(state.cursor, cursor)}`)
    } else if (state.key !== null) {
      // among the rows whose cursor is NULL (they sort first)
      where.push(`(${c} IS NOT NULL OR (${keyCols.join(", ")}) > (${keyLits(state.key).join(", ")}))`)
    }
    order.push(cursor.notNull ? c : `${c} NULLS FIRST`)
    order.push(...keyCols)
  } else if (plan.key.length > 0) {
    if (state.key !== null) where.push(`(${keyCols.join(", ")}) > (${keyLits(state.key).join(", ")})`)
    order.push(...keyCols)
  }
  const filter = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""
  const orderBy = order.length > 0 ? ` ORDER BY ${order.join(", ")}` : ""
  return `COPY (SELECT * FROM ${quoteIdent(plan.table)} t${filter}${orderBy}) TO STDOUT`
}

/** Indexes of the fields a position reads from a row: the cursor's, then the key's. */
export const positionFields = (plan: ReadPlan): { readonly cursor: number; readonly key: ReadonlyArray<number> } => ({
  cursor: plan.cursor === undefined ? -1 : plan.columns.indexOf(plan.cursor),
  key: plan.key.map((k) => plan.columns.findIndex((c) => c.name === k))
})

/** Moves `state` past a block of `rows` rows whose last row has `fields`. */
export const advance = (
  plan: ReadPlan,
  state: ReadState,
  at: { readonly cursor: number; readonly key: ReadonlyArray<number> },
  rows: number,
  fields: ReadonlyArray<string | null>
): void => {
  state.offset += rows
  if (at.cursor >= 0) state.cursor = fields[at.cursor]
  if (at.key.length > 0 && plan.table !== undefined) state.key = at.key.map((i) => fields[i] ?? "")
}

/** The position of `state`. */
export const toPosition = (plan: ReadPlan, state: ReadState): Batch.Position => {
  const range = state.range === undefined ? null : state.range === "empty" ? "empty" : [state.range.lo, state.range.hi]
  if (plan.cursor !== undefined) return { cursor: state.cursor, key: state.key, range }
  if (plan.table !== undefined && plan.key.length > 0) return { key: state.key, range }
  return { offset: state.offset, range }
}

const Bound = Schema.NullOr(Schema.Union([Schema.String, Schema.Number]))

/**
 * The positions of the `postgres` source (its `SourceDefinition.position`): where a snapshot or an
 * incremental read is — `{ cursor, key, range }` (incremental), `{ key, range }` (a table with a
 * primary key), `{ offset, range }` (rows counted) — with the instance's range of the partition
 * column (`"empty"`, `[lo, hi]`, or `null`).
 */
export const TablePosition = Schema.Struct({
  cursor: Schema.optionalKey(Bound),
  key: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.Union([Schema.String, Schema.Number])))),
  offset: Schema.optionalKey(Positions.Offset),
  range: Schema.optionalKey(Schema.Union([Schema.Literal("empty"), Schema.Tuple([Bound, Bound]), Schema.Null]))
})

/** A decoded {@link TablePosition}. */
export type TablePosition = typeof TablePosition.Type

/** Decodes a position given to `seek` with {@link TablePosition}. */
export const decodePosition = Positions.decoder("postgres", TablePosition)

/**
 * Reads a decoded position into `state`; false when it is not one of this plan's (a key position
 * for a query, an offset for a table with a key). A position without `cursor` in incremental mode
 * is refused; one with a NULL cursor and no key (written before NULL cursors were placed) starts
 * from `initial`.
 */
export const fromPosition = (p: TablePosition, plan: ReadPlan, state: ReadState, initial: string | null): boolean => {
  const range = p.range
  state.range = range === "empty"
    ? "empty"
    : Array.isArray(range)
    ? { lo: range[0] === null ? null : String(range[0]), hi: range[1] === null ? null : String(range[1]) }
    : state.range
  const key = p.key === undefined || p.key === null ? null : p.key.map(String)
  if (plan.cursor !== undefined) {
    if (!("cursor" in p)) return false
    state.cursor = p.cursor === undefined || p.cursor === null ? null : String(p.cursor)
    if (state.cursor === null && key === null) state.cursor = initial
    state.key = key
    return true
  }
  if (plan.table !== undefined && plan.key.length > 0) {
    state.key = key
    return true
  }
  if (p.offset === undefined) return false
  state.offset = p.offset
  return true
}

/**
 * A field that did not decode, as the record error naming the table (or query), the row (its key,
 * or its number in the read) and the column with its type.
 */
export const fieldError = (plan: ReadPlan, e: FieldError, rowIndex: number): RecordError => {
  const column = plan.columns[Math.max(0, e.column)]
  const keyAt = plan.key.map((k) => plan.columns.findIndex((c) => c.name === k))
  const row = keyAt.length > 0 && keyAt.every((i) => i >= 0 && i < e.fields.length)
    ? `row (${plan.key.join(", ")})=(${keyAt.map((i) => e.fields[i] ?? "NULL").join(", ")})`
    : `row ${rowIndex + 1}`
  return new RecordError({
    detail: `${plan.table !== undefined ? `table '${plan.table}'` : "query"}, ${row}, column '${column?.name ?? "?"}' (${
      column?.type ?? "?"
    }): ${e.message}`,
    ...(column !== undefined ? { field: column.name } : {})
  })
}
