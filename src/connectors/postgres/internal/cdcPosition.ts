/**
 * The positions of the `postgres-cdc` source: their Schema, their decoder, and a saved snapshot
 * position as the reader resumes it.
 */
import { Schema } from "effect"
import * as Positions from "../../kit/Positions.ts"
import type { SnapshotProgress } from "./cdcSnapshot.ts"
import { normalizeLsn } from "./replication.ts"

const CONNECTOR = "postgres-cdc"

/** A saved snapshot position: where the snapshot was, in which list of tables (absent in positions of earlier versions). */
export interface SavedSnapshot extends SnapshotProgress {
  readonly tables: ReadonlyArray<string> | undefined
  readonly name: string | undefined
}

const Lsn = Schema.String.check(Schema.isPattern(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/u))

/**
 * The positions of the `postgres-cdc` source (its `SourceDefinition.position`): during a snapshot
 * `{ phase: "snapshot", lsn, tables, table, name, key }`, then `{ lsn, tables?, tx?, skip? }`
 * (streaming; `tx` and `skip` inside a transaction larger than a batch).
 *
 * @category schemas
 * @since 0.4.0
 */
export const CdcPosition = Schema.Union([
  Schema.Struct({
    phase: Schema.Literal("snapshot"),
    lsn: Lsn,
    tables: Schema.optionalKey(Schema.Array(Schema.String)),
    table: Schema.optionalKey(Positions.Offset),
    name: Schema.optionalKey(Schema.NullOr(Schema.String)),
    key: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.Union([Schema.String, Schema.Number]))))
  }),
  Schema.Struct({
    // null: taken before the stream started (nothing read): a restore starts as a first run would
    lsn: Schema.NullOr(Lsn),
    tables: Schema.optionalKey(Schema.Array(Schema.String)),
    // inside a transaction larger than a batch: its commit LSN and how many of its changes were read
    tx: Schema.optionalKey(Lsn),
    skip: Schema.optionalKey(Positions.Offset)
  })
])

/** Decodes a position given to `seek`/`commit` (a connector error naming it when it is not one). */
export const decodePosition = Positions.decoder(CONNECTOR, CdcPosition)

/** A snapshot position (`phase: "snapshot"`), or undefined for a streaming one. */
export const snapshotPosition = (p: typeof CdcPosition.Type): SavedSnapshot | undefined =>
  "phase" in p
    ? { lsn: normalizeLsn(p.lsn), tables: p.tables, table: p.table ?? 0, key: p.key === undefined || p.key === null ? null : p.key.map(String), name: p.name ?? undefined }
    : undefined

