/**
 * Constraint checks of the staged exactly-once protocol, so that a row the target will refuse is
 * found before its checkpoint completes — named, with its SQLSTATE, failing the write or going
 * to the dead letters as in the other modes — not when the checkpoint is applied:
 * - the staging table gets the target's CHECK constraints and the NOT NULL of columns without a
 *   default, so those rows are refused by the COPY into it (and isolated as usual);
 * - at `preCommit`, the epoch's staged rows are checked against the target's unique keys (plain
 *   columns, no partial or expression index): a key already in the target is a unique violation
 *   (SQLSTATE 23505).
 * What only the insert itself can tell (a key staged twice, foreign keys, exclusion constraints,
 * triggers, a row a concurrent writer inserted meanwhile) is isolated when the checkpoint is
 * applied.
 */
import { Effect } from "effect"
import pg from "pg"
import type { Row } from "./rows.ts"
import type { Session } from "./session.ts"

/** A constraint violation found by a check, shaped as the server's error (SQLSTATE in `code`). */
export class ConstraintViolation extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** Adds the target's CHECK constraints and the NOT NULL of its columns without a default to a new staging table. */
export const constrainStage = (session: Session, stageTable: string, target: string) =>
  Effect.gen(function*() {
    const checks = yield* session.query(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c' ORDER BY conname`,
      [target]
    )
    for (const r of checks.rows) yield* session.query(`ALTER TABLE ${stageTable} ADD ${String(r.def)}`)
    const notNull = yield* session.query(
      `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attnotnull AND NOT atthasdef AND attidentity = '' AND attgenerated = '' ORDER BY attnum`,
      [target]
    )
    if (notNull.rows.length > 0) {
      yield* session.query(
        `ALTER TABLE ${stageTable} ${notNull.rows.map((r) => `ALTER COLUMN ${pg.escapeIdentifier(String(r.attname))} SET NOT NULL`).join(", ")}`
      )
    }
  })

/** A unique key of the target: its index name and columns. */
export interface UniqueKey {
  readonly name: string
  readonly columns: ReadonlyArray<string>
}

/** The target's unique keys on plain columns (primary key included; partial and expression indexes left to the insert). */
export const uniqueKeys = (session: Session, target: string) =>
  Effect.map(
    session.query(
      `SELECT ic.relname AS name, array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
       GROUP BY ic.relname ORDER BY ic.relname`,
      [target]
    ),
    (r): ReadonlyArray<UniqueKey> => r.rows.map((row) => ({ name: String(row.name), columns: row.cols as ReadonlyArray<string> }))
  )

/** A staged row the target would refuse: where it is in the staging table, the row, and why. */
export interface Refused {
  readonly at: string
  readonly row: Row
  readonly error: ConstraintViolation
}

/**
 * The rows of `epoch` in the staging table whose key is already in the target (for each unique
 * key; rows with a NULL in the key never conflict). One index probe per staged row; the row's
 * JSON is built only for the rows found. Two staged rows with the same key are not looked for
 * here (that would sort the whole epoch at every checkpoint): the insert finds them when the
 * checkpoint is applied (see the staged protocol's `applyShape`).
 */
export const uniqueConflicts = (session: Session, stageTable: string, target: string, keys: ReadonlyArray<UniqueKey>, epoch: number) =>
  Effect.gen(function*() {
    const out = new Map<string, Refused>()
    for (const key of keys) {
      const cols = key.columns.map((c) => pg.escapeIdentifier(c))
      const found = yield* session.query(
        `SELECT s.ctid::text AS at, to_jsonb(s) - '__df_epoch' - '__df_shape' AS rec FROM ${stageTable} s
         WHERE s."__df_epoch" = $1 AND EXISTS (SELECT 1 FROM ${target} t WHERE ${cols.map((c) => `t.${c} = s.${c}`).join(" AND ")})
         ORDER BY s.ctid`,
        [epoch]
      )
      for (const r of found.rows) {
        const at = String(r.at)
        if (out.has(at)) continue
        const row = r.rec as Row
        const values = key.columns.map((c) => (row[c] === null ? "null" : typeof row[c] === "string" ? row[c] : JSON.stringify(row[c]))).join(", ")
        const message = `duplicate key value violates unique constraint "${key.name}": Key (${key.columns.join(", ")})=(${values}) already exists`
        out.set(at, { at, row, error: new ConstraintViolation("23505", message) })
      }
    }
    return [...out.values()]
  })
