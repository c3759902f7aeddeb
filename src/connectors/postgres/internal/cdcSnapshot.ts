/**
 * The initial snapshot of the `postgres-cdc` source: the tables read one after the other with
 * `COPY (SELECT * FROM t ORDER BY key) TO STDOUT`, each with its own columns and decoders (the
 * same as the table source's), as `op: "read"` change records.
 *
 * Where it is, `{ table, key }` (the index of the table being read and the last key read), is part
 * of the source's position, so a snapshot interrupted by a crash resumes after that key instead of
 * starting over (see PostgresCdc.ts for why that, with streaming from the slot's original
 * consistent point, leaves no deleted row behind). A table without a primary key is read again
 * from its start.
 */
import type pg from "pg"
import { type Column, COLUMNS_SQL, primaryKey, toColumns } from "./catalog.ts"
import { CopyOut, decodeRows, FieldError, lastRowFields } from "./copyOut.ts"
import type { Change } from "./replication.ts"
import { copyStatement, ORDERED_READ_SQL, type ReadPlan, UNORDERED_SQL } from "./tableRead.ts"
import { resolveShapes, shapeOf, TYPES_SQL } from "./types.ts"
import { type Decoder, decoderOf, type TypeShape } from "./values.ts"

/** A table of the snapshot: its name as written in the config and as change records name it. */
export interface SnapshotTable {
  /** As written in `tables` (what SQL reads). */
  readonly name: string
  /** `schema.table`, as change records name it. */
  readonly qualified: string
}

/** Where a snapshot is: the table being read (an index) and the last key read in it. */
export interface SnapshotProgress {
  /** The slot's consistent point: streaming starts there once the snapshot is read. */
  readonly lsn: string
  table: number
  key: ReadonlyArray<string> | null
}

/** A value of a snapshot row that does not decode. */
export class SnapshotValueError extends Error {
  readonly table: string
  readonly column: string
  constructor(table: string, column: string, row: string, cause: unknown) {
    super(`table '${table}', ${row}, column '${column}': ${cause instanceof Error ? cause.message : String(cause)}`)
    this.table = table
    this.column = column
  }
}

interface Open {
  readonly plan: ReadPlan
  readonly names: ReadonlyArray<string>
  readonly decoders: ReadonlyArray<Decoder>
  readonly keyAt: ReadonlyArray<number>
  readonly copy: CopyOut
}

/** Reads the snapshot's tables from `progress`, on `client` (in the snapshot's transaction, if any). */
export class SnapshotReader {
  private current: Open | undefined = undefined
  private readonly client: pg.Client
  private readonly tables: ReadonlyArray<SnapshotTable>
  private readonly shapes: Map<number, TypeShape>
  private readonly bigint: "bigint" | "string"
  readonly progress: SnapshotProgress
  constructor(
    client: pg.Client,
    tables: ReadonlyArray<SnapshotTable>,
    shapes: Map<number, TypeShape>,
    bigint: "bigint" | "string",
    progress: SnapshotProgress
  ) {
    this.client = client
    this.tables = tables
    this.shapes = shapes
    this.bigint = bigint
    this.progress = progress
  }

  private async open(table: SnapshotTable): Promise<Open> {
    const dot = table.qualified.indexOf(".")
    const rows = await this.client.query(COLUMNS_SQL, [table.qualified.slice(dot + 1), table.qualified.slice(0, dot)])
    const columns: ReadonlyArray<Column> = toColumns(rows.rows)
    if (columns.length === 0) throw new Error(`table '${table.name}' does not exist`)
    await resolveShapes((oids) => this.client.query(TYPES_SQL, [oids]).then((r) => r.rows), columns.map((c) => c.oid), this.shapes)
    const key = primaryKey(columns)
    const plan: ReadPlan = { table: table.name, query: undefined, columns, key, cursor: undefined, partition: undefined }
    const from = key.length > 0 ? this.progress.key : null
    const statement = copyStatement(plan, { offset: 0, cursor: null, key: from, range: undefined })
    // (the catalog queries above need their sorts; the COPY should stream in the index's order)
    await this.client.query(ORDERED_READ_SQL)
    return {
      plan,
      names: columns.map((c) => c.name),
      decoders: columns.map((c) => decoderOf(shapeOf(this.shapes, c.oid), this.bigint)),
      keyAt: key.map((k) => columns.findIndex((c) => c.name === k)),
      copy: new CopyOut(this.client, statement as string)
    }
  }

  /** The next change records (at most `max`), or `undefined` when every table has been read. */
  async next(max: number): Promise<Array<Change> | undefined> {
    const p = this.progress
    while (p.table < this.tables.length) {
      const table = this.tables[p.table]
      this.current ??= await this.open(table)
      const current = this.current
      const block = await current.copy.next(max)
      if (block === undefined) {
        this.current = undefined
        await this.client.query(UNORDERED_SQL)
        p.table++
        p.key = null
        continue
      }
      let rows: Array<{ [k: string]: unknown }>
      try {
        rows = decodeRows(block.bytes, current.names, current.decoders)
      } catch (e) {
        if (!(e instanceof FieldError)) throw e
        const keyText = current.keyAt.length > 0
          ? `row (${current.plan.key.join(", ")})=(${current.keyAt.map((i) => e.fields[i] ?? "NULL").join(", ")})`
          : "a row"
        throw new SnapshotValueError(table.qualified, current.names[Math.max(0, e.column)], keyText, e.cause)
      }
      if (current.keyAt.length > 0) {
        const last = lastRowFields(block.bytes)
        p.key = current.keyAt.map((i) => last[i] ?? "")
      }
      const out: Array<Change> = new Array(rows.length)
      for (let i = 0; i < rows.length; i++) {
        out[i] = { op: "read", table: table.qualified, before: null, after: rows[i], lsn: p.lsn, commit_ts: null }
      }
      return out
    }
    return undefined
  }
}
