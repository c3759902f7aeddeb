/**
 * The config Schemas of the MySQL/MariaDB connectors: `type: mysql` (source and sink) and
 * `type: mysql-cdc`. Keys keep their YAML spelling (snake_case). `connection_string`
 * (`mysql://user[:password]@host[:port]/database`) and `password` decode to `Redacted` values and
 * are never printed; write the password as `${MYSQL_PASSWORD}` to take it from the environment.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import * as DeadLetter from "../kit/DeadLetter.ts"
import * as Retry from "../kit/Retry.ts"
import * as SqlTableSource from "../kit/sqlTableSource.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

const ConnectionString = Schema.RedactedFromValue(
  Schema.String.check(Schema.isPattern(/^(mysql|mariadb):\/\/[^/]*(\/[^/?#]*)?([?#].*)?$/u)).annotate({
    description: "mysql://user[:password]@host[:port]/database (mariadb:// too; kept redacted: never printed)"
  }),
  { label: "connection_string" }
)
const Password = Schema.RedactedFromValue(
  Schema.String.annotate({ description: "The password, overriding the URL's (take it from the environment; kept redacted: never printed)" }),
  { label: "password" }
)


/**
 * A table name: `table` or `database.table`, letters, digits, `_` and `$` (spliced into SQL quoted
 * with backticks).
 *
 * @category schemas
 * @since 0.4.0
 */
export const TableName = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_$]{1,64}(\.[A-Za-z0-9_$]{1,64})?$/u))

/**
 * How `BIGINT` values reach records: as JavaScript `bigint` (exact, the default) or as decimal
 * strings (JSON-friendly).
 *
 * @category schemas
 * @since 0.4.0
 */
export const BigintMode = Schema.Literals(["bigint", "string"])

/**
 * What a zero date (`0000-00-00`, or a date with a zero month or day, which MySQL accepts when
 * `NO_ZERO_DATE` / `NO_ZERO_IN_DATE` are off) becomes: `fail` (default: a record error naming
 * the column and the row) or `null`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const ZeroDates = Schema.Literals(["fail", "null"])

// How values are read, shared by the table source and the CDC source.
const ValueFields = {
  bigint: Schema.optionalKey(BigintMode.annotate({ description: "How BIGINT values are read: as bigint, or as a string of digits", default: "bigint" })),
  zero_dates: Schema.optionalKey(ZeroDates.annotate({
    description: "What a zero date (0000-00-00, or a zero month or day) becomes: fail (a record error) or null",
    default: "fail"
  }))
} as const

/**
 * Config of the `mysql` source.
 *
 * - `connection_string`, `password` (optional; overrides the URL's).
 * - `table` or `query` (exactly one): what to read.
 * - `incremental: { column, initial_value }`: rows whose `column` is greater than the last
 *   position (table only), in `(column, primary key)` order; `initial_value` is exclusive. A NULL
 *   `column` sorts before every value: read once, first, when there is no `initial_value`, never
 *   again.
 * - `partition_column`: the integer column whose ranges split the read across `parallelism`
 *   instances (default: the primary key's first column).
 * - `batch_size`, `bigint` (`bigint` | `string`), `zero_dates` (`fail` | `null`).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SourceConfig = Schema.Struct({
  connection_string: ConnectionString,
  password: Schema.optionalKey(Password),
  ...SqlTableSource.ReadFields({
    table: TableName.annotate({ description: "The table to read (database.table allowed); exactly one of table or query" }),
    partition: "The integer column"
  }),
  ...ValueFields
}).check(Schema.makeFilter(SqlTableSource.checkReadFields))

/**
 * @category schemas
 * @since 0.4.0
 */
export type SourceConfig = typeof SourceConfig.Type

/**
 * Config of the `mysql` sink.
 *
 * - `connection_string`, `password`, `table` (`database.table` allowed; the table must exist).
 * - `mode`: `insert` (default), `upsert` (`INSERT ... ON DUPLICATE KEY UPDATE` of the record's
 *   fields, by the table's primary or unique key) or `replace` (the table is emptied once, in the
 *   first transaction, then rows are inserted).
 * - `key`: the columns identifying a row for `upsert` and for deletes of change records (default:
 *   the primary key). It must be the primary key or a unique key of the table.
 * - `guarantee`: `exactly-once` (default) or `at-least-once`. Exactly-once `insert` / `replace`
 *   commit each checkpoint's rows with an XA transaction prepared at the checkpoint and committed
 *   when it completes; `upsert` is exactly-once either way (idempotent).
 * - `checkpoint_table` / `workflow`: where the committed checkpoint ids are kept (default
 *   `dataflare_checkpoints`, workflow: the workflow's name).
 * - `on_error`: `fail` (default: a refused row fails the run, named) or `dead_letter`: refused rows
 *   are written with the reason to `dead_letter.path` (NDJSON, bounded by `dead_letter.max_bytes`)
 *   and the others go on (the kit's `DeadLetter`).
 * - `retry`: `{ attempts, delay, max_delay }` for transient errors (the kit's `Retry`: 5 retries
 *   from 100ms, doubling, with jitter).
 *
 * @category schemas
 * @since 0.4.0
 */
export const SinkConfig = DeadLetter.withSinkErrorHandling({
  connection_string: ConnectionString,
  password: Schema.optionalKey(Password),
  table: TableName.annotate({ description: "The target table (database.table allowed); it must exist" }),
  mode: Schema.optionalKey(Schema.Literals(["insert", "upsert", "replace"]).annotate({
    description: "insert; upsert (INSERT ... ON DUPLICATE KEY UPDATE); replace: empty the table once, then insert",
    default: "insert"
  })),
  key: Schema.optionalKey(Schema.NonEmptyArray(Schema.NonEmptyString).annotate({
    description: "The columns identifying a row (upsert, deletes of change records): the primary key or a unique key (default: the primary key)"
  })),
  guarantee: Schema.optionalKey(Schema.Literals(["exactly-once", "at-least-once"]).annotate({
    description: "exactly-once commits insert/replace rows with their checkpoint (XA); at-least-once commits at once (rows may be written again after a crash)",
    default: "exactly-once"
  })),
  checkpoint_table: Schema.optionalKey(TableName.annotate({
    description: "Where committed checkpoint ids are kept (in the target's database unless qualified; <checkpoint_table>_xa beside it)",
    default: "dataflare_checkpoints"
  })),
  workflow: Schema.optionalKey(Schema.NonEmptyString.annotate({
    description: "The workflow name stored with the checkpoint ids (default: the workflow's name)"
  })),
  ...Retry.RetryFields
})

/**
 * @category schemas
 * @since 0.4.0
 */
export type SinkConfig = typeof SinkConfig.Type

/**
 * Config of the `mysql-cdc` source (the server must write its binlog in `ROW` format).
 *
 * - `connection_string`, `password`: a user with `REPLICATION SLAVE` and `REPLICATION CLIENT`
 *   (and `SELECT` on the tables, for their column names).
 * - `tables`: the tables streamed, as `database.table` (or `table` in the connection's database).
 * - `server_id`: the replica id this reader announces (unique among the server's replicas).
 * - `start`: where a first run starts: `end` (default: changes made from now on) or `beginning`
 *   (the oldest binlog the server still has).
 * - `snapshot`: on a first run, read every row of `tables` first (as `op: read` records, in
 *   one consistent snapshot; each table needs a primary key), then stream the binlog from the
 *   position of that snapshot (MariaDB).
 * - `batch_size`, `bigint`, `zero_dates`: as for the table source.
 *
 * @category schemas
 * @since 0.4.0
 */
export const CdcConfig = Schema.Struct({
  connection_string: ConnectionString,
  password: Schema.optionalKey(Password),
  tables: Schema.NonEmptyArray(TableName).annotate({
    description: "The tables streamed: database.table, or table in the connection's database"
  }),
  server_id: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4294967295 })).annotate({
    description: "The replica id this reader announces: unique among the server's replicas (give each workflow its own)"
  }),
  start: Schema.optionalKey(Schema.Literals(["end", "beginning"]).annotate({
    description: "Where a first run starts: end (changes from now on) or beginning (the oldest binlog the server has)",
    default: "end"
  })),
  snapshot: Schema.optionalKey(Schema.Boolean.annotate({
    description: "On a first run, read every row of tables first (op: read), then stream from the snapshot's position",
    default: false
  })),
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Changes per batch (default: execution.batch_size)" })),
  ...ValueFields
}).check(
  Schema.makeFilter((c) =>
    c.snapshot === true && c.start === "beginning"
      ? { path: ["start"], issue: "snapshot: true reads the tables as they are, then streams from that point: start does not apply" }
      : undefined
  )
)

/**
 * @category schemas
 * @since 0.4.0
 */
export type CdcConfig = typeof CdcConfig.Type
