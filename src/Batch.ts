/**
 * Batches: the unit that moves between tasks.
 *
 * A batch is a read-only view `[start, end)` over an array of records, plus the metadata the
 * runtime needs: which source node the records came from, the source position *after* the last
 * record (what a checkpoint records and a source later commits), an optional event-time
 * watermark, and when the batch was read (for latency metrics). Slicing a batch creates a new
 * view over the same array: no record is copied.
 *
 * Records are plain immutable objects whose type comes from an Effect `Schema`; they are decoded
 * once, at the source, and never re-validated in the middle of a pipeline.
 *
 * @since 0.1.0
 */

/**
 * A source position: any JSON value the source understands (a byte offset, an LSN, a cursor
 * value and key, a broker offset). The runtime only stores it and hands it back to `seek` and
 * `commit`.
 *
 * @category models
 * @since 0.1.0
 */
export type Position = null | boolean | number | string | ReadonlyArray<Position> | { readonly [key: string]: Position }

/**
 * Where a batch came from: the source node id and the source position after its last record.
 *
 * @category models
 * @since 0.1.0
 */
export interface Origin {
  readonly source: string
  readonly position: Position
}

/**
 * A read-only view over records `[start, end)` of `records`, with metadata.
 *
 * **Gotchas**: `records` is the backing array and may hold records outside the view; always
 * iterate from `start` to `end` (or use {@link toArray} / {@link forEach}).
 *
 * @category models
 * @since 0.1.0
 */
export interface Batch<out A> {
  readonly _tag: "Batch"
  readonly records: ReadonlyArray<A>
  readonly start: number
  readonly end: number
  /** Source node and position after the last record; absent for batches built by hand. */
  readonly origin: Origin | undefined
  /** Event-time watermark (epoch ms) carried with the batch, if the source or an operator set one. */
  readonly watermark: number | undefined
  /** Clock time (epoch ms) when the source produced the batch; used for end-to-end latency. */
  readonly readAt: number
}

/**
 * Options for {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface MakeOptions {
  readonly origin?: Origin | undefined
  readonly watermark?: number | undefined
  readonly readAt?: number | undefined
}

/**
 * Wraps an array of records as a batch. The array is not copied: the caller hands over
 * ownership and must not mutate it afterwards. `start`/`end` make a view over part of the array
 * (default: all of it).
 *
 * @example
 * ```ts
 * const batch = Batch.make([{ id: 1 }, { id: 2 }], { origin: { source: "orders", position: 2 } })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = <A>(records: ReadonlyArray<A>, options?: MakeOptions, start = 0, end = records.length): Batch<A> => ({
  _tag: "Batch",
  records,
  start,
  end,
  origin: options?.origin,
  watermark: options?.watermark,
  readAt: options?.readAt ?? 0
})

/**
 * An empty batch (no records), optionally carrying metadata.
 *
 * @category constructors
 * @since 0.1.0
 */
export const empty = <A = never>(options?: MakeOptions): Batch<A> => make<A>([], options)

/**
 * The number of records in the batch.
 *
 * @category getters
 * @since 0.1.0
 */
export const size = <A>(batch: Batch<A>): number => batch.end - batch.start

/**
 * True when the batch holds no record.
 *
 * @category getters
 * @since 0.1.0
 */
export const isEmpty = <A>(batch: Batch<A>): boolean => batch.end <= batch.start

/**
 * A sub-view `[from, to)` of the batch (indices relative to the view). No record is copied; the
 * metadata is kept.
 *
 * @example
 * ```ts
 * const firstHalf = Batch.slice(batch, 0, Batch.size(batch) / 2)
 * ```
 * @category combinators
 * @since 0.1.0
 */
export const slice = <A>(batch: Batch<A>, from: number, to: number = size(batch)): Batch<A> => {
  const n = size(batch)
  const f = Math.max(0, Math.min(n, from))
  const t = Math.max(f, Math.min(n, to))
  // built like `make` (not spread) so every batch has the same shape and batch reads stay monomorphic
  return make(batch.records, batch, batch.start + f, batch.start + t)
}

/**
 * The records of the view as an array. Returns the backing array itself (no copy) when the view
 * covers all of it.
 *
 * @category getters
 * @since 0.1.0
 */
export const toArray = <A>(batch: Batch<A>): ReadonlyArray<A> =>
  batch.start === 0 && batch.end === batch.records.length ? batch.records : batch.records.slice(batch.start, batch.end)

/**
 * The record at index `i` of the view.
 *
 * @category getters
 * @since 0.1.0
 */
export const get = <A>(batch: Batch<A>, i: number): A => batch.records[batch.start + i]

/**
 * Calls `f` for every record of the view, in order (a plain loop).
 *
 * @category combinators
 * @since 0.1.0
 */
export const forEach = <A>(batch: Batch<A>, f: (record: A, index: number) => void): void => {
  const { records, start, end } = batch
  for (let i = start; i < end; i++) f(records[i], i - start)
}

/**
 * A batch with new records but the same metadata (origin, watermark, read time). Used by
 * processors: the output of a batch covers the same source positions as its input.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withRecords = <A, B>(batch: Batch<A>, records: ReadonlyArray<B>): Batch<B> => ({
  _tag: "Batch",
  records,
  start: 0,
  end: records.length,
  origin: batch.origin,
  watermark: batch.watermark,
  readAt: batch.readAt
})

/**
 * Splits a batch into views of at most `max` records each (no copy). Only the last part keeps
 * the origin: an earlier part does not cover the batch's end position.
 *
 * @category combinators
 * @since 0.1.0
 */
export const chunksOf = <A>(batch: Batch<A>, max: number): Array<Batch<A>> => {
  const n = size(batch)
  if (n <= max) return [batch]
  const out: Array<Batch<A>> = []
  for (let i = 0; i < n; i += max) {
    const part = slice(batch, i, i + max)
    // Only the last part reaches the batch's end position; earlier parts must not claim it.
    out.push(i + max >= n ? part : make(part.records, { watermark: part.watermark, readAt: part.readAt }, part.start, part.end))
  }
  return out
}

/**
 * The records of a batch as the bytes they were read from, when a source can hand them on
 * unparsed (see `SourceCapabilities.encodes`): a sink that understands the format may write the
 * bytes as they are (the `postgres` sink sends CSV bytes to `COPY ... (FORMAT csv)`) instead of
 * encoding the records again.
 *
 * `text/csv`: complete records in RFC 4180 form, in a subset where every reader agrees on the
 * fields — records end with `\n`, no `\r` outside quotes, no empty line, quotes only around
 * whole fields, no record starting with `\`; UTF-8.
 *
 * @category models
 * @since 0.2.0
 */
export interface CsvEncoded {
  readonly format: "text/csv"
  readonly bytes: Uint8Array
  /** The field delimiter (one byte). */
  readonly delimiter: string
  /** The column of each field, in file order. */
  readonly columns: ReadonlyArray<string>
  /** Per column: an empty field is `null` (typed columns) rather than `""` (string columns). */
  readonly emptyIsNull: ReadonlyArray<boolean>
  /** Where the bytes come from, for messages: file and 1-based line of the first record. */
  readonly file: string
  readonly line: number
}

/**
 * `application/x-postgres-copy`: rows in PostgreSQL's COPY text format (tab-separated fields,
 * `\N` for NULL, backslash escapes, each row ending with `\n`, server encoding UTF-8), exactly as
 * `COPY ... TO STDOUT` wrote them. A `postgres` sink whose table has the same columns (names and
 * types) writes them with `COPY ... FROM STDIN` as they are, so every value arrives exact by
 * construction.
 *
 * @category models
 * @since 0.3.0
 */
export interface PostgresCopyEncoded {
  readonly format: "application/x-postgres-copy"
  readonly bytes: Uint8Array
  /** The column of each field, in order. */
  readonly columns: ReadonlyArray<string>
  /** Each column's type as `format_type()` prints it (e.g. `numeric(10,2)`, `timestamp with time zone`). */
  readonly types: ReadonlyArray<string>
  /** Where the rows come from, for messages (a table or `query`). */
  readonly relation: string
}

/**
 * `application/x-ndjson`: the records as NDJSON lines exactly as the `ndjson` codec writes them
 * (each line ending with `\n`, UTF-8). Unlike the other forms, these are not the bytes a source
 * read but the records it hands on, after the nodes fused into it: a source running on its own
 * threads (a parallel `csv` source) encodes them there, so the records do not cross to the main
 * thread as objects, and an `ndjson` file sink writes the bytes as they are. Decoding them
 * (`records`) parses the lines back (a `Date` comes back as its ISO string).
 *
 * @category models
 * @since 0.5.0
 */
export interface NdjsonEncoded {
  readonly format: "application/x-ndjson"
  readonly bytes: Uint8Array
}

/**
 * `application/x-csv-rows`: the records as CSV lines exactly as the `csv` codec writes them for
 * the columns `columns` (no header; each line ending with `\n`, UTF-8), every record holding
 * exactly those fields in that order, each a string, number, boolean, `null` or `bigint`. Like
 * {@link NdjsonEncoded}, the records a source hands on, encoded on its threads (a parallel
 * `ndjson` source for a `csv` sink): a `csv` sink whose columns are these (or that takes its
 * columns from this first batch) writes the bytes as they are. `types` tells each field's kind
 * (see {@link CsvRowType}), so decoding (`records`) gives back the very values.
 *
 * @category models
 * @since 0.5.0
 */
export interface CsvRowsEncoded {
  readonly format: "application/x-csv-rows"
  readonly bytes: Uint8Array
  readonly delimiter: string
  readonly columns: ReadonlyArray<string>
  /** Per record, per column (row-major): the kind of the value (a {@link CsvRowType}). */
  readonly types: Uint8Array
}

/**
 * The kind of a value in {@link CsvRowsEncoded}: 0 a string, 1 a number, 2 a boolean, 3 `null`,
 * 4 a `bigint`.
 *
 * @category models
 * @since 0.5.0
 */
export type CsvRowType = 0 | 1 | 2 | 3 | 4

/**
 * An encoded form of a batch's records (see {@link CsvEncoded}, {@link PostgresCopyEncoded},
 * {@link NdjsonEncoded}, {@link CsvRowsEncoded}).
 *
 * @category models
 * @since 0.2.0
 */
export type Encoded = CsvEncoded | PostgresCopyEncoded | NdjsonEncoded | CsvRowsEncoded

/**
 * Whether an encoded form holds the records a source hands on (after its fused nodes) rather
 * than the bytes it read ({@link NdjsonEncoded}, {@link CsvRowsEncoded}): the planner may then ask for it from a source
 * that runs several instances on its own threads, with nodes fused into it; the other forms
 * exist only at parallelism 1, with nothing fused.
 *
 * @category getters
 * @since 0.5.0
 */
export const isOutputEncoding = (format: Encoded["format"]): boolean => format === "application/x-ndjson" || format === "application/x-csv-rows"

/**
 * A batch whose records are also available encoded; `records` decodes them on first access.
 *
 * @category models
 * @since 0.2.0
 */
export interface EncodedBatch<out A> extends Batch<A> {
  readonly encoded: Encoded
}

class LazyBatch<A> implements EncodedBatch<A> {
  readonly _tag = "Batch"
  readonly start = 0
  readonly end: number
  readonly origin: Origin | undefined
  readonly watermark: number | undefined
  readonly readAt: number
  readonly encoded: Encoded
  private decoded: ReadonlyArray<A> | undefined
  private readonly decode: () => ReadonlyArray<A>
  constructor(encoded: Encoded, count: number, decode: () => ReadonlyArray<A>, options: MakeOptions | undefined) {
    this.encoded = encoded
    this.end = count
    this.decode = decode
    this.origin = options?.origin
    this.watermark = options?.watermark
    this.readAt = options?.readAt ?? 0
  }
  get records(): ReadonlyArray<A> {
    if (this.decoded === undefined) {
      const records = this.decode()
      if (records.length !== this.end) {
        throw new Error(`encoded batch: decoding gave ${records.length} records, the source counted ${this.end}`)
      }
      this.decoded = records
    }
    return this.decoded
  }
}

/**
 * A batch of `count` records held in encoded form. `decode` parses the bytes into the records
 * (exactly `count` of them) the first time `records` is read, and may throw the source's
 * `RecordError` for a record that does not decode — read them through {@link decodeRecords} where
 * that error should be a typed failure.
 *
 * @category constructors
 * @since 0.2.0
 */
export const encoded = <A>(encoded: Encoded, count: number, decode: () => ReadonlyArray<A>, options?: MakeOptions): EncodedBatch<A> =>
  new LazyBatch(encoded, count, decode, options)

/**
 * The encoded form of a batch's records, if the batch carries one.
 *
 * @category getters
 * @since 0.2.0
 */
export const encodedOf = <A>(batch: Batch<A>): Encoded | undefined => batch instanceof LazyBatch ? batch.encoded : undefined

/**
 * The records of a batch, decoding an encoded batch: returns the records, or the error its
 * decoder threw (the source's `RecordError` naming file, line and field).
 *
 * @category getters
 * @since 0.2.0
 */
export const decodeRecords = <A>(batch: Batch<A>): ReadonlyArray<A> | { readonly error: unknown } => {
  try {
    return toArray(batch)
  } catch (error) {
    return { error }
  }
}
