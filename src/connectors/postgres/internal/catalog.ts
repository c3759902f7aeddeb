/**
 * Catalog look-ups shared by the PostgreSQL connectors: a table's columns with their types and
 * its primary key. The table name travels as query parameters, never as SQL text.
 */

/** One column of a table. */
export interface Column {
  readonly name: string
  /** `format_type` text, e.g. `numeric(10,2)`, `timestamp with time zone`, `integer[]`. */
  readonly type: string
  /** `pg_type.typname`, e.g. `int4`, `_int4`. */
  readonly typname: string
  /** Element `typname` for arrays (`int4` for `_int4`), else null. */
  readonly element: string | null
  readonly notNull: boolean
  /** Position in the primary key (1-based), or null. */
  readonly pk: number | null
  /** The type's OID. */
  readonly oid: number
  /** Arrays: the element type's delimiter in array literals (`,`; `;` for `box`). */
  readonly delimiter?: string
}

/** Columns of `$2.$1` (or of `$1` in the current schema) in table order. */
export const COLUMNS_SQL = `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname AS typname, a.atttypid::int AS oid,
  et.typname AS element, et.typdelim AS delimiter, a.attnotnull AS not_null,
  (SELECT k.ord::int FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum) AS pk
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

/** Turns catalog rows into columns. */
export const toColumns = (rows: ReadonlyArray<{ readonly [k: string]: unknown }>): ReadonlyArray<Column> =>
  rows.map((r) => ({
    name: String(r.name),
    type: String(r.type),
    typname: String(r.typname),
    element: r.element === null || r.element === undefined ? null : String(r.element),
    notNull: r.not_null === true,
    pk: r.pk === null || r.pk === undefined ? null : Number(r.pk),
    oid: Number(r.oid),
    ...(typeof r.delimiter === "string" ? { delimiter: r.delimiter } : {})
  }))

/** The primary key columns in key order. */
export const primaryKey = (columns: ReadonlyArray<Column>): ReadonlyArray<string> =>
  columns.filter((c) => c.pk !== null).sort((a, b) => a.pk! - b.pk!).map((c) => c.name)

const INTEGER_TYPES = new Set(["int2", "int4", "int8"])

/** True for `smallint`, `integer` and `bigint` columns. */
export const isInteger = (column: Column): boolean => INTEGER_TYPES.has(column.typname)
