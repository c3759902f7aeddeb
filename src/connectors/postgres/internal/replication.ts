/**
 * Logical replication machinery for the `postgres-cdc` source, on `pg-logical-replication`
 * (which speaks the streaming replication protocol and parses `pgoutput` messages):
 *
 * - a `pgoutput` plugin that creates the slot on the replication connection itself when asked
 *   (so a temporary slot lives on the streaming connection, and an exported snapshot can be
 *   imported before `START_REPLICATION` invalidates it);
 * - turning `pgoutput` messages into typed change records, grouped by transaction;
 * - LSN arithmetic.
 */
import type pg from "pg"
import { type Pgoutput, PgoutputPlugin } from "pg-logical-replication"

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
export interface Transaction {
  readonly changes: ReadonlyArray<Change>
  /** LSN to confirm once the transaction is processed (the commit's end LSN). */
  readonly endLsn: string
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
    return super.start(client, slotName, from)
  }
}

const OID_INT8 = 20
const OID_INT8_ARRAY = 1016
const OID_DATE = 1082
const OID_TIMESTAMP = 1114

const pad = (n: number, w = 2): string => String(n).padStart(w, "0")

/**
 * Converts a tuple parsed by `pg`'s text parsers to the values the table source produces
 * (`int8` → bigint or string, `date` → `YYYY-MM-DD`, `timestamp` → UTC fields), as a plain object.
 */
const convertTuple = (
  tuple: { readonly [k: string]: unknown } | null,
  relation: Pgoutput.MessageRelation,
  bigintAsString: boolean
): { [k: string]: unknown } | null => {
  if (tuple === null) return null
  const out: { [k: string]: unknown } = {}
  for (const column of relation.columns) {
    if (!(column.name in tuple)) continue
    let v = tuple[column.name]
    if (v !== null && v !== undefined) {
      switch (column.typeOid) {
        case OID_INT8:
          v = bigintAsString ? String(v) : BigInt(v as string)
          break
        case OID_INT8_ARRAY:
          if (Array.isArray(v)) v = v.map((e) => (e === null ? null : bigintAsString ? String(e) : BigInt(e as string)))
          break
        case OID_DATE:
          if (v instanceof Date) v = `${pad(v.getFullYear(), 4)}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`
          break
        case OID_TIMESTAMP:
          if (v instanceof Date) {
            v = new Date(
              Date.UTC(v.getFullYear(), v.getMonth(), v.getDate(), v.getHours(), v.getMinutes(), v.getSeconds(), v.getMilliseconds())
            )
          }
          break
      }
    }
    out[column.name] = v
  }
  return out
}

const keyOf = (tuple: { readonly [k: string]: unknown }, relation: Pgoutput.MessageRelation) => {
  const out: { [k: string]: unknown } = {}
  for (const k of relation.keyColumns) out[k] = tuple[k]
  return out
}

/** Collects `pgoutput` messages into committed transactions. */
export class TransactionAssembler {
  private current: Array<Change> | null = null
  private lsn = ""
  private ts: Date | null = null
  private readonly bigintAsString: boolean
  constructor(bigintAsString: boolean) {
    this.bigintAsString = bigintAsString
  }
  /** True while a transaction is being received. */
  get open(): boolean {
    return this.current !== null
  }
  /** Feeds one message; returns the transaction it completes, if any. */
  push(message: Pgoutput.Message): Transaction | undefined {
    switch (message.tag) {
      case "begin":
        this.current = []
        this.lsn = message.commitLsn === null ? "0/0" : normalizeLsn(message.commitLsn)
        this.ts = new Date(Number(BigInt(message.commitTime as bigint) / 1000n))
        return undefined
      case "insert":
        this.current?.push({
          op: "insert",
          table: `${message.relation.schema}.${message.relation.name}`,
          before: null,
          after: convertTuple(message.new, message.relation, this.bigintAsString),
          lsn: this.lsn,
          commit_ts: this.ts
        })
        return undefined
      case "update": {
        const after = convertTuple(message.new, message.relation, this.bigintAsString)
        const old = message.old ?? message.key
        this.current?.push({
          op: "update",
          table: `${message.relation.schema}.${message.relation.name}`,
          before: old !== null ? convertTuple(old, message.relation, this.bigintAsString) : after && keyOf(after, message.relation),
          after,
          lsn: this.lsn,
          commit_ts: this.ts
        })
        return undefined
      }
      case "delete":
        this.current?.push({
          op: "delete",
          table: `${message.relation.schema}.${message.relation.name}`,
          before: convertTuple(message.old ?? message.key, message.relation, this.bigintAsString),
          after: null,
          lsn: this.lsn,
          commit_ts: this.ts
        })
        return undefined
      case "commit": {
        const changes = this.current ?? []
        this.current = null
        return { changes, endLsn: message.commitEndLsn === null ? this.lsn : normalizeLsn(message.commitEndLsn) }
      }
      default:
        return undefined
    }
  }
}
