/**
 * The `postgres` source: a table or a query read with `COPY (SELECT ...) TO STDOUT`, in batches.
 *
 * - **Snapshot** of a table: one COPY (one consistent snapshot), read block by block as the
 *   runtime asks for batches, so memory stays flat whatever the table size (the server waits
 *   while the socket is full). A table with a primary key is read in key order and its position
 *   is the last row's key, so `seek` resumes exactly; a query (or a table without a key) is
 *   positioned by row count.
 * - **Incremental** (`incremental: { column, initial_value }`): rows with
 *   `(column, key) > (last cursor, last key)` in that order, so rows sharing a cursor value are
 *   neither lost nor read twice; `initial_value` is exclusive. A NULL cursor sorts before every
 *   value: read once, first, when there is no `initial_value`; never again.
 * - **Parallel**: with `parallelism: n`, instance `i` reads the `i`-th range of the primary key's
 *   first column (or `partition_column`); integer columns split `[min, max]` evenly, other types
 *   by percentiles. The range is kept in the position, so a restore reads the same range.
 * - **Values**: the session fixes its output settings so every type's text is canonical, and
 *   each column is decoded from it exactly (`internal/values.ts`): booleans, `int2`/`int4`/`oid`
 *   numbers, `int8` bigints (or digits with `bigint: string`), floats with NaN/±Infinity/-0,
 *   `bytea` as `Uint8Array`, arrays as arrays; every other type (numeric, date/time types, json,
 *   ...) as the server's text. {@link discover} prints the matching Schema.
 * - **Encoded**: when its only consumer is a sink that writes COPY text as it is
 *   (`OpenContext.encoding` `application/x-postgres-copy`), batches carry the COPY bytes and
 *   decode their records only if something reads them; only the last row's key (and cursor)
 *   fields are read, for the position.
 *
 * @since 0.1.0
 */
import { Effect, Redacted, type Scope } from "effect"
import type pg from "pg"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import { ConnectorError } from "../../Errors.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as SqlTableSource from "../kit/sqlTableSource.ts"
import { type Column, COLUMNS_SQL, isInteger, primaryKey, toColumns } from "./internal/catalog.ts"
import { connectForReading, pgReadSession, quoteIdent, splitName } from "./internal/client.ts"
import { CopyOut, decodeRows, FieldError, lastRowFields, type RowBlock, skipRows } from "./internal/copyOut.ts"
import { schemaText } from "./internal/discover.ts"
import {
  advance,
  copyStatement,
  fieldError,
  decodePosition,
  fromPosition,
  ORDERED_READ_SQL,
  positionFields,
  type Range,
  type ReadPlan,
  type ReadState,
  TablePosition,
  toPosition
} from "./internal/tableRead.ts"
import { resolveShapes, shapeOf, TYPES_SQL } from "./internal/types.ts"
import { type Decoder, decoderOf, type TypeShape } from "./internal/values.ts"
import { tableResource } from "./internal/resources.ts"
import { SourceConfig } from "./PostgresConfig.ts"
import { classify, configurationError } from "./PostgresError.ts"

const CONNECTOR = "postgres"
const COPY_FORMAT = "application/x-postgres-copy"

/**
 * A row read by the `postgres` source (its type comes from the table; see {@link discover}).
 *
 * @category models
 * @since 0.1.0
 */
export type Row = { readonly [column: string]: unknown }

const query = (client: pg.Client, text: string, params?: ReadonlyArray<unknown>) =>
  Effect.tryPromise({
    try: async () => (await client.query(text, params as Array<unknown>)).rows as ReadonlyArray<{ readonly [k: string]: unknown }>,
    catch: (e) => e
  })

/** The columns of `table` (`schema.table` or a name in the search path); empty when it does not exist. */
const columnsOf = (client: pg.Client, table: string) => {
  const [schema, name] = splitName(table)
  return query(client, COLUMNS_SQL, [name, schema ?? null]).pipe(Effect.map(toColumns))
}

/** The shapes of the columns' types (domains resolved, arrays with their element), for decoders and `discover`. */
const shapesOf = (client: pg.Client, columns: ReadonlyArray<Column>) =>
  Effect.tryPromise({
    try: async () => {
      const shapes = new Map<number, TypeShape>()
      await resolveShapes((oids) => client.query(TYPES_SQL, [oids]).then((r) => r.rows), columns.map((c) => c.oid), shapes)
      return shapes
    },
    catch: (e) => e
  })

/** The columns of a query's result (names, `format_type` types, OIDs), from its row description. */
const queryColumns = (client: pg.Client, text: string) =>
  Effect.gen(function*() {
    const described = yield* Effect.tryPromise({
      try: () => client.query(`SELECT * FROM (${text}) AS q LIMIT 0`),
      catch: (e) => e
    })
    const fields = described.fields
    const types = yield* query(
      client,
      "SELECT format_type(o, nullif(m, -1)) AS type FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS u(o, m, i) ORDER BY i",
      [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)]
    )
    return fields.map((f, i): Column => ({
      name: f.name,
      type: String(types[i].type),
      typname: "",
      element: null,
      notNull: false,
      pk: null,
      oid: f.dataTypeID
    }))
  })

/** Splits the partition column into `parallelism` ranges and returns this instance's. */
const computeRange = Effect.fnUntraced(function*(
  client: pg.Client,
  table: string,
  column: Column,
  instance: number,
  parallelism: number
) {
  if (parallelism <= 1) return undefined
  const bounds: Array<string> = []
  const c = quoteIdent(column.name)
  if (isInteger(column)) {
    const rows = yield* query(client, `SELECT min(${c})::text AS lo, max(${c})::text AS hi FROM ${quoteIdent(table)}`)
    const lo = rows[0].lo as string | null
    const hi = rows[0].hi as string | null
    if (lo === null || hi === null) return instance === 0 ? undefined : ("empty" as const)
    const min = BigInt(lo)
    const span = BigInt(hi) - min + 1n
    for (let i = 1; i < parallelism; i++) bounds.push(String(min + (span * BigInt(i)) / BigInt(parallelism)))
  } else {
    const fractions = Array.from({ length: parallelism - 1 }, (_, i) => (i + 1) / parallelism)
    const rows = yield* query(
      client,
      `SELECT (percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY ${c}))::text[] AS b FROM ${quoteIdent(table)}`,
      [fractions]
    )
    const b = rows[0].b as ReadonlyArray<string> | null
    if (b === null) return instance === 0 ? undefined : ("empty" as const)
    bounds.push(...b)
  }
  const range: Range = { lo: instance === 0 ? null : bounds[instance - 1], hi: instance === parallelism - 1 ? null : bounds[instance] }
  return range
})

/** The catalog calls of the kit's table source, on `client`; errors as they are (the caller classifies). */
const catalogOf = (client: pg.Client): SqlTableSource.Catalog<Column, unknown> => ({
  table: (table) => Effect.map(columnsOf(client, table), (columns) => ({ columns, key: primaryKey(columns) })),
  query: (text) => queryColumns(client, text),
  range: (table, column, instance, parallelism) => computeRange(client, table, column, instance, parallelism)
})

/**
 * Opens a reader (used by the definition's `open`): the kit's table source (`kit/sqlTableSource.ts`)
 * over `COPY (SELECT ...) TO STDOUT`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeReader = Effect.fnUntraced(function*(
  config: SourceConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<Row>, ConnectorError, Scope.Scope> {
  const fail = classify(CONNECTOR, "open")
  let client: pg.Client | undefined
  const connect = Effect.tryPromise({ try: () => connectForReading(config.connection_string), catch: fail })
  const disconnect = Effect.suspend(() => {
    const c = client
    client = undefined
    return c === undefined ? Effect.void : Effect.promise(() => c.end().catch(() => undefined))
  })
  yield* Effect.addFinalizer(() => disconnect)
  client = yield* connect
  const session = client
  const planned = yield* SqlTableSource.plan(CONNECTOR, config, context, catalogOf(session)).pipe(
    Effect.mapError((e) => (e instanceof ConnectorError ? e : fail(e)))
  )
  const plan: ReadPlan = planned.plan
  const state: ReadState = planned.state
  const columns = plan.columns
  const shapes = yield* shapesOf(session, columns).pipe(Effect.mapError(fail))
  const bigint = config.bigint ?? "bigint"
  const decoders: ReadonlyArray<Decoder> = columns.map((c) => decoderOf(shapeOf(shapes, c.oid), bigint))
  const names = columns.map((c) => c.name)
  const at = positionFields(plan)
  const initial = state.cursor
  const encoded: Omit<Batch.PostgresCopyEncoded, "bytes"> | undefined = context.encoding === COPY_FORMAT
    ? { format: COPY_FORMAT, columns: names, types: columns.map((c) => c.type), relation: config.table ?? "query" }
    : undefined

  /** Starts the COPY from `state` (on a fresh session when one already ran). */
  const start = Effect.gen(function*() {
    const statement = copyStatement(plan, state)
    if (statement === "empty") return "empty" as const
    if (client === undefined) client = yield* connect
    // (after the catalog queries of `open`, which need their sorts)
    if (plan.table !== undefined) yield* query(client, ORDERED_READ_SQL)
    const copy = new CopyOut(client, statement)
    if (plan.key.length === 0 && state.offset > 0) {
      yield* Effect.tryPromise({ try: () => skipRows(copy, state.offset), catch: (e) => e })
    }
    return copy
  })

  const decode = (bytes: Uint8Array, offset: number): ReadonlyArray<Row> => {
    try {
      return decodeRows(bytes, names, decoders)
    } catch (e) {
      if (e instanceof FieldError) throw fieldError(plan, e, offset + e.row)
      throw e
    }
  }

  return SqlTableSource.reader<Row, RowBlock, string>({
    connector: CONNECTOR,
    context,
    batchSize: config.batch_size ?? context.batchSize,
    state,
    start,
    stop: disconnect,
    advance: (block) => advance(plan, state, at, block.rows, lastRowFields(block.bytes)),
    batch: (block, first, options) => {
      const bytes = block.bytes
      return encoded !== undefined
        ? Batch.encoded<Row>({ ...encoded, bytes }, block.rows, () => decode(bytes, first), options)
        : Batch.make<Row>(decode(bytes, first), options)
    },
    position: () => toPosition(plan, state),
    seek: (position) => Effect.map(decodePosition(position), (decoded) => fromPosition(decoded, plan, state, initial)),
    classify: classify(CONNECTOR, "read")
  })
})

/**
 * The `postgres` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   customers:
 *     type: postgres
 *     parallelism: 2
 *     config:
 *       connection_string: "${PG_CONNECTION}"
 *       table: customers
 *       incremental: { column: updated_at, initial_value: "2023-01-01T00:00:00Z" }
 *       batch_size: 1000
 * ```
 * @category definitions
 * @since 0.1.0
 */
export const PostgresSource = Connector.source<SourceConfig, Row>({
  type: CONNECTOR,
  description: "Reads a PostgreSQL table or query with COPY, every type exact (snapshot, incremental, partitioned)",
  config: SourceConfig,
  capabilities: (config) =>
    Capabilities.table({
      batchSize: config.batch_size,
      encodes: [COPY_FORMAT],
      query: config.query !== undefined ? "a query is read whole by one instance; read a table to split it" : undefined
    }),
  position: () => TablePosition,
  // a snapshot is not disturbed by rows added beside it (shared); an incremental read would read
  // the workflow's own inserts on its next run (not shared)
  resources: (config) => ({
    reads: config.table === undefined
      ? []
      : tableResource(config.connection_string, config.table, ["table"], config.incremental === undefined)
  }),
  check: (config) =>
    Effect.scoped(
      Effect.flatMap(pgReadSession(CONNECTOR, config.connection_string), (client) =>
        SqlTableSource.check(CONNECTOR, config, catalogOf(client)).pipe(
          Effect.mapError((e) => (e instanceof ConnectorError ? e : classify(CONNECTOR, "check")(e)))
        ))
    ),
  open: (config, context) => makeReader(config, context)
})

/**
 * Options for {@link discover}.
 *
 * @category models
 * @since 0.1.0
 */
export interface DiscoverOptions {
  /** How `bigint` columns are typed: `bigint` (default) or `string`. */
  readonly bigint?: "bigint" | "string"
  /** The exported constant's name (default: the table name in PascalCase). */
  readonly name?: string
}

/**
 * Reads a table's columns and prints an Effect Schema (and its TypeScript type) for its rows,
 * matching what the source produces. Backs `dataflare discover <connection> <table>`.
 *
 * @example
 * ```ts
 * const text = yield* PostgresSource.discover(Redacted.make(url), "public.customers")
 * ```
 * @category discovery
 * @since 0.1.0
 */
export const discover = (
  connectionString: Redacted.Redacted<string> | string,
  table: string,
  options?: DiscoverOptions
): Effect.Effect<string, ConnectorError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const url = typeof connectionString === "string" ? Redacted.make(connectionString) : connectionString
      const client = yield* pgReadSession(CONNECTOR, url)
      const columns = yield* columnsOf(client, table).pipe(Effect.mapError(classify(CONNECTOR, "discover")))
      if (columns.length === 0) return yield* configurationError(CONNECTOR, "discover", `table '${table}' does not exist`)
      const shapes = yield* shapesOf(client, columns).pipe(Effect.mapError(classify(CONNECTOR, "discover")))
      return schemaText(table, columns.map((c) => ({ column: c, shape: shapeOf(shapes, c.oid) })), options?.bigint ?? "bigint", options?.name)
    })
  )

/**
 * A typed DSL spec of the `postgres` source: `A` is the row type (e.g. from {@link discover}).
 *
 * @example
 * ```ts
 * const customers = PostgresSource.spec<Customer>({ connection_string: url, table: "customers" })
 * ```
 * @category specs
 * @since 0.1.0
 */
export const spec = <A extends Row = Row>(config: typeof SourceConfig.Encoded): Spec.SourceSpec<A> =>
  Spec.source<A>(CONNECTOR, config)
