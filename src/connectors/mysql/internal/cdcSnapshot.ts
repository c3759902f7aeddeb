/**
 * The initial snapshot of the `mysql-cdc` source (`snapshot: true`): every row of the configured
 * tables as an `op: "read"` change record, read in primary-key order inside one
 * `START TRANSACTION WITH CONSISTENT SNAPSHOT`, before the binlog is streamed from the position
 * that snapshot corresponds to (MariaDB's `binlog_snapshot_file` / `binlog_snapshot_position`,
 * taken inside the same transaction, so no change falls between the two).
 *
 * A crash during the snapshot resumes it after the last key read, in a new snapshot, and the
 * stream still starts at the *first* snapshot's binlog position: the changes made since are all
 * streamed again, in order, so an upsert destination ends equal to the source (rows deleted in
 * the meantime are deleted by their binlog event; no ghost rows), though a row can show an older
 * value until its later changes arrive.
 */
import type mysql from "mysql2"
import { ConfigurationError, ConnectorError } from "../../../Errors.ts"
import type { ChangeRecord, SnapshotState } from "./binlog.ts"
import { tableInfo } from "./catalog.ts"
import { close, connect, type Credentials, run } from "./client.ts"
import { RowStream } from "./rowStream.ts"
import { advance, positionFields, type PositionFields, type ReadPlan, type ReadState, selectFrom } from "./tableRead.ts"
import { type Converter, converterOf, hasGeometry, type ValueOptions } from "./values.ts"

const refuse = (message: string) =>
  new ConnectorError({ connector: "mysql-cdc", operation: "snapshot", reason: new ConfigurationError({ message }) })

/** The snapshot reader of one run (see the module doc). */
export class SnapshotReader {
  private conn: mysql.Connection | undefined = undefined
  private stream: RowStream | undefined = undefined
  private plan: ReadPlan | undefined = undefined
  private at: PositionFields | undefined = undefined
  private converters: ReadonlyArray<Converter> = []
  private names: ReadonlyArray<string> = []
  private readonly credentials: Credentials
  private readonly tables: ReadonlyArray<string>
  private readonly options: ValueOptions
  private readonly highWater: number

  constructor(credentials: Credentials, tables: ReadonlyArray<string>, options: ValueOptions, highWater: number) {
    this.credentials = credentials
    this.tables = tables
    this.options = options
    this.highWater = highWater
  }

  /** Opens the consistent snapshot; the binlog position it corresponds to. */
  async begin(): Promise<{ readonly file: string; readonly pos: number }> {
    const conn = await connect(this.credentials)
    this.conn = conn
    await run(conn, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    await run(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    const rows = await run<Array<{ Variable_name: string; Value: string }>>(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'")
    const file = rows.find((r) => r.Variable_name.toLowerCase() === "binlog_snapshot_file")?.Value
    const pos = rows.find((r) => r.Variable_name.toLowerCase() === "binlog_snapshot_position")?.Value
    if (file === undefined || file.length === 0 || pos === undefined) {
      throw refuse("snapshot: true needs the binlog position of a consistent snapshot (MariaDB's binlog_snapshot_file); this server has none")
    }
    return { file, pos: Number(pos) }
  }

  /**
   * The next rows of the snapshot from `state` (at most `max`, stamped `timestamp`); `state:
   * undefined` once every table was read.
   */
  async next(state: SnapshotState, max: number, timestamp: number): Promise<{ readonly records: ReadonlyArray<ChangeRecord>; readonly state: SnapshotState | undefined }> {
    const conn = this.conn!
    const table = this.tables[state.table]
    if (table === undefined) return { records: [], state: undefined }
    if (this.stream === undefined) {
      const info = await tableInfo(conn, table)
      if (info.columns.length === 0) throw refuse(`table '${table}' does not exist`)
      if (info.primaryKey.length === 0) throw refuse(`snapshot: table '${table}' needs a primary key (a snapshot resumes after the last key read)`)
      const plan: ReadPlan = { table, query: undefined, columns: info.columns, key: info.primaryKey, cursor: undefined, partition: undefined }
      const read: ReadState = { offset: 0, cursor: null, key: state.key, range: undefined }
      const statement = selectFrom(plan, read)
      if (statement === "empty") return { records: [], state: { table: state.table + 1, key: null } }
      this.plan = plan
      this.at = positionFields(plan)
      this.converters = []
      this.stream = new RowStream(conn, statement.sql, statement.values, this.highWater, hasGeometry(info.columns.map((c) => c.dataType)))
    }
    const stream = this.stream
    const rows = await stream.next(max)
    if (rows === undefined) {
      this.stream = undefined
      const nextTable = state.table + 1
      return { records: [], state: nextTable < this.tables.length ? { table: nextTable, key: null } : undefined }
    }
    if (this.converters.length === 0 && stream.fields !== undefined) {
      this.names = stream.fields.map((f) => f.name)
      this.converters = stream.fields.map((f) => converterOf(f, this.options))
    }
    const records: Array<ChangeRecord> = rows.map((row) => {
      const after: { [k: string]: unknown } = {}
      for (let i = 0; i < this.names.length; i++) after[this.names[i]] = this.converters[i](row[i])
      return { op: "read", table, before: null, after, timestamp }
    })
    const read: ReadState = { offset: 0, cursor: null, key: state.key, range: undefined }
    advance(this.plan!, read, this.at!, rows)
    return { records, state: { table: state.table, key: read.key } }
  }

  /** Ends the snapshot's session. */
  async close(): Promise<void> {
    const c = this.conn
    this.conn = undefined
    this.stream = undefined
    if (c !== undefined) await close(c)
  }
}
