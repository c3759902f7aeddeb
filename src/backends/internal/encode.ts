/**
 * Encoding a record for storage in one pass: the JSON text (the same value `JSON.stringify`
 * gives) and its metadata, whose state sizes are the lengths of the very pieces written — so a
 * large state is stringified once, not twice (`Checkpoint.info` would stringify it again).
 */
import { type Effect, Schema } from "effect"
import { type CheckpointInfo, type CheckpointRecord, SourcePosition } from "../../Checkpoint.ts"
import { seal } from "./checksum.ts"

/** The JSON text of `record`, sealed with its checksum (see checksum.ts), and its {@link CheckpointInfo}. */
export const encodeRecord = (record: CheckpointRecord): { readonly json: string; readonly info: CheckpointInfo } => {
  const stateBytes: { [node: string]: number } = {}
  const operators: Array<string> = []
  for (const op of record.operators) {
    const upserts = JSON.stringify(op.upserts)
    const deletes = JSON.stringify(op.deletes)
    stateBytes[op.node] = (stateBytes[op.node] ?? 0) + upserts.length + deletes.length
    const groups = op.groups === undefined ? "" : `,"groups":${JSON.stringify(op.groups)}`
    operators.push(
      `{"node":${JSON.stringify(op.node)},"instance":${JSON.stringify(op.instance)},"version":${JSON.stringify(op.version)},` +
        `"full":${JSON.stringify(op.full)},"upserts":${upserts},"deletes":${deletes}${groups}}`
    )
  }
  const head = JSON.stringify({
    format: record.format,
    workflow: record.workflow,
    id: record.id,
    startedAt: record.startedAt,
    completedAt: record.completedAt,
    full: record.full,
    positions: record.positions
  })
  const nodes = record.nodes === undefined ? "" : `,"nodes":${JSON.stringify(record.nodes)}`
  const definitions = record.definitions === undefined ? "" : `,"definitions":${JSON.stringify(record.definitions)}`
  const json = seal(`${head.slice(0, -1)},"operators":[${operators.join(",")}],"final":${JSON.stringify(record.final)}${nodes}${definitions}}`)
  return {
    json,
    info: {
      workflow: record.workflow,
      id: record.id,
      startedAt: record.startedAt,
      completedAt: record.completedAt,
      durationMs: record.completedAt - record.startedAt,
      full: record.full,
      final: record.final,
      positions: record.positions,
      stateBytes
    }
  }
}

/** The stored form of {@link CheckpointInfo}. */
export const InfoSchema = Schema.Struct({
  workflow: Schema.String,
  id: Schema.Number,
  startedAt: Schema.Number,
  completedAt: Schema.Number,
  durationMs: Schema.Number,
  full: Schema.Boolean,
  final: Schema.Boolean,
  positions: Schema.Array(SourcePosition),
  stateBytes: Schema.Record(Schema.String, Schema.Number)
})

/** Decodes stored metadata. */
export const decodeInfo = (value: unknown): Effect.Effect<CheckpointInfo, Schema.SchemaError> => Schema.decodeUnknownEffect(InfoSchema)(value)
