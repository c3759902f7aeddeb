/**
 * Logical replication machinery for the `postgres-cdc` source, on `pg-logical-replication`
 * (which speaks the streaming replication protocol and parses `pgoutput` messages):
 *
 * - a `pgoutput` plugin that creates the slot on the replication connection itself when asked
 *   (so a temporary slot lives on the streaming connection, and an exported snapshot can be
 *   imported before `START_REPLICATION` invalidates it);
 * - turning `pgoutput` messages into change records, grouped by transaction, with values decoded
 *   from the server's text exactly as the table source decodes them (`values.ts`: the walsender
 *   runs with the same fixed output settings, and the library's own `pg` type parsers are
 *   replaced by the identity so the text reaches us untouched);
 * - LSN arithmetic.
 */
import type pg from "pg"
import { type Pgoutput, PgoutputPlugin } from "pg-logical-replication"
import { shapeOf } from "./types.ts"
import { type Decoder, decoderOf, OUTPUT_SETTINGS_SQL, type TypeShape } from "./values.ts"

/**
 * A change record (a type alias, not an interface, so it fits `{ [column: string]: unknown }`).
 */
export type Change = {
  readonly op: "insert" | "update" | "delete" | "read"
  /** `schema.table` */
  readonly table: string
  readonly before: { readonly [column: string]: unknown } | null
  readonly after: { readonly [column: string]: unknown } | null
  /** The commit LSN of the change's transaction (the consistent point for snapshot rows). */
  readonly lsn: string
  readonly commit_ts: Date | null
}

/** A committed transaction's changes. */
/** The end of a transaction, as {@link TransactionAssembler.push} reports it. */
export interface TransactionEnd {
  /** The commit LSN (the `lsn` of the transaction's changes). */
  readonly commitLsn: string
  /** LSN to confirm once the transaction is processed (the commit's end LSN). */
  readonly endLsn: string
  /** The changes of the transaction that were kept. */
  readonly changes: number
}

/** `X/Y` as a number. */
export const lsnValue = (lsn: string): bigint => {
  const slash = lsn.indexOf("/")
  return (BigInt(`0x${lsn.slice(0, slash)}`) << 32n) | BigInt(`0x${lsn.slice(slash + 1)}`)
}

/** `X/Y` in PostgreSQL's own spelling (upper-case hex, no padding), whatever the input's padding. */
export const normalizeLsn = (lsn: string): string => {
  const v = lsnValue(lsn)
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`
}

/** The later of two LSNs. */
export const maxLsn = (a: string | null, b: string | null): string | null =>
  a === null ? b : b === null ? a : lsnValue(a) >= lsnValue(b) ? a : b

/** What the slot-creating plugin reports. */
export interface SlotCreated {
  readonly consistentPoint: string
  readonly snapshotName: string | null
}

/** Options of {@link SlotPlugin}. */
export interface SlotPluginOptions {
  readonly publication: string
  /** Create the slot before streaming; `undefined` streams an existing slot. */
  readonly create?: {
    readonly temporary: boolean
    readonly exportSnapshot: boolean
    /** Called with the new slot; streaming starts when the returned promise resolves. */
    readonly onCreated: (created: SlotCreated) => Promise<void>
  }
}

/**
 * `pgoutput` with slot creation on the replication connection. Slot and publication names are
 * checked against `[a-z0-9_]` by the config Schema: replication commands take no parameters.
 */
export class SlotPlugin extends PgoutputPlugin {
  readonly slotOptions: SlotPluginOptions
  constructor(options: SlotPluginOptions) {
    super({ protoVersion: 1, publicationNames: [options.publication], messages: true })
    this.slotOptions = options
  }
  override async start(client: pg.Client, slotName: string, lastLsn: string): Promise<unknown> {
    const create = this.slotOptions.create
    let from = lastLsn
    if (create !== undefined) {
      const result = await client.query(
        `CREATE_REPLICATION_SLOT "${slotName}"${create.temporary ? " TEMPORARY" : ""} LOGICAL pgoutput (SNAPSHOT '${
          create.exportSnapshot ? "export" : "nothing"
        }')`
      )
      const row = result.rows[0] as { consistent_point: string; snapshot_name: string | null }
      from = row.consistent_point
      await create.onCreated({ consistentPoint: row.consistent_point, snapshotName: row.snapshot_name })
    }
    // After the snapshot's import (a command on this connection would end the exported snapshot):
    // the walsender formats values with these settings.
    await client.query(OUTPUT_SETTINGS_SQL)
    return super.start(client, slotName, from)
  }

  /** Parses a message; a relation's columns keep their values' text (decoded later, by {@link TupleDecoder}). */
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer)
    if (message.tag === "relation") {
      for (const column of message.columns) column.parser = keepText
    }
    return message
  }
}

const keepText = (raw: string): string => raw

/** A value of a change that does not decode: names the table and column. */
export class ChangeValueError extends Error {
  readonly table: string
  readonly column: string
  constructor(table: string, column: string, cause: unknown) {
    super(`table '${table}', column '${column}': ${cause instanceof Error ? cause.message : String(cause)}`)
    this.table = table
    this.column = column
  }
}

/**
 * Decodes the text tuples of `pgoutput` by each column's type OID (resolved beforehand into
 * `shapes`, see `types.ts`). An unchanged TOASTed value the server did not send is left out of
 * the record (the column is absent, not NULL).
 */
export class TupleDecoder {
  private readonly byRelation = new WeakMap<Pgoutput.MessageRelation, ReadonlyArray<Decoder>>()
  private readonly shapes: ReadonlyMap<number, TypeShape>
  private readonly bigint: "bigint" | "string"
  constructor(shapes: ReadonlyMap<number, TypeShape>, bigint: "bigint" | "string") {
    this.shapes = shapes
    this.bigint = bigint
  }
  decode(tuple: { readonly [k: string]: unknown } | null, relation: Pgoutput.MessageRelation): { [k: string]: unknown } | null {
    if (tuple === null) return null
    let decoders = this.byRelation.get(relation)
    if (decoders === undefined) {
      decoders = relation.columns.map((c) => decoderOf(shapeOf(this.shapes, c.typeOid), this.bigint))
      this.byRelation.set(relation, decoders)
    }
    const out: { [k: string]: unknown } = {}
    const columns = relation.columns
    for (let i = 0; i < columns.length; i++) {
      const name = columns[i].name
      const v = tuple[name]
      if (v === undefined) continue
      if (v === null || typeof v !== "string") {
        out[name] = v
        continue
      }
      try {
        out[name] = decoders[i](v)
      } catch (cause) {
        throw new ChangeValueError(`${relation.schema}.${relation.name}`, name, cause)
      }
    }
    return out
  }
}

const keyOf = (tuple: { readonly [k: string]: unknown }, relation: Pgoutput.MessageRelation) => {
  const out: { [k: string]: unknown } = {}
  for (const k of relation.keyColumns) out[k] = tuple[k]
  return out
}

/**
 * Turns `pgoutput` messages into changes, one at a time as they arrive (a transaction is never
 * held in memory whole), keeping the changes of the tables `include` accepts (all when it is
 * undefined), and reports each transaction's end. Throws {@link ChangeValueError}.
 */
export class TransactionAssembler {
  private inTransaction = false
  private count = 0
  private lsn = ""
  private ts: Date | null = null
  private readonly decoder: TupleDecoder
  private readonly include: ((table: string) => boolean) | undefined
  constructor(decoder: TupleDecoder, include?: (table: string) => boolean) {
    this.decoder = decoder
    this.include = include
  }
  /** True while a transaction is being received. */
  get open(): boolean {
    return this.inTransaction
  }
  /** Feeds one message: returns the change it carries, or the end of the transaction at its commit. */
  push(message: Pgoutput.Message): Change | TransactionEnd | undefined {
    if (
      this.include !== undefined && (message.tag === "insert" || message.tag === "update" || message.tag === "delete") &&
      !this.include(`${message.relation.schema}.${message.relation.name}`)
    ) return undefined
    switch (message.tag) {
      case "begin":
        this.inTransaction = true
        this.count = 0
        this.lsn = message.commitLsn === null ? "0/0" : normalizeLsn(message.commitLsn)
        this.ts = new Date(Number(BigInt(message.commitTime as bigint) / 1000n))
        return undefined
      case "insert":
        return this.change({
          op: "insert",
          table: `${message.relation.schema}.${message.relation.name}`,
          before: null,
          after: this.decoder.decode(message.new, message.relation),
          lsn: this.lsn,
          commit_ts: this.ts
        })
      case "update": {
        const after = this.decoder.decode(message.new, message.relation)
        const old = message.old ?? message.key
        return this.change({
          op: "update",
          table: `${message.relation.schema}.${message.relation.name}`,
          before: old !== null ? this.decoder.decode(old, message.relation) : after && keyOf(after, message.relation),
          after,
          lsn: this.lsn,
          commit_ts: this.ts
        })
      }
      case "delete":
        return this.change({
          op: "delete",
          table: `${message.relation.schema}.${message.relation.name}`,
          before: this.decoder.decode(message.old ?? message.key, message.relation),
          after: null,
          lsn: this.lsn,
          commit_ts: this.ts
        })
      case "commit": {
        const changes = this.inTransaction ? this.count : 0
        this.inTransaction = false
        this.count = 0
        return { commitLsn: this.lsn, endLsn: message.commitEndLsn === null ? this.lsn : normalizeLsn(message.commitEndLsn), changes }
      }
      default:
        return undefined
    }
  }
  private change(c: Change): Change | undefined {
    if (!this.inTransaction) return undefined
    this.count += 1
    return c
  }
}
