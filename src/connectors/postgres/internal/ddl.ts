/**
 * The tables the `postgres` sink creates: the target (`create_table`), the checkpoint table, the
 * staged checkpoints' marks, the exactly-once staging table and the upsert merge's temporary
 * table. Identifiers reach SQL only through `pg`'s escaping.
 */
import pg from "pg"

/** The checkpoint table: the last checkpoint id each sink instance committed. */
export const checkpointDdl = (cpTable: string): string =>
  `CREATE TABLE IF NOT EXISTS ${cpTable} (workflow text NOT NULL, node text NOT NULL, checkpoint_id bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (workflow, node))`

/** The marks of a staged exactly-once sink: epoch → checkpoint id, with the epoch's column sets. */
export const marksDdl = (marksTable: string): string =>
  `CREATE TABLE IF NOT EXISTS ${marksTable} (workflow text NOT NULL, node text NOT NULL, epoch bigint NOT NULL, checkpoint_id bigint NOT NULL, shapes jsonb NOT NULL, PRIMARY KEY (workflow, node, epoch))`

/**
 * The exactly-once staging table: the target's columns plus the writer's epoch and the batch's
 * column set. The constant columns default to the transaction's settings: a COPY of bytes passed
 * through (which cannot carry them) sets those instead. NOT NULL: a row without them fails loudly.
 */
export const stageDdl = (stageTable: string, target: string): ReadonlyArray<string> => [
  `CREATE TABLE ${stageTable} AS SELECT *, 0::bigint AS "__df_epoch", 0::int AS "__df_shape" FROM ${target} WITH NO DATA`,
  `ALTER TABLE ${stageTable} ALTER COLUMN "__df_epoch" SET DEFAULT current_setting('dataflare.epoch')::bigint, ALTER COLUMN "__df_epoch" SET NOT NULL, ALTER COLUMN "__df_shape" SET DEFAULT current_setting('dataflare.shape')::int, ALTER COLUMN "__df_shape" SET NOT NULL`
]

/** The temporary table an upsert batch is COPYed into before the merge. */
export const UPSERT_STAGE = "df_stage"

/** Creates the upsert merge's temporary table (emptied at each commit). */
export const upsertStageDdl = (target: string): string =>
  `CREATE TEMP TABLE IF NOT EXISTS ${UPSERT_STAGE} ON COMMIT DELETE ROWS AS SELECT *, ''::text AS "__df_op", 0 AS "__df_seq" FROM ${target} WITH NO DATA`

/** `CREATE TABLE IF NOT EXISTS` of the target from its columns' definitions and key. */
export const createTableSql = (
  target: string,
  columns: ReadonlyArray<{ readonly name: string; readonly type: string }>,
  key: ReadonlyArray<string>
): string => {
  const defs = columns.map((c) => `${pg.escapeIdentifier(c.name)} ${c.type}`)
  if (key.length > 0) defs.push(`PRIMARY KEY (${key.map((k) => pg.escapeIdentifier(k)).join(", ")})`)
  return `CREATE TABLE IF NOT EXISTS ${target} (${defs.join(", ")})`
}
