/**
 * The SQL table source: what a source reading a database table or query needs besides its client
 * calls, the same for every SQL database (the `postgres` and `mysql` sources are built on it).
 *
 * - **Config** ({@link ReadFields}, {@link checkReadFields}): `table` or `query` (exactly one),
 *   `incremental: { column, initial_value }` (table only; `initial_value` is exclusive),
 *   `batch_size`, `partition_column` (table only) — one spelling, one set of refusals.
 * - **Plan** ({@link plan}): checks the config against the catalog when the source opens — the
 *   table exists, the incremental column is one of its columns and it has a primary key to break
 *   cursor ties, the partition column exists (and can split the read, when `parallelism > 1`), a
 *   query returns no two columns of one name (a record would silently keep one) — and computes
 *   this instance's range of the partition column. The result is the {@link ReadPlan} (what is
 *   read) and the initial {@link ReadState} (where the read is).
 * - **Reader** ({@link reader}): `readBatch` starts the connector's read from the state on first
 *   use, reads blocks of at most `min(max, batch_size)` rows, decodes them into a batch carrying
 *   the position after it, and ends at the end of the read; `seek` sets the state from a position
 *   and drops a read in flight (a streaming result cannot be stopped on its session: the next one
 *   runs on a new session); `commit` does nothing (a table is not acknowledged).
 * - **Check** ({@link check}): `dataflare check` of the same config — the table and its
 *   incremental column exist, or the query runs.
 *
 * What stays the connector's: the catalog queries, the statement that continues a read from a
 * {@link ReadState} and how a block of rows moves it (SQL dialects differ), its positions' Schema
 * (stored in checkpoints), and the decoding of values.
 *
 * @since 0.4.0
 */
import { Clock, Effect, Schema } from "effect"
import type * as Batch from "../../Batch.ts"
import type { Position } from "../../Batch.ts"
import type { OpenContext, ReadAhead, SourceReader } from "../../Connector.ts"
import * as Classify from "./Classify.ts"
import { ConnectorError, RecordError } from "../../Errors.ts"

/**
 * A column as the table source needs it (connectors add their catalog's details).
 *
 * @category models
 * @since 0.4.0
 */
export interface Column {
  readonly name: string
}

/**
 * An instance's range `[lo, hi)` of the partition column (`null`: open), `"empty"` when the
 * instance has nothing to read, `undefined` when the read is not split.
 *
 * @category models
 * @since 0.4.0
 */
export type Range = { readonly lo: string | null; readonly hi: string | null } | "empty" | undefined

/**
 * What the source reads.
 *
 * @category models
 * @since 0.4.0
 */
export interface ReadPlan<C extends Column> {
  /** The table (qualified names allowed), or undefined for a query. */
  readonly table: string | undefined
  readonly query: string | undefined
  /** The columns as the read returns them (the table's, or the query's). */
  readonly columns: ReadonlyArray<C>
  /** The primary key's columns (empty: none, or a query). */
  readonly key: ReadonlyArray<string>
  /** The incremental column. */
  readonly cursor: C | undefined
  /** The column whose ranges split the read across instances. */
  readonly partition: C | undefined
}

/**
 * Where the read is (mutated as batches are read): rows read, the last cursor value and key read
 * (as the server's text), the instance's range.
 *
 * @category models
 * @since 0.4.0
 */
export interface ReadState<K = string | null> {
  offset: number
  cursor: string | null
  key: ReadonlyArray<K> | null
  range: Range
}

/**
 * The config keys of a table source, as {@link ReadFields} declares them.
 *
 * @category models
 * @since 0.4.0
 */
export interface ReadConfig {
  readonly table?: string | undefined
  readonly query?: string | undefined
  readonly incremental?: { readonly column: string; readonly initial_value?: string | number | undefined } | undefined
  readonly batch_size?: number | undefined
  readonly partition_column?: string | undefined
}

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * The config fields of a table source, to spread into its config Schema (check it with
 * {@link checkReadFields}). `table` is the connector's table-name Schema, described (say how a
 * name may be qualified); `partition` describes which columns can split a read.
 *
 * @category schemas
 * @since 0.4.0
 */
export const ReadFields = <T extends Schema.Top>(options: { readonly table: T; readonly partition: string }) => ({
  table: Schema.optionalKey(options.table),
  query: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "A SELECT to read instead of a table (runs as written); exactly one of table or query" })),
  incremental: Schema.optionalKey(
    Schema.Struct({
      column: Schema.NonEmptyString.annotate({ description: "The column whose values grow: rows after the last position are read" }),
      initial_value: Schema.optionalKey(
        Schema.Union([Schema.String, Schema.Number]).annotate({ description: "Read rows whose column is greater than this (exclusive)" })
      )
    }).annotate({ description: "Read only rows after the last position (table only)" })
  ),
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Rows per batch (default: execution.batch_size)" })),
  partition_column: Schema.optionalKey(Schema.NonEmptyString.annotate({
    description: `${options.partition} whose ranges split the read across parallelism instances (default: the primary key's first column)`
  }))
})

/**
 * The refusals of a table source's config, for `Schema.makeFilter`: exactly one of `table` and
 * `query`; `incremental` and `partition_column` only with `table`.
 *
 * @category schemas
 * @since 0.4.0
 */
export const checkReadFields = (c: ReadConfig): string | { readonly path: ReadonlyArray<string>; readonly issue: string } | undefined => {
  if ((c.table === undefined) === (c.query === undefined)) return "exactly one of 'table' or 'query' must be set"
  if (c.incremental !== undefined && c.table === undefined) {
    return { path: ["incremental"], issue: "incremental mode needs 'table' (its primary key breaks cursor ties)" }
  }
  if (c.partition_column !== undefined && c.table === undefined) {
    return { path: ["partition_column"], issue: "partitioning needs 'table'" }
  }
  return undefined
}

/**
 * The connector's catalog calls. Errors are the connector's, classified by it.
 *
 * @category models
 * @since 0.4.0
 */
export interface Catalog<C extends Column, E> {
  /** The table's columns (empty when it does not exist) and its primary key. */
  readonly table: (table: string) => Effect.Effect<{ readonly columns: ReadonlyArray<C>; readonly key: ReadonlyArray<string> }, E>
  /** The columns a query returns. */
  readonly query: (query: string) => Effect.Effect<ReadonlyArray<C>, E>
  /** This instance's range of the partition column (`parallelism > 1`). */
  readonly range: (table: string, partition: C, instance: number, parallelism: number) => Effect.Effect<Range, E>
  /** Why the column cannot split a read (`undefined`: it can). Default: any column can. */
  readonly cannotPartition?: (column: C) => string | undefined
}

const refused = Classify.configurationError

/**
 * Checks the config against the catalog and returns what to read and the state before the first
 * row (see the module documentation).
 *
 * @category constructors
 * @since 0.4.0
 */
export const plan = <C extends Column, E>(
  connector: string,
  config: ReadConfig,
  context: Pick<OpenContext, "instance" | "parallelism">,
  catalog: Catalog<C, E>
): Effect.Effect<{ readonly plan: ReadPlan<C>; readonly state: ReadState<never> }, E | ConnectorError> =>
  Effect.gen(function*() {
    const inc = config.incremental
    let columns: ReadonlyArray<C>
    let key: ReadonlyArray<string> = []
    let partition: C | undefined
    let range: Range
    if (config.table !== undefined) {
      const table = config.table
      const info = yield* catalog.table(table)
      columns = info.columns
      if (columns.length === 0) return yield* refused(connector, "open", `table '${table}' does not exist`)
      key = info.key
      if (inc !== undefined && !columns.some((c) => c.name === inc.column)) {
        return yield* refused(connector, "open", `incremental column '${inc.column}' is not a column of '${table}'`)
      }
      if (inc !== undefined && key.length === 0) {
        return yield* refused(connector, "open", `incremental mode needs a primary key on '${table}'`)
      }
      const partitionName = config.partition_column ?? key[0]
      partition = columns.find((c) => c.name === partitionName)
      if (config.partition_column !== undefined && partition === undefined) {
        return yield* refused(connector, "open", `partition_column '${config.partition_column}' is not a column of '${table}'`)
      }
      if (context.parallelism > 1) {
        const why = partition === undefined ? "a primary key or a partition_column" : catalog.cannotPartition?.(partition)
        if (partition === undefined || why !== undefined) {
          return yield* refused(connector, "open", `parallelism ${context.parallelism} needs ${why}`)
        }
        range = yield* catalog.range(table, partition, context.instance, context.parallelism)
      }
    } else {
      columns = yield* catalog.query(config.query!)
      const names = new Set<string>()
      for (const c of columns) {
        if (names.has(c.name)) return yield* refused(connector, "open", `the query returns two columns named '${c.name}': alias one of them`)
        names.add(c.name)
      }
      // a query is read whole by one instance (maxParallelism: 1)
      if (context.instance > 0) range = "empty"
    }
    const cursor = inc === undefined ? undefined : columns.find((c) => c.name === inc.column)
    const initial = inc?.initial_value === undefined ? null : String(inc.initial_value)
    return {
      plan: { table: config.table, query: config.query, columns, key, cursor, partition },
      state: { offset: 0, cursor: initial, key: null, range }
    }
  })

/**
 * `dataflare check` of a table source: the table exists and has the incremental column, or the
 * query runs (its columns are read).
 *
 * @category constructors
 * @since 0.4.0
 */
export const check = <C extends Column, E>(
  connector: string,
  config: ReadConfig,
  catalog: Pick<Catalog<C, E>, "table" | "query">
): Effect.Effect<void, E | ConnectorError> =>
  Effect.gen(function*() {
    if (config.table === undefined) return yield* Effect.asVoid(catalog.query(config.query!))
    const table = config.table
    const { columns } = yield* catalog.table(table)
    if (columns.length === 0) return yield* refused(connector, "check", `table '${table}' does not exist`)
    const inc = config.incremental
    if (inc !== undefined && !columns.some((c) => c.name === inc.column)) {
      return yield* refused(connector, "check", `incremental column '${inc.column}' is not a column of '${table}'`)
    }
  })

/**
 * A read in flight: the connector's streaming result, handing out blocks of rows.
 *
 * @category models
 * @since 0.4.0
 */
export interface Read<Block> {
  /** At most `n` rows (at least one), or `undefined` at the end of the result. */
  readonly next: (n: number) => Promise<Block | undefined>
  /** Rows buffered now and the most buffered at once (a streaming result read ahead of `next`). */
  readonly readAhead?: () => { readonly held: number; readonly peak: number }
}

/**
 * What {@link reader} needs from the connector.
 *
 * @category models
 * @since 0.4.0
 */
export interface ReaderOptions<Row, Block, K> {
  readonly connector: string
  readonly context: OpenContext
  /** Rows per batch at most (the config's `batch_size`, else the run's). */
  readonly batchSize: number
  /**
   * The most rows a {@link Read} buffers ahead (its high-water mark plus what arrives after its
   * socket is paused): with it, the reader reports its read-ahead ({@link SourceReader.readAhead}).
   */
  readonly readAheadBound?: number
  /** The state {@link plan} returned; the reader and the connector's functions share it. */
  readonly state: ReadState<K>
  /**
   * Starts the read continuing from the state (a fresh session when one ran before), skipping
   * what a position by row count covers; `"empty"` when there is nothing to read.
   */
  readonly start: Effect.Effect<Read<Block> | "empty", unknown>
  /** Closes the read's session (a streaming result cannot be stopped on it). */
  readonly stop: Effect.Effect<void>
  /** Moves the state past a block. */
  readonly advance: (block: Block) => void
  /**
   * The batch of a block, whose first row is row `first` of the read (for messages), with the
   * batch options (origin with the position after it, read time). May throw a `RecordError`.
   */
  readonly batch: (block: Block, first: number, options: Batch.MakeOptions) => Batch.Batch<Row>
  /** The position of the state. */
  readonly position: () => Position
  /** Sets the state from a position; false when it is not one of this source's. */
  readonly seek: (position: Position) => Effect.Effect<boolean, ConnectorError>
  /** Classifies a failed read. */
  readonly classify: (error: unknown) => ConnectorError
}

/**
 * The reader of a table source over the connector's read (see the module documentation).
 *
 * @category constructors
 * @since 0.4.0
 */
export const reader = <Row, Block, K>(options: ReaderOptions<Row, Block, K>): SourceReader<Row> => {
  const { state } = options
  let read: Read<Block> | undefined
  let done = false
  // the most rows an earlier read (before a seek) buffered at once
  let earlierPeak = 0
  const stop = Effect.suspend(() => {
    earlierPeak = Math.max(earlierPeak, read?.readAhead?.().peak ?? 0)
    read = undefined
    return options.stop
  })

  const readBatch = (max: number): Effect.Effect<Batch.Batch<Row> | undefined, ConnectorError | RecordError> =>
    Effect.gen(function*() {
      if (done) return undefined
      if (read === undefined) {
        const started = yield* options.start
        if (started === "empty") {
          done = true
          return undefined
        }
        read = started
      }
      const r = read
      const n = Math.max(1, Math.trunc(Math.min(max, options.batchSize)))
      const block = yield* Effect.tryPromise({ try: () => r.next(n), catch: (e) => e })
      if (block === undefined) {
        done = true
        yield* stop
        return undefined
      }
      const first = state.offset
      options.advance(block)
      const readAt = yield* Clock.currentTimeMillis
      const batchOptions: Batch.MakeOptions = { origin: { source: options.context.node, position: options.position() }, readAt }
      return yield* Effect.try({ try: () => options.batch(block, first, batchOptions), catch: (e) => e })
    }).pipe(Effect.mapError((e) => (e instanceof RecordError || e instanceof ConnectorError ? e : options.classify(e))))

  const bound = options.readAheadBound
  const readAhead = (limit: number) => (): ReadAhead => {
    const now = read?.readAhead?.()
    return { held: now?.held ?? 0, peak: Math.max(earlierPeak, now?.peak ?? 0), bound: limit }
  }

  return {
    readBatch,
    ...(bound === undefined ? {} : { readAhead: readAhead(bound) }),
    position: Effect.sync(options.position),
    seek: (position) =>
      Effect.gen(function*() {
        if (!(yield* options.seek(position))) {
          return yield* refused(options.connector, "seek", `not a position of this source: ${JSON.stringify(position)}`)
        }
        done = false
        // a read in flight cannot be stopped on its session: the next one runs on a new session
        if (read !== undefined) yield* stop
      }),
    commit: () => Effect.void
  }
}
