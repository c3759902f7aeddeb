/**
 * Resolving type OIDs to the {@link TypeShape} their text output is read with: a domain is read
 * as its base type (recursively), an array by its element type and delimiter (`;` for `box`).
 * Used by the table source (columns from the catalog or a query's row description) and by CDC
 * (the type OIDs of `pgoutput` relation messages).
 */
import { OID, type TypeShape } from "./values.ts"

/** One `pg_type` row. */
interface TypeRow {
  readonly oid: number
  readonly typname: string
  readonly typtype: string
  readonly base: number
  readonly elem: number
  readonly delim: string
  readonly category: string
}

/** `pg_type` rows of the OIDs in `$1` (an `int[]`). */
export const TYPES_SQL = `SELECT oid::int AS oid, typname::text AS typname, typtype::text AS typtype, typbasetype::int AS base,
  typelem::int AS elem, typdelim::text AS delim, typcategory::text AS category
FROM pg_type WHERE oid = ANY($1::int[])`

/** Runs {@link TYPES_SQL} for some OIDs. */
export type TypeQuery = (oids: ReadonlyArray<number>) => Promise<ReadonlyArray<{ readonly [k: string]: unknown }>>

const BUILTIN: ReadonlyMap<number, string> = new Map(Object.entries(OID).map(([name, oid]) => [oid, name]))

/**
 * Resolves the shapes of `oids`, adding them to `cache` (OIDs already there are not looked up
 * again). A type the catalog does not know reads as text.
 */
export const resolveShapes = async (
  query: TypeQuery,
  oids: ReadonlyArray<number>,
  cache: Map<number, TypeShape>
): Promise<void> => {
  const rows = new Map<number, TypeRow>()
  let missing = [...new Set(oids.filter((o) => !cache.has(o) && !BUILTIN.has(o)))]
  while (missing.length > 0) {
    const found = await query(missing)
    const next: Array<number> = []
    for (const r of found) {
      const row: TypeRow = {
        oid: Number(r.oid),
        typname: String(r.typname),
        typtype: String(r.typtype),
        base: Number(r.base),
        elem: Number(r.elem),
        delim: String(r.delim),
        category: String(r.category)
      }
      rows.set(row.oid, row)
      const more = row.typtype === "d" ? row.base : row.category === "A" && row.elem !== 0 ? row.elem : 0
      if (more !== 0 && !rows.has(more) && !cache.has(more) && !BUILTIN.has(more)) next.push(more)
    }
    missing = next
  }
  const shapeOf = (oid: number, depth: number): TypeShape => {
    const cached = cache.get(oid)
    if (cached !== undefined) return cached
    const builtin = BUILTIN.get(oid)
    if (builtin !== undefined) return { _tag: "Scalar", oid, name: builtin }
    const row = rows.get(oid)
    let shape: TypeShape
    if (row === undefined || depth > 32) shape = { _tag: "Scalar", oid, name: `oid ${oid}` }
    else if (row.typtype === "d") shape = shapeOf(row.base, depth + 1)
    else if (row.category === "A" && row.elem !== 0) {
      const element = shapeOf(row.elem, depth + 1)
      const delimiter = rows.get(row.elem)?.delim ?? ","
      shape = { _tag: "Array", element, delimiter: delimiter.length === 1 ? delimiter : ",", name: row.typname }
    } else shape = { _tag: "Scalar", oid: row.oid, name: row.typname }
    cache.set(oid, shape)
    return shape
  }
  for (const oid of oids) shapeOf(oid, 0)
}

/** The shape of an OID after {@link resolveShapes} (text for an unknown one). */
export const shapeOf = (cache: ReadonlyMap<number, TypeShape>, oid: number): TypeShape => {
  const cached = cache.get(oid)
  if (cached !== undefined) return cached
  const builtin = BUILTIN.get(oid)
  return { _tag: "Scalar", oid, name: builtin ?? `oid ${oid}` }
}
