/**
 * The binlog stream of the `mysql-cdc` source: one `@vlasky/zongji` reader (loaded on first use,
 * so the CLI does not pay for it at start-up), its row changes turned into change records and
 * handed to the source's buffer (the kit's `BufferedSource`) with the position after each.
 *
 * **Positions** are `{ file, pos, skip }`: start the binlog dump at `file:pos` and skip the first
 * `skip` changes (of the configured tables). `file:pos` is zongji's resume point, which never
 * moves inside a transaction (from its first table map to its commit), so `skip` counts the
 * changes of that transaction already handed out; at a commit the position moves past it with
 * `skip: 0`. A resume is exact: nothing lost, nothing handed out twice.
 *
 * **Backpressure**: the buffer calls {@link BinlogStream.pause} when it is full (the binlog
 * socket is paused: the server waits) and {@link BinlogStream.resume} once the pipeline took it
 * down.
 *
 * **Marks**: the position also moves *without* records — past each commit, past transactions of
 * other tables, at a binlog rotation — so that an idle or filtered stream does not pin an old
 * binlog file a restore would need. Such a move is offered as an item without a record
 * (`undefined`) whose handle is the new position; the source drops these items from its batches,
 * which then still carry the position after them.
 *
 * **Values**: as the `mysql` source's (`values.ts`): zongji decodes with the same session options
 * (dates as text in UTC, DECIMAL and BIGINT as text, JSON as text); BIGINT becomes a `bigint`,
 * bytes `Uint8Array`, a zero date fails or is `null`.
 */
import type ZongJiType from "@vlasky/zongji"
import type { AnyBinlogEvent, RowsEvent, TableMapEntry } from "@vlasky/zongji"
import { Schema } from "effect"
import type { Position } from "../../../Batch.ts"
import { Offset } from "../../kit/Positions.ts"
import type { Credentials } from "./client.ts"
import { connectionOptions } from "./client.ts"
import { isZeroDate, ValueError } from "./values.ts"

/** Where an initial snapshot is: the table (index in the configured list) and the last key read in it. */
export interface SnapshotState {
  readonly table: number
  readonly key: ReadonlyArray<string | null> | null
}

/** A binlog position (see the module doc); `snapshot` while the initial snapshot is being read. */
export interface BinlogPosition {
  readonly file: string
  readonly pos: number
  readonly skip: number
  readonly snapshot?: SnapshotState | undefined
}

/** The Schema of the source's positions (declared by the definition, decoded before `seek`). */
export const BinlogPositionSchema = Schema.Struct({
  file: Schema.NonEmptyString,
  pos: Offset,
  skip: Offset,
  snapshot: Schema.optionalKey(Schema.Struct({ table: Offset, key: Schema.NullOr(Schema.Array(Schema.NullOr(Schema.String))) }))
})

/** The position as plain data. */
export const toPosition = (p: BinlogPosition): Position => ({
  file: p.file,
  pos: p.pos,
  skip: p.skip,
  ...(p.snapshot !== undefined ? { snapshot: { table: p.snapshot.table, key: p.snapshot.key === null ? null : [...p.snapshot.key] } } : {})
})

/** A position of this source, or `undefined`. */
export const fromPosition = (p: Position): BinlogPosition | undefined => {
  if (p === null || typeof p !== "object" || Array.isArray(p)) return undefined
  const o = p as { readonly [k: string]: Position }
  if (!(typeof o.file === "string" && typeof o.pos === "number" && typeof o.skip === "number" && o.pos >= 0 && o.skip >= 0)) return undefined
  const snap = o.snapshot
  if (snap === undefined) return { file: o.file, pos: o.pos, skip: o.skip }
  if (snap === null || typeof snap !== "object" || Array.isArray(snap)) return undefined
  const { key, table } = snap as { readonly [k: string]: Position }
  const isKey = key === null || (Array.isArray(key) && key.every((k) => k === null || typeof k === "string"))
  return typeof table === "number" && table >= 0 && isKey
    ? { file: o.file, pos: o.pos, skip: o.skip, snapshot: { table, key: key as ReadonlyArray<string | null> | null } }
    : undefined
}

/**
 * A change record of `mysql-cdc`: `op` (`read` for a row of the initial snapshot), the table as
 * `database.table`, the row before (update, delete) and after (read, insert, update), and the
 * event's time (ms since the epoch, second precision; a snapshot row: when it was read).
 */
export interface ChangeRecord {
  readonly op: "read" | "insert" | "update" | "delete"
  readonly table: string
  readonly before: { readonly [column: string]: unknown } | null
  readonly after: { readonly [column: string]: unknown } | null
  readonly timestamp: number
}

/** What the stream needs. */
export interface StreamOptions {
  readonly credentials: Credentials
  readonly serverId: number
  /** `database -> tables` to stream. */
  readonly tables: { readonly [database: string]: Array<string> }
  readonly start: BinlogPosition
  readonly bigint: "bigint" | "string"
  readonly zeroDates: "fail" | "null"
}

const LONGLONG = 8
const DATE_TYPES = new Set([7, 10, 12, 14, 17, 18])

type Converter = (v: unknown) => unknown

const convertersOf = (entry: TableMapEntry, options: StreamOptions): ReadonlyMap<string, Converter> => {
  const out = new Map<string, Converter>()
  for (const c of entry.columns ?? []) {
    const name = c.name
    if (c.type === LONGLONG && options.bigint === "bigint") {
      out.set(name, (v) => (typeof v === "string" || typeof v === "number" ? BigInt(v) : v))
    } else if (DATE_TYPES.has(c.type)) {
      out.set(name, (v) => {
        if (typeof v !== "string" || !isZeroDate(v)) return v
        if (options.zeroDates === "null") return null
        throw new ValueError(name, `column '${name}' of ${entry.parentSchema}.${entry.tableName} holds the zero date '${v}', which is no date (set zero_dates: null to read it as null)`)
      })
    }
  }
  return out
}

const convertRow = (row: { readonly [k: string]: unknown }, converters: ReadonlyMap<string, Converter>) => {
  const out: { [k: string]: unknown } = {}
  for (const k in row) {
    const v = row[k]
    const c = converters.get(k)
    out[k] = c !== undefined ? c(v) : Buffer.isBuffer(v) ? new Uint8Array(v) : v
  }
  return out
}

/** Where the stream hands its changes (the source's buffer). */
export interface StreamSink {
  /** A change (or a mark: `undefined`) and the position after it. */
  readonly offer: (record: ChangeRecord | undefined, position: BinlogPosition) => void
  /** The stream failed at `at` (a value that cannot be read, the connection lost). */
  readonly fail: (error: unknown, at: BinlogPosition) => void
}

/** The binlog stream (see the module doc). */
export class BinlogStream {
  private zongji: ZongJiType | undefined = undefined
  private stopped = false
  private failed = false
  /** The resume point of the transaction being read, and the changes of it seen so far. */
  private base: { file: string; pos: number } | undefined = undefined
  private count = 0
  private toSkip: number
  private readonly converters = new Map<number, ReadonlyMap<string, Converter>>()
  private readonly options: StreamOptions
  private readonly sink: StreamSink

  constructor(options: StreamOptions, sink: StreamSink) {
    this.options = options
    this.sink = sink
    this.toSkip = options.start.skip
  }

  /** Loads zongji and starts the dump at the start position. */
  async start(): Promise<void> {
    const { default: ZongJi } = await import("@vlasky/zongji")
    const z = new ZongJi(connectionOptions(this.options.credentials))
    this.zongji = z
    this.base = { file: this.options.start.file, pos: this.options.start.pos }
    z.on("error", (e: unknown) => this.fail(e))
    z.on("binlog", (event: AnyBinlogEvent) => this.onEvent(z, event))
    z.start({
      serverId: this.options.serverId,
      filename: this.options.start.file,
      position: this.options.start.pos,
      includeEvents: ["tablemap", "writerows", "updaterows", "deleterows", "xid", "query", "rotate", "mariadbgtid", "gtid"],
      includeSchema: this.options.tables
    })
  }

  private fail(e: unknown): void {
    if (this.failed || this.stopped) return
    this.failed = true
    const base = this.base ?? this.options.start
    this.sink.fail(e, { file: base.file, pos: base.pos, skip: this.count })
  }

  private onEvent(z: ZongJiType, event: AnyBinlogEvent): void {
    if (this.failed || this.stopped) return
    try {
      const file = z.options.filename ?? this.base?.file ?? ""
      const pos = z.options.position ?? 0
      if (this.base === undefined || this.base.file !== file || this.base.pos !== pos) {
        this.base = { file, pos }
        this.count = 0
        // only the start's own transaction is skipped into
        this.toSkip = file === this.options.start.file && pos === this.options.start.pos ? this.toSkip : 0
        this.push(undefined)
      }
      const name = event.getEventName()
      if (name !== "writerows" && name !== "updaterows" && name !== "deleterows") return
      const rows = event as RowsEvent & { readonly rows: ReadonlyArray<unknown> }
      const entry = rows.tableMap[rows.tableId]
      if (entry === undefined) return
      let converters = this.converters.get(rows.tableId)
      if (converters === undefined) {
        converters = convertersOf(entry, this.options)
        this.converters.set(rows.tableId, converters)
      }
      const table = `${entry.parentSchema}.${entry.tableName}`
      const timestamp = event.timestamp
      for (const r of rows.rows) {
        this.count++
        if (this.toSkip > 0) {
          this.toSkip--
          continue
        }
        const row = r as { readonly [k: string]: unknown }
        const record: ChangeRecord = name === "writerows"
          ? { op: "insert", table, before: null, after: convertRow(row, converters), timestamp }
          : name === "deleterows"
          ? { op: "delete", table, before: convertRow(row, converters), after: null, timestamp }
          : {
            op: "update",
            table,
            before: convertRow(row.before as { readonly [k: string]: unknown }, converters),
            after: convertRow(row.after as { readonly [k: string]: unknown }, converters),
            timestamp
          }
        this.push(record)
      }
    } catch (e) {
      this.fail(e)
    }
  }

  private push(record: ChangeRecord | undefined): void {
    const base = this.base!
    this.sink.offer(record, { file: base.file, pos: base.pos, skip: this.count })
  }

  private connection(): { pause(): void; resume(): void } | undefined {
    return (this.zongji as unknown as { readonly connection?: { pause(): void; resume(): void } } | undefined)?.connection
  }

  /** Stops reading the binlog socket (the server waits). */
  pause(): void {
    this.connection()?.pause()
  }

  /** Reads the binlog socket again. */
  resume(): void {
    this.connection()?.resume()
  }

  /** Stops the dump; nothing is offered afterwards. */
  stop(): Promise<void> {
    this.stopped = true
    const z = this.zongji
    this.zongji = undefined
    if (z === undefined) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000)
      z.once("stopped", () => {
        clearTimeout(timer)
        resolve()
      })
      z.stop()
    })
  }
}
