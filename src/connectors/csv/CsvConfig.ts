/**
 * The configuration of the `csv` source and sink: one Schema for both, with the keys as a YAML
 * file writes them, and the record types the typed DSL computes from a config.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { readChecks, readFields } from "../../internal/readOptions.ts"
import * as DeadLetter from "../kit/DeadLetter.ts"

/**
 * The type of a column: how a field's text is decoded (source) — `string` is the default for
 * columns not listed.
 *
 * @category models
 * @since 0.1.0
 */
export const ColumnType = Schema.Literals(["string", "integer", "number", "boolean", "timestamp", "json"])

/**
 * @category models
 * @since 0.1.0
 */
export type ColumnType = typeof ColumnType.Type

const fields = {
  path: Schema.NonEmptyString.annotate({ description: "The CSV file to read or write (relative to the current directory)" }),
  delimiter: Schema.optionalKey(
    Schema.String.check(
      Schema.makeFilter((s) =>
        s.length === 1 && s !== '"' && s !== "\n" && s !== "\r" ? true : "expected one character other than a quote or a line break"
      )
    )
  ).annotateKey({ description: "The one character between fields", default: "," }),
  header: Schema.optionalKey(Schema.Boolean.annotate({ description: "The first line names the columns (source); write such a line (sink)", default: true })),
  columns: Schema.optionalKey(
    Schema.Record(Schema.String, ColumnType).annotate({
      description: "Column name → type (string, integer, number, boolean, timestamp, json), in file order; columns not listed are strings"
    })
  ),
  required: Schema.optionalKey(
    Schema.Array(Schema.String).annotate({ description: "Columns whose fields may not be empty (never null); each must be listed in columns" })
  )
}

const requiredListed = () =>
  Schema.makeFilter((c: { readonly required?: ReadonlyArray<string>; readonly columns?: { readonly [name: string]: ColumnType } }) => {
    if (c.required === undefined) return true
    const missing = c.required.filter((name) => c.columns === undefined || !(name in c.columns))
    return missing.length === 0
      ? true
      : { path: ["required"], issue: `required column(s) ${missing.join(", ")} must be listed in columns` }
  })

/**
 * The `csv` config shared by the source and the sink: `path`, `delimiter` (one character,
 * default `,`), `header` (default `true`), `columns` (column name → {@link ColumnType}, in file
 * order) and `required` (columns whose fields may not be empty: their values are never `null`).
 * The sink also takes `on_error: fail | dead_letter` and `dead_letter: { path } | { to }` (the
 * kit's {@link DeadLetter.SinkErrorHandlingFields}) for the records it cannot write.
 *
 * @example
 * ```yaml
 * config:
 *   path: orders.csv
 *   columns: { id: integer, amount: number, created_at: timestamp }
 *   required: [id]
 * ```
 * @category schemas
 * @since 0.1.0
 */
export const CsvConfig = Schema.Struct({ ...fields, ...DeadLetter.SinkErrorHandlingFields }).check(
  requiredListed(),
  Schema.makeFilter((c) => DeadLetter.checkErrorHandling(c))
)

/**
 * The `csv` source config: {@link CsvConfig} and the reading limits shared by file sources
 * (`max_record_bytes`, default 64 MiB; `invalid_utf8`, `error` or `replace`; see docs/limits.md),
 * and what a malformed record does: `on_error: fail` (default) or `dead_letter` with
 * `dead_letter: { path, max_bytes? }` (set aside there, exactly-once with checkpoints).
 *
 * @example
 * ```yaml
 * config:
 *   path: orders.csv
 *   max_record_bytes: 1048576
 *   invalid_utf8: replace
 *   on_error: dead_letter
 *   dead_letter: { path: orders.rejected.ndjson }
 * ```
 * @category schemas
 * @since 0.1.0
 */
export const CsvSourceConfig = Schema.Struct({ ...fields, ...readFields }).check(requiredListed(), readChecks())

/**
 * The decoded `csv` config.
 *
 * @category models
 * @since 0.1.0
 */
export type CsvConfig = typeof CsvConfig.Type

/**
 * The decoded `csv` source config.
 *
 * @category models
 * @since 0.1.0
 */
export type CsvSourceConfig = typeof CsvSourceConfig.Type

/**
 * The `csv` source config as written (what `Csv.source` takes).
 *
 * @category models
 * @since 0.1.0
 */
export type CsvSourceConfigInput = typeof CsvSourceConfig.Encoded

/**
 * The `csv` config as written (what `Csv.sink` takes).
 *
 * @category models
 * @since 0.1.0
 */
export type CsvConfigInput = typeof CsvConfig.Encoded

/**
 * A JSON value (what a `json` column decodes to).
 *
 * @category models
 * @since 0.1.0
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * The value type of a non-empty field of a column type.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ColumnValue<T> = T extends "integer" | "number" ? number
  : T extends "boolean" ? boolean
  : T extends "timestamp" ? Date
  : T extends "json" ? Json
  : string

type RequiredNames<C> = C extends { readonly required: ReadonlyArray<infer R extends string> } ? R : never

/**
 * The record type of a `csv` source with config `C`: the columns listed in `columns`, typed —
 * `string` columns are `string` (an empty field is `""`), other types are `T | null` (an empty
 * field is `null`) unless the column is `required`. Without `columns`, every field is a string.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Row<C> = C extends { readonly columns: infer Columns extends { readonly [k: string]: ColumnType } } ? {
    readonly [K in keyof Columns]: Columns[K] extends "string" ? string
      : K extends RequiredNames<C> ? ColumnValue<Columns[K]>
      : ColumnValue<Columns[K]> | null
  }
  : { readonly [column: string]: string }

/**
 * The value a `csv` sink writes into a column of type `T` (and a `csv` source with the same
 * `columns` reads back): the column's value type, or `null` (an empty field). A `timestamp` column
 * also takes an ISO 8601 string.
 *
 * @category type-level
 * @since 0.1.0
 */
export type SinkValue<T> = (T extends "timestamp" ? Date | string : ColumnValue<T>) | null

/**
 * The record type a `csv` sink with config `C` accepts: records with every column of `columns`,
 * each of a value its column's type reads back ({@link SinkValue}: an `integer` column takes a
 * `number`, not a `string`), or any object without `columns`.
 *
 * @category type-level
 * @since 0.1.0
 */
export type SinkRow<C> = C extends { readonly columns: infer Columns extends { readonly [k: string]: ColumnType } }
  ? { readonly [K in keyof Columns]: SinkValue<Columns[K]> }
  : object
