/**
 * The `postgres` source: a table or a query read through a server-side cursor, in batches.
 *
 * - **Snapshot** of a table: `DECLARE ... CURSOR` inside a `REPEATABLE READ READ ONLY`
 *   transaction, `FETCH FORWARD n` per batch, so memory stays flat whatever the table size. A
 *   table with a primary key is read in key order and its position is the last key, so `seek`
 *   resumes exactly; a query (or a table without a key) is positioned by row count.
 * - **Incremental** (`incremental: { column, initial_value }`): rows with
 *   `(column, key) > (last cursor, last key)` in that order, so rows sharing a cursor value are
 *   neither lost nor read twice. The position `{ cursor, key }` holds the server's text of the
 *   values (exact for timestamps with microseconds).
 * - **Parallel**: with `parallelism: n`, instance `i` reads the `i`-th range of the primary key's
 *   first column (or `partition_column`); integer columns split `[min, max]` evenly, other types
 *   by percentiles. The range is kept in the position, so a restore reads the same range.
 *
 * Types are decoded by `@effect/sql-pg`: `int2`/`int4`/floats → number, `int8` → bigint (or
 * string with `bigint: string`), `numeric` → string, timestamps → `Date` (milliseconds), `date`
 * → string, `json`/`jsonb` → parsed value, arrays → arrays, `uuid` → string, `bytea` →
 * `Uint8Array`. {@link discover} prints the matching Schema.
 *
 * @since 0.1.0
 */
import type { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Redacted, type Scope } from "effect"
import type { Fragment } from "effect/sql/Statement"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import * as Spec from "../../Spec.ts"
import type { ConnectorError } from "../../Errors.ts"
import { type Column, COLUMNS_SQL, isInteger, primaryKey, toColumns } from "./internal/catalog.ts"
import { splitName, sqlSession } from "./internal/client.ts"
import { schemaText } from "./internal/discover.ts"
import { SourceConfig } from "./PostgresConfig.ts"
import { classify, configurationError } from "./PostgresError.ts"

const CONNECTOR = "postgres"
const CURSOR_KEY = "__df_c"
const KEY_PREFIX = "__df_k"

/**
 * A row read by the `postgres` source (its type comes from the table; see {@link discover}).
 *
 * @category models
 * @since 0.1.0
 */
export type Row = { readonly [column: string]: unknown }

type Range = { readonly lo: string | null; readonly hi: string | null } | "empty" | undefined

interface Plan {
  readonly sql: PgClient.PgClient
  readonly table: string | undefined
  readonly key: ReadonlyArray<string>
  readonly cursorColumn: string | undefined
  readonly partitionColumn: string | undefined
}

interface State {
  offset: number
  cursor: string | number | null
  key: ReadonlyArray<string> | null
  range: Range
}

const fetchColumns = (sql: PgClient.PgClient, table: string) => {
  const [schema, name] = splitName(table)
  return sql.unsafe<{ readonly [k: string]: unknown }>(COLUMNS_SQL, [name, schema ?? null]).pipe(Effect.map(toColumns))
}

/** Splits the partition column into `parallelism` ranges and returns this instance's. */
const computeRange = Effect.fnUntraced(function*(
  sql: PgClient.PgClient,
  table: string,
  column: Column,
  instance: number,
  parallelism: number
) {
  if (parallelism <= 1) return undefined
  const bounds: Array<string> = []
  if (isInteger(column)) {
    const rows = yield* sql<{ lo: string | null; hi: string | null }>`SELECT min(${sql(column.name)})::text AS lo, max(${
      sql(column.name)
    })::text AS hi FROM ${sql(table)}`
    const { lo, hi } = rows[0]
    if (lo === null || hi === null) return instance === 0 ? undefined : ("empty" as const)
    const min = BigInt(lo)
    const span = BigInt(hi) - min + 1n
    for (let i = 1; i < parallelism; i++) bounds.push(String(min + (span * BigInt(i)) / BigInt(parallelism)))
  } else {
    const fractions = Array.from({ length: parallelism - 1 }, (_, i) => (i + 1) / parallelism)
    const rows = yield* sql<{ b: ReadonlyArray<string> | null }>`SELECT (percentile_disc(${fractions}::float8[]) WITHIN GROUP (ORDER BY ${
      sql(column.name)
    }))::text[] AS b FROM ${sql(table)}`
    const b = rows[0].b
    if (b === null) return instance === 0 ? undefined : ("empty" as const)
    bounds.push(...b)
  }
  return { lo: instance === 0 ? null : bounds[instance - 1], hi: instance === parallelism - 1 ? null : bounds[instance] }
})

const buildStatement = (plan: Plan, config: SourceConfig, state: State): Fragment | "empty" => {
  const { sql } = plan
  if (plan.table === undefined) return sql.literal(config.query!)
  if (state.range === "empty") return "empty"
  const t = sql("t")
  const extra: Array<Fragment> = []
  if (plan.cursorColumn !== undefined) extra.push(sql`${t}.${sql(plan.cursorColumn)}::text AS ${sql(CURSOR_KEY)}`)
  for (let i = 0; i < plan.key.length; i++) extra.push(sql`${t}.${sql(plan.key[i])}::text AS ${sql(KEY_PREFIX + i)}`)
  const where: Array<Fragment> = []
  const range = state.range
  if (range !== undefined && plan.partitionColumn !== undefined) {
    const col = sql`${t}.${sql(plan.partitionColumn)}`
    if (range.lo !== null) where.push(sql`${col} >= ${range.lo}`)
    if (range.hi !== null) where.push(sql`(${col} < ${range.hi} OR ${range.lo === null ? sql`${col} IS NULL` : sql`false`})`)
  }
  const orderCols: Array<Fragment> = []
  if (plan.cursorColumn !== undefined) orderCols.push(sql`${t}.${sql(plan.cursorColumn)}`)
  for (const k of plan.key) orderCols.push(sql`${t}.${sql(k)}`)
  if (plan.cursorColumn !== undefined) {
    if (state.cursor !== null && state.key !== null) {
      where.push(sql`(${sql.csv(orderCols)}) > (${sql.csv([state.cursor, ...state.key].map((v) => sql`${v}`))})`)
    } else if (state.cursor !== null) {
      where.push(sql`${t}.${sql(plan.cursorColumn)} > ${state.cursor}`)
    }
  } else if (state.key !== null && plan.key.length > 0) {
    where.push(sql`(${sql.csv(orderCols)}) > (${sql.csv(state.key.map((v) => sql`${v}`))})`)
  }
  const select = extra.length > 0 ? sql`${t}.*, ${sql.csv(extra)}` : sql`${t}.*`
  const filter = where.length > 0 ? sql`WHERE ${sql.and(where)}` : sql.literal("")
  const order = orderCols.length > 0 ? sql`ORDER BY ${sql.csv(orderCols)}` : sql.literal("")
  return sql`SELECT ${select} FROM ${sql(plan.table)} ${t} ${filter} ${order}`
}

const toPosition = (state: State, plan: Plan): Batch.Position => {
  const range = state.range === undefined ? null : state.range === "empty" ? "empty" : [state.range.lo, state.range.hi]
  if (plan.cursorColumn !== undefined) return { cursor: state.cursor, key: state.key, range }
  if (plan.table !== undefined && plan.key.length > 0) return { key: state.key, range }
  return { offset: state.offset, range }
}

const fromPosition = (
  position: Batch.Position,
  plan: Plan,
  state: State,
  initial: string | number | null
): boolean => {
  if (position === null || typeof position !== "object" || Array.isArray(position)) return false
  const p = position as { readonly [k: string]: Batch.Position }
  const range = p.range
  state.range = range === "empty"
    ? "empty"
    : Array.isArray(range) && range.length === 2
    ? { lo: range[0] === null ? null : String(range[0]), hi: range[1] === null ? null : String(range[1]) }
    : state.range
  const key = Array.isArray(p.key) ? p.key.map(String) : null
  if (plan.cursorColumn !== undefined) {
    state.cursor = typeof p.cursor === "string" || typeof p.cursor === "number" ? p.cursor : initial
    state.key = key
    return true
  }
  if (plan.table !== undefined && plan.key.length > 0) {
    state.key = key
    return true
  }
  if (typeof p.offset !== "number") return false
  state.offset = p.offset
  return true
}

/**
 * Opens a reader (used by the definition's `open`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeReader = Effect.fnUntraced(function*(
  config: SourceConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<Row>, ConnectorError, Scope.Scope> {
  const fail = classify(CONNECTOR, "open")
  const sql = yield* sqlSession(CONNECTOR, config.connection_string)
  let key: ReadonlyArray<string> = []
  let partitionColumn: string | undefined
  let range: Range
  if (config.table !== undefined) {
    const columns = yield* fetchColumns(sql, config.table).pipe(Effect.mapError(fail))
    if (columns.length === 0) return yield* configurationError(CONNECTOR, "open", `table '${config.table}' does not exist`)
    key = primaryKey(columns)
    const inc = config.incremental
    if (inc !== undefined && !columns.some((c) => c.name === inc.column)) {
      return yield* configurationError(CONNECTOR, "open", `incremental column '${inc.column}' is not a column of '${config.table}'`)
    }
    if (inc !== undefined && key.length === 0) {
      return yield* configurationError(CONNECTOR, "open", `incremental mode needs a primary key on '${config.table}'`)
    }
    partitionColumn = config.partition_column ?? key[0]
    if (context.parallelism > 1) {
      const column = columns.find((c) => c.name === partitionColumn)
      if (column === undefined) {
        return yield* configurationError(CONNECTOR, "open", `parallelism ${context.parallelism} needs a primary key or a partition_column`)
      }
      range = yield* computeRange(sql, config.table, column, context.instance, context.parallelism).pipe(Effect.mapError(fail))
    }
  } else if (context.parallelism > 1 && context.instance > 0) {
    range = "empty"
  }
  const plan: Plan = { sql, table: config.table, key, cursorColumn: config.incremental?.column, partitionColumn }
  const initial = config.incremental?.initial_value
  const state: State = { offset: 0, cursor: initial ?? null, key: null, range }
  const bigintAsString = config.bigint === "string"
  const batchSize = config.batch_size ?? context.batchSize
  let open = false
  let done = false

  const closeCursor = Effect.suspend(() => {
    if (!open) return Effect.void
    open = false
    return sql.unsafe("CLOSE df_cursor").pipe(Effect.andThen(sql.unsafe("COMMIT")), Effect.asVoid)
  })
  const openCursor = Effect.gen(function*() {
    yield* closeCursor
    if (plan.table === undefined && state.range === "empty") {
      done = true
      return
    }
    const statement = buildStatement(plan, config, state)
    if (statement === "empty") {
      done = true
      return
    }
    yield* sql.unsafe("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    open = true
    yield* sql`DECLARE df_cursor NO SCROLL CURSOR FOR ${statement}`
    if (plan.table === undefined || plan.key.length === 0) {
      if (state.offset > 0) yield* sql.unsafe(`MOVE FORWARD ${Math.trunc(state.offset)} FROM df_cursor`)
    }
    done = false
  })
  yield* Effect.addFinalizer(() => closeCursor.pipe(Effect.ignore))
  yield* openCursor.pipe(Effect.mapError(fail))

  const readBatch = (max: number) =>
    Effect.gen(function*() {
      if (done) return undefined
      const n = Math.max(1, Math.trunc(Math.min(max, batchSize)))
      const rows = (yield* sql.unsafe<{ [k: string]: unknown }>(`FETCH FORWARD ${n} FROM df_cursor`)) as Array<
        { [k: string]: unknown }
      >
      if (rows.length === 0) {
        done = true
        yield* closeCursor
        return undefined
      }
      const last = rows[rows.length - 1]
      if (plan.cursorColumn !== undefined) state.cursor = last[CURSOR_KEY] as string
      if (plan.key.length > 0) state.key = plan.key.map((_, i) => last[KEY_PREFIX + i] as string)
      state.offset += rows.length
      stripAndConvert(rows, plan.cursorColumn !== undefined, plan.key.length, bigintAsString)
      const readAt = yield* Clock.currentTimeMillis
      return Batch.make<Row>(rows, { origin: { source: context.node, position: toPosition(state, plan) }, readAt })
    }).pipe(Effect.mapError(classify(CONNECTOR, "read")))

  return {
    readBatch,
    position: Effect.sync(() => toPosition(state, plan)),
    seek: (position) =>
      Effect.suspend(() => {
        if (!fromPosition(position, plan, state, initial ?? null)) {
          return Effect.fail(configurationError(CONNECTOR, "seek", `not a position of this source: ${JSON.stringify(position)}`))
        }
        return openCursor.pipe(Effect.mapError(classify(CONNECTOR, "seek")))
      }),
    commit: () => Effect.void
  }
})

/** Removes the helper columns (last added first, which keeps V8's fast object shape) and maps bigints. */
const stripAndConvert = (
  rows: Array<{ [k: string]: unknown }>,
  hasCursor: boolean,
  keyCount: number,
  bigintAsString: boolean
): void => {
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    for (let i = keyCount - 1; i >= 0; i--) delete row[KEY_PREFIX + i]
    if (hasCursor) delete row[CURSOR_KEY]
    if (bigintAsString) {
      for (const k in row) {
        const v = row[k]
        if (typeof v === "bigint") row[k] = v.toString()
        else if (Array.isArray(v) && v.length > 0 && typeof v[0] === "bigint") row[k] = v.map(String)
      }
    }
  }
}

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
  description: "Reads a PostgreSQL table or query with a server-side cursor (snapshot, incremental, partitioned)",
  config: SourceConfig,
  capabilities: (config) => ({
    seekable: true,
    unbounded: false,
    ...(config.batch_size !== undefined ? { preferredBatchSize: config.batch_size } : {})
  }),
  check: (config) =>
    Effect.scoped(
      Effect.gen(function*() {
        const sql = yield* sqlSession(CONNECTOR, config.connection_string)
        if (config.table !== undefined) {
          const columns = yield* fetchColumns(sql, config.table).pipe(Effect.mapError(classify(CONNECTOR, "check")))
          if (columns.length === 0) return yield* configurationError(CONNECTOR, "check", `table '${config.table}' does not exist`)
        } else {
          yield* sql`SELECT 1`.pipe(Effect.mapError(classify(CONNECTOR, "check")))
        }
      })
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
      const sql = yield* sqlSession(CONNECTOR, url)
      const columns = yield* fetchColumns(sql, table).pipe(Effect.mapError(classify(CONNECTOR, "discover")))
      if (columns.length === 0) return yield* configurationError(CONNECTOR, "discover", `table '${table}' does not exist`)
      return schemaText(table, columns, options?.bigint ?? "bigint", options?.name)
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
