/**
 * The config Schemas of the PostgreSQL connectors: `type: postgres` (source and sink) and
 * `type: postgres-cdc`. Keys keep their YAML spelling (snake_case), so YAML, the DSL, error
 * messages and the docs show one name. `connection_string` decodes to a `Redacted` value and is
 * never printed.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { durationMillis as millis, PositiveDuration } from "../../WorkflowGraph.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as Retry from "../kit/Retry.ts"
import * as SqlTableSource from "../kit/sqlTableSource.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

const ConnectionString = Schema.RedactedFromValue(
  Schema.String.annotate({ description: "postgres://user:password@host:5432/db (kept redacted: never printed)" }),
  { label: "connection_string" }
)

/**
 * A duration greater than zero, written `500ms`, `30s`, `5m`, `1h`, or a number of milliseconds:
 * the project's one duration Schema (`WorkflowGraph.PositiveDuration`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const DurationText = PositiveDuration

/**
 * Milliseconds of a {@link DurationText} (`WorkflowGraph.durationMillis`).
 *
 * @category getters
 * @since 0.1.0
 */
export const durationMillis: (d: typeof DurationText.Type) => number = millis

/**
 * How `bigint` (int8) values reach records: as JavaScript `bigint` (exact, the default) or as
 * decimal strings (JSON-friendly).
 *
 * @category schemas
 * @since 0.1.0
 */
export const BigintMode = Schema.Literals(["bigint", "string"])

/**
 * Config of the `postgres` source.
 *
 * - `table` or `query` (exactly one): what to read.
 * - `incremental: { column, initial_value }`: read rows whose `column` is greater than the last
 *   committed position (table only), in `(column, primary key)` order; `initial_value` is
 *   exclusive. A NULL `column` sorts before every value: read once, first, when there is no
 *   `initial_value`, never again.
 * - `batch_size`: rows per batch (default: the runtime's batch size).
 * - `partition_column`: the column whose ranges split a snapshot across `parallelism` instances
 *   (default: the primary key's first column).
 * - `bigint`: `bigint` (default) or `string`.
 *
 * Values: see docs/connectors/postgres.md, "Types" (every type exact; dates, numerics and JSON
 * as the server's text).
 *
 * @category schemas
 * @since 0.1.0
 */
export const SourceConfig = Schema.Struct({
  connection_string: ConnectionString,
  ...SqlTableSource.ReadFields({
    table: Schema.NonEmptyString.annotate({ description: "The table to read (schema.table allowed); exactly one of table or query" }),
    partition: "The column"
  }),
  bigint: Schema.optionalKey(BigintMode.annotate({ description: "How int8 values are read: as bigint, or as a string of digits", default: "bigint" }))
}).check(Schema.makeFilter(SqlTableSource.checkReadFields))

/**
 * @category schemas
 * @since 0.1.0
 */
export type SourceConfig = typeof SourceConfig.Type

/**
 * A column type as SQL spells it (`bigint`, `numeric(12,2)`, `timestamp with time zone`,
 * `text[]`, `myschema.mood`): words, an optional schema, an optional type modifier, array
 * brackets. Spliced into `CREATE TABLE`, so nothing else is accepted.
 *
 * @category schemas
 * @since 0.3.0
 */
export const SqlType = Schema.String.check(
  Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?( [A-Za-z_][A-Za-z0-9_]*)*( ?\( *\d+( *, *-?\d+)? *\))?( [A-Za-z_][A-Za-z0-9_]*)*(\[\d*\])*$/u)
)

/**
 * Config of the `postgres` sink.
 *
 * - `table`: the target (`schema.table` allowed).
 * - `mode`: `insert` (default), `upsert` (by `key`), or `replace` (truncate, then insert).
 * - `key`: the conflict columns of `upsert` (default: the table's primary key).
 * - `create_table`: create the table when it does not exist, from the column types declared in
 *   `columns`, or — without `columns` — from the types a `postgres` source hands on with its rows
 *   (a table-to-table copy); the types are never guessed from values: without either, the first
 *   write is refused and no table is created.
 * - `columns`: with `create_table`, the table's columns and their SQL types in order
 *   (`{ id: bigint, amount: "numeric(12,2)", at: timestamptz, tags: "text[]" }`); `key` becomes
 *   its primary key.
 * - `copy_format`: `text` (default) or `binary`.
 * - `on_error`: `fail` (default) or `dead_letter`, which writes rejected rows with the reason to
 *   `dead_letter.path` as NDJSON and goes on — until the file would exceed `dead_letter.max_bytes`
 *   (default 1 GiB): then the write fails (so many rejects are no exception to set aside) — or,
 *   with `dead_letter: { to }`, sends them to another destination of the workflow.
 * - `guarantee`: `exactly-once` (default) or `at-least-once`. In `insert` / `replace` mode,
 *   exactly-once stages each checkpoint's rows in a table owned by the connector and moves them
 *   into the target when the checkpoint completes (a staged two-phase commit); at-least-once COPYs
 *   straight into the target (about half the server work) and writes the rows committed after
 *   the restored checkpoint again after a crash. `upsert` is exactly-once either way.
 * - `two_phase`: how `insert` / `replace` are exactly-once: `staged` (default; works on any
 *   server) or `prepared`, PostgreSQL's own two-phase commit (`PREPARE TRANSACTION`; the server
 *   needs `max_prepared_transactions > 0`): each checkpoint's rows go straight into the target in
 *   one transaction, prepared at the checkpoint and committed when it completes — one write
 *   instead of two, but a run that crashes leaves prepared transactions (holding their locks)
 *   until it is resumed.
 * - `checkpoint_table` / `workflow`: where checkpoint ids (and, with `_staged` appended, the
 *   staged checkpoints) are stored (default `dataflare_checkpoints`, workflow `default`).
 * - `retry`: `{ attempts, delay, max_delay }` for transient errors (default 5 attempts from 100ms,
 *   doubling up to 30s, with jitter: the connector kit's `Retry`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const SinkConfig = Schema.Struct({
  connection_string: ConnectionString,
  table: Schema.NonEmptyString.annotate({ description: "The target table (schema.table allowed)" }),
  mode: Schema.optionalKey(Schema.Literals(["insert", "upsert", "replace"]).annotate({
    description: "insert; upsert by key; replace: truncate, then insert",
    default: "insert"
  })),
  key: Schema.optionalKey(
    Schema.NonEmptyArray(Schema.NonEmptyString).annotate({ description: "The conflict columns of upsert (default: the table's primary key)" })
  ),
  create_table: Schema.optionalKey(Schema.Boolean.annotate({
    description: "Create the table when missing, from columns or from the types a postgres source hands on",
    default: false
  })),
  columns: Schema.optionalKey(
    Schema.Record(Schema.NonEmptyString, SqlType).annotate({ description: "With create_table: column name → SQL type, in order" })
  ),
  copy_format: Schema.optionalKey(Schema.Literals(["text", "binary"]).annotate({ description: "The COPY format used to write", default: "text" })),
  guarantee: Schema.optionalKey(Schema.Literals(["exactly-once", "at-least-once"]).annotate({
    description: "exactly-once commits rows with their checkpoint; at-least-once writes straight in (rows may be written again after a crash)",
    default: "exactly-once"
  })),
  two_phase: Schema.optionalKey(Schema.Literals(["staged", "prepared"]).annotate({
    description: "How exactly-once insert/replace commit: a staging table, or PostgreSQL's PREPARE TRANSACTION",
    default: "staged"
  })),
  ...DeadLetter.SinkErrorHandlingFields,
  checkpoint_table: Schema.optionalKey(Schema.NonEmptyString.annotate({
    description: "Where applied checkpoint ids are stored (staged checkpoints in <checkpoint_table>_staged)",
    default: "dataflare_checkpoints"
  })),
  workflow: Schema.optionalKey(
    Schema.NonEmptyString.annotate({ description: "The workflow name stored with the checkpoint ids (default: the workflow's name)" })
  ),
  ...Retry.RetryFields
}).check(
  Schema.makeFilter((c) => {
    const outside = c.columns === undefined ? undefined : c.key?.find((k) => !Object.hasOwn(c.columns ?? {}, k))
    return DeadLetter.checkErrorHandling(c) ?? (c.two_phase !== undefined && (c.mode === "upsert" || c.guarantee === "at-least-once")
      ? { path: ["two_phase"], issue: "two_phase applies to exactly-once insert and replace (upsert is idempotent; at-least-once commits at once)" }
      : c.columns !== undefined && c.create_table !== true
      ? { path: ["columns"], issue: "columns declares the types of a table create_table creates: set create_table: true" }
      : outside !== undefined
      ? { path: ["key"], issue: `key column '${outside}' is not one of columns` }
      : undefined)
  })
)

/**
 * @category schemas
 * @since 0.1.0
 */
export type SinkConfig = typeof SinkConfig.Type

// Replication commands take no parameters: the names are restricted so they can be spelled safely.
const ReplicationName = Schema.String.check(Schema.isPattern(/^[a-z0-9_]{1,63}$/u))

/**
 * Config of the `postgres-cdc` source.
 *
 * - `publication`: the publication to stream (`create_publication: true` creates it for
 *   `tables`, or for all tables when `tables` is absent, if it does not exist, and sets an
 *   existing one's tables to `tables`).
 * - `slot`: the logical replication slot (created with the `pgoutput` plugin if missing).
 * - `tables`: the tables streamed (others are left out); also what the initial snapshot reads.
 * - `snapshot`: read the tables first, then stream from the slot's consistent point (a crash
 *   during the snapshot resumes it; tables added later are read on the next run).
 * - `heartbeat_interval`: write a `pg_logical_emit_message` this often so quiet databases move,
 *   and measure the lag this often (every 10 s without it).
 * - `temporary_slot`: the slot is dropped when the connection ends.
 * - `batch_size`, `bigint`: as for the table source.
 *
 * @category schemas
 * @since 0.1.0
 */
export const CdcConfig = Schema.Struct({
  connection_string: ConnectionString,
  publication: ReplicationName.annotate({ description: "The publication to stream (lowercase letters, digits, _)" }),
  slot: ReplicationName.annotate({ description: "The logical replication slot, created with pgoutput when missing" }),
  tables: Schema.optionalKey(
    Schema.Array(Schema.NonEmptyString).annotate({ description: "The tables streamed (others left out); what the snapshot reads" })
  ),
  create_publication: Schema.optionalKey(Schema.Boolean.annotate({
    description: "Create the publication for tables (or all tables) if missing, and set an existing one's tables",
    default: false
  })),
  snapshot: Schema.optionalKey(Schema.Boolean.annotate({
    description: "Read the tables first, then stream from the slot's consistent point",
    default: false
  })),
  heartbeat_interval: Schema.optionalKey(DurationText).annotateKey({
    description: "Emit a logical message this often so a quiet database moves, and measure the lag (every 10 s without it)"
  }),
  temporary_slot: Schema.optionalKey(Schema.Boolean.annotate({ description: "Drop the slot when the connection ends", default: false })),
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Changes per batch (default: execution.batch_size)" })),
  max_buffer_bytes: Schema.optionalKey(PositiveInt.annotate({
    description: "Bytes of changes (estimated) read ahead of the pipeline before the replication stream is paused",
    default: 67108864
  })),
  bigint: Schema.optionalKey(BigintMode.annotate({ description: "How int8 values are read: as bigint, or as a string of digits", default: "bigint" }))
}).check(
  Schema.makeFilter((c) =>
    c.snapshot === true && (c.tables === undefined || c.tables.length === 0)
      ? { path: ["tables"], issue: "snapshot: true needs the list of tables to read" }
      : undefined
  )
)

/**
 * @category schemas
 * @since 0.1.0
 */
export type CdcConfig = typeof CdcConfig.Type
