/**
 * The `mysql` source: a MySQL or MariaDB table or query, streamed in batches.
 *
 * - **Snapshot** of a table: one streaming `SELECT` in a `REPEATABLE READ` read-only transaction
 *   with a consistent snapshot, read batch by batch as the runtime asks (the socket is paused
 *   while the buffer is full, so memory stays flat). A table with a primary key is read in key
 *   order and positioned by the last row's key, so `seek` resumes exactly; a query (or a keyless
 *   table) is positioned by row count.
 * - **Incremental** (`incremental: { column, initial_value }`): rows after the last
 *   `(column, key)` read, in that order; `initial_value` is exclusive; NULL cursors are read once,
 *   first (see `internal/tableRead.ts`).
 * - **Parallel**: with `parallelism: n`, instance `i` reads the `i`-th of `n` equal ranges of the
 *   partition column (an integer: the primary key's first column, or `partition_column`); the
 *   range is kept in the position, so a restore reads the same range.
 * - **Values** exact (see `internal/values.ts`): `DECIMAL` as strings, `BIGINT` as `bigint`,
 *   dates and times as the server's text (no time-zone shift), binary strings and `BIT` as bytes,
 *   JSON as its text; a zero date fails naming its column and row, or is `null` (`zero_dates`).
 *
 * @since 0.4.0
 */
import { Effect, type Scope } from "effect"
import type mysql from "mysql2"
import * as Batch from "../../Batch.ts"
import * as Connector from "../../Connector.ts"
import { type ConnectorError, RecordError } from "../../Errors.ts"
import * as Spec from "../../Spec.ts"
import * as Capabilities from "../kit/Capabilities.ts"
import * as SqlTableSource from "../kit/sqlTableSource.ts"
import { type Column, isInteger, tableInfo } from "./internal/catalog.ts"
import { close, connect, quoteColumn, quoteIdent, run, session, tableResourceName } from "./internal/client.ts"
import { RowStream } from "./internal/rowStream.ts"
import {
  advance,
  fromPosition,
  positionFields,
  type Range,
  type ReadPlan,
  type ReadState,
  selectFrom,
  TablePosition,
  toPosition
} from "./internal/tableRead.ts"
import { type Converter, converterOf, hasGeometry, ValueError } from "./internal/values.ts"
import { SourceConfig } from "./MysqlConfig.ts"
import { classify } from "./MysqlError.ts"

const CONNECTOR = "mysql"

/**
 * A row read by the `mysql` source (field per column; values as in the module doc).
 *
 * @category models
 * @since 0.4.0
 */
export type Row = { readonly [column: string]: unknown }

/** The columns of a query's result, from a `LIMIT 0` run of it. */
const queryColumns = (conn: mysql.Connection, query: string) =>
  new Promise<ReadonlyArray<Column>>((resolve, reject) => {
    conn.query({ sql: `SELECT * FROM (${query}) AS dataflare_q LIMIT 0` }, (err, _rows, fields) => {
      if (err !== null) return reject(err)
      resolve((fields ?? []).map((f) => ({ name: f.name, dataType: "", columnType: "", nullable: true })))
    })
  })

/** This instance's range of the partition column. */
const computeRange = async (conn: mysql.Connection, table: string, column: Column, instance: number, parallelism: number): Promise<Range> => {
  if (parallelism <= 1) return undefined
  const c = quoteColumn(column.name)
  const rows = await run<Array<{ lo: string | null; hi: string | null }>>(
    conn,
    `SELECT CAST(MIN(${c}) AS CHAR) AS lo, CAST(MAX(${c}) AS CHAR) AS hi FROM ${quoteIdent(table)}`
  )
  const { hi, lo } = rows[0]
  if (lo === null || hi === null) return instance === 0 ? undefined : "empty"
  const min = BigInt(lo)
  const span = BigInt(hi) - min + 1n
  const bound = (i: number) => String(min + (span * BigInt(i)) / BigInt(parallelism))
  return { lo: instance === 0 ? null : bound(instance), hi: instance === parallelism - 1 ? null : bound(instance + 1) }
}

/** The catalog calls of the kit's table source, on the `open` session. */
const catalogOf = (conn: mysql.Connection, fail: (e: unknown) => ConnectorError, instance = 0, parallelism = 1): SqlTableSource.Catalog<Column, ConnectorError> => ({
  table: (table) =>
    Effect.tryPromise({ try: () => tableInfo(conn, table), catch: fail }).pipe(Effect.map((info) => ({ columns: info.columns, key: info.primaryKey }))),
  query: (query) => Effect.tryPromise({ try: () => queryColumns(conn, query), catch: fail }),
  range: (table, column) => Effect.tryPromise({ try: () => computeRange(conn, table, column, instance, parallelism), catch: fail }),
  cannotPartition: (column) => (isInteger(column) ? undefined : "an integer partition column (the primary key's first column, or partition_column)")
})

/**
 * Opens a reader (used by the definition's `open`): the kit's table source (`kit/sqlTableSource.ts`)
 * over a streaming `SELECT` in a consistent snapshot.
 *
 * @category constructors
 * @since 0.4.0
 */
export const makeReader = Effect.fnUntraced(function*(
  config: SourceConfig,
  context: Connector.OpenContext
): Effect.fn.Return<Connector.SourceReader<Row>, ConnectorError, Scope.Scope> {
  const catalog = yield* session(CONNECTOR, "open", config)
  const planned = yield* SqlTableSource.plan(CONNECTOR, config, context, catalogOf(catalog, classify(CONNECTOR, "open"), context.instance, context.parallelism))
  const plan: ReadPlan = planned.plan
  const state: ReadState = planned.state
  const at = positionFields(plan)
  const geometry = hasGeometry(plan.columns.map((c) => c.dataType))
  const options = { bigint: config.bigint ?? "bigint", zeroDates: config.zero_dates ?? "fail" } as const
  const batchSize = config.batch_size ?? context.batchSize
  /** Rows a streaming read buffers before it pauses the connection. */
  const highWater = Math.max(1000, batchSize * 2)
  let conn: mysql.Connection | undefined
  let names: ReadonlyArray<string> = []
  let converters: ReadonlyArray<Converter> = []

  const disconnect = Effect.suspend(() => {
    const c = conn
    conn = undefined
    return c === undefined ? Effect.void : Effect.promise(() => close(c))
  })
  yield* Effect.addFinalizer(() => disconnect)

  /** Starts the `SELECT` from `state` on a fresh session, in a consistent snapshot. */
  const start = Effect.gen(function*() {
    const statement = selectFrom(plan, state)
    if (statement === "empty") return "empty" as const
    yield* disconnect
    const c = yield* Effect.tryPromise({ try: () => connect(config), catch: (e) => e })
    conn = c
    yield* Effect.tryPromise({
      try: async () => {
        await run(c, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        await run(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
      },
      catch: (e) => e
    })
    const rows = new RowStream(c, statement.sql, statement.values, highWater, geometry)
    for (let left = statement.skip; left > 0;) {
      const skipped = yield* Effect.tryPromise({ try: () => rows.next(Math.min(left, 10_000)), catch: (e) => e })
      if (skipped === undefined) break
      left -= skipped.length
    }
    return {
      readAhead: () => rows.readAhead(),
      next: async (n: number) => {
        const block = await rows.next(n)
        if (converters.length === 0 && rows.fields !== undefined) {
          names = rows.fields.map((f) => f.name)
          converters = rows.fields.map((f) => converterOf(f, options))
        }
        return block
      }
    }
  })

  const toRecords = (rows: ReadonlyArray<ReadonlyArray<unknown>>, first: number): ReadonlyArray<Row> => {
    const out: Array<Row> = new Array(rows.length)
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]
      const record: { [k: string]: unknown } = {}
      for (let i = 0; i < names.length; i++) {
        try {
          record[names[i]] = converters[i](row[i])
        } catch (e) {
          if (!(e instanceof ValueError)) throw e
          const where = plan.key.length > 0
            ? `key (${at.key.map((k) => String(row[k])).join(", ")})`
            : `row ${first + r + 1}`
          throw new RecordError({
            detail: `${config.table ?? "query"}, ${where}: ${e.message}`,
            field: e.column,
            place: { index: r, size: rows.length, source: context.node }
          })
        }
      }
      out[r] = record
    }
    return out
  }

  return SqlTableSource.reader<Row, ReadonlyArray<ReadonlyArray<unknown>>, string | null>({
    connector: CONNECTOR,
    context,
    batchSize,
    // mysql2 queues the packets after a pause instead of handing out their rows
    readAheadBound: highWater,
    state,
    start,
    stop: disconnect,
    advance: (rows) => advance(plan, state, at, rows),
    batch: (rows, first, batchOptions) => Batch.make<Row>(toRecords(rows, first), batchOptions),
    position: () => toPosition(state),
    seek: (position) => Effect.sync(() => fromPosition(position, plan, state)),
    classify: classify(CONNECTOR, "read")
  })
})

/**
 * The `mysql` source definition.
 *
 * @example
 * ```yaml
 * sources:
 *   orders:
 *     type: mysql
 *     config:
 *       connection_string: "mysql://etl@db.internal:3306/shop"
 *       password: "${MYSQL_PASSWORD}"
 *       table: orders
 *       incremental: { column: updated_at, initial_value: "2024-01-01 00:00:00" }
 * ```
 * @category definitions
 * @since 0.4.0
 */
export const MysqlSource = Connector.source<SourceConfig, Row>({
  type: CONNECTOR,
  description: "Reads a MySQL/MariaDB table or query, every value exact (snapshot, incremental, partitioned)",
  config: SourceConfig,
  capabilities: (config) =>
    Capabilities.table({ batchSize: config.batch_size, query: config.table === undefined ? "a query is read whole by one instance" : undefined }),
  position: () => TablePosition,
  // a snapshot is not disturbed by rows added beside it (shared); an incremental read would read
  // the workflow's own inserts on its next run (not shared)
  resources: (config) => {
    const name = config.table === undefined ? undefined : tableResourceName(config, config.table)
    return {
      reads: name === undefined
        ? []
        : [{ kind: "mysql-table", name, key: ["table"], ...(config.incremental === undefined ? { shared: true } : {}) }]
    }
  },
  check: (config) =>
    Effect.scoped(
      Effect.flatMap(session(CONNECTOR, "check", config), (conn) => SqlTableSource.check(CONNECTOR, config, catalogOf(conn, classify(CONNECTOR, "check"))))
    ),
  open: (config, context) => makeReader(config, context)
})

/**
 * A typed DSL spec of the `mysql` source: `A` is the row type.
 *
 * @example
 * ```ts
 * const orders = MysqlSource.spec<Order>({ connection_string: url, table: "orders" })
 * ```
 * @category specs
 * @since 0.4.0
 */
export const spec = <A extends Row = Row>(config: typeof SourceConfig.Encoded): Spec.SourceSpec<A> => Spec.source<A>(CONNECTOR, config)
