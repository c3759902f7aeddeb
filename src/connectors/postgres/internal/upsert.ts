/**
 * The upsert merge of the `postgres` sink: a run of records with the same fields is COPYed into a
 * temporary table (with each row's op and position); the keys deleted in the run are deleted,
 * then the last row per key, when it is not a delete, is inserted with `ON CONFLICT (key) DO
 * UPDATE` of the run's columns only (a column the records leave out keeps its value on update and
 * takes its default on insert).
 */
import { Effect } from "effect"
import pg from "pg"
import type { Column } from "./catalog.ts"
import { copyInputOf } from "./copy.ts"
import { UPSERT_STAGE, upsertStageDdl } from "./ddl.ts"
import type { Prepared } from "./rows.ts"
import type { Session } from "./session.ts"

/** Merges the rows of `p` (with columns `cols`) into `target` by `key`; returns the rows merged. */
export const mergeRows = (
  session: Session,
  target: string,
  key: ReadonlyArray<string>,
  p: Prepared,
  cols: ReadonlyArray<Column>,
  format: "text" | "binary"
): Effect.Effect<number, unknown> =>
  Effect.gen(function*() {
    const names = cols.map((c) => c.name)
    const list = names.map((n) => pg.escapeIdentifier(n)).join(", ")
    const options = format === "binary" ? " (FORMAT binary)" : ""
    yield* session.query(upsertStageDdl(target))
    const input = copyInputOf(p, cols, format, true)
    yield* session.copy(`COPY ${UPSERT_STAGE} (${list}${list.length > 0 ? ", " : ""}"__df_op", "__df_seq") FROM STDIN${options}`, input)
    const keyList = key.map((k) => pg.escapeIdentifier(k)).join(", ")
    const match = key.map((k) => `t.${pg.escapeIdentifier(k)} = l.${pg.escapeIdentifier(k)}`).join(" AND ")
    const updates = names.filter((n) => !key.includes(n)).map((n) => `${pg.escapeIdentifier(n)} = EXCLUDED.${pg.escapeIdentifier(n)}`)
    const conflict = updates.length > 0 ? `DO UPDATE SET ${updates.join(", ")}` : "DO NOTHING"
    if (p.ops?.includes("d") === true) {
      // Every key deleted in the run is deleted first: a later upsert of the same key then
      // inserts a new row (columns it leaves out take their defaults), as applying the changes
      // one by one would.
      yield* session.query(
        `DELETE FROM ${target} t USING (SELECT DISTINCT ${keyList} FROM ${UPSERT_STAGE} WHERE "__df_op" = 'd') l WHERE ${match}`
      )
    }
    yield* session.query(
      `WITH last AS (SELECT DISTINCT ON (${keyList}) * FROM ${UPSERT_STAGE} ORDER BY ${keyList}, "__df_seq" DESC)` +
        ` INSERT INTO ${target} (${list}) SELECT ${list} FROM last WHERE "__df_op" = 'u' ON CONFLICT (${keyList}) ${conflict}`
    )
    yield* session.query(`TRUNCATE ${UPSERT_STAGE}`)
    return p.images.length
  })
