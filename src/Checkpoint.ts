/**
 * Checkpoint records: what a completed checkpoint holds and how it is persisted.
 *
 * A checkpoint `n` is complete when every task has seen barrier `n` and every sink has
 * acknowledged it. Its record holds the source positions at the barrier, the operator state
 * changes since the previous checkpoint (or a full snapshot), and metadata (time, duration, state
 * sizes). Records are plain JSON values described by Schemas, so every state backend stores them
 * the same way and a record written by an older DataFlare is decoded, never misread.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The JSON encoding of a source position (see `Batch.Position`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const PositionJson = Schema.Unknown

/**
 * The position of one source instance at a checkpoint barrier, and what the source's
 * `identify` said about its input there (e.g. a file's size and a hash of the bytes before the
 * position), so that a restore can check the position still applies.
 *
 * @category schemas
 * @since 0.1.0
 */
export const SourcePosition = Schema.Struct({
  node: Schema.String,
  instance: Schema.Number,
  position: PositionJson,
  input: Schema.optional(Schema.Unknown)
})

/**
 * @category models
 * @since 0.1.0
 */
export type SourcePosition = typeof SourcePosition.Type

/**
 * The state of one operator instance in a checkpoint: either a full snapshot or the changes since
 * the previous checkpoint. Values are already encoded with the operator's state Schema.
 *
 * @category schemas
 * @since 0.1.0
 */
export const OperatorState = Schema.Struct({
  node: Schema.String,
  instance: Schema.Number,
  /** The operator's `stateVersion` when it wrote this. */
  version: Schema.Number,
  full: Schema.Boolean,
  upserts: Schema.Array(Schema.Tuple([Schema.String, Schema.Unknown])),
  deletes: Schema.Array(Schema.String),
  /**
   * The key group of each upsert, in the same order (-1: an entry of the whole instance, such as
   * its clock). Absent when the operator cannot tell (no `keyOfEntry`): its state then restores
   * only at the same parallelism.
   */
  groups: Schema.optional(Schema.Array(Schema.Number))
})

/**
 * @category models
 * @since 0.1.0
 */
export type OperatorState = typeof OperatorState.Type

/**
 * What a checkpoint keeps about each stateful node besides its state: enough to tell, before a
 * restore, whether the state still fits the node (see the runtime's pre-flight phase).
 *
 * @category schemas
 * @since 0.1.0
 */
export const NodeState = Schema.Struct({
  node: Schema.String,
  /** The processor type (`aggregate`, `dedupe`, ...). */
  type: Schema.String,
  /** The operator's `stateVersion`. */
  version: Schema.Number,
  /** What the state depends on (the processor's `fingerprint`, or its config): plain JSON. */
  fingerprint: Schema.Unknown,
  parallelism: Schema.Number,
  /** The number of key groups the state is split by. */
  keyGroups: Schema.Number,
  /** Whether the state records a key group per entry (then any parallelism can restore it). */
  byKeyGroup: Schema.Boolean
})

/**
 * @category models
 * @since 0.1.0
 */
export type NodeState = typeof NodeState.Type

/**
 * What a checkpoint keeps about each stateless processor node (`filter`, `map`, ...): its type and
 * config, so that a resume can tell — without refusing — which of them changed since.
 *
 * @category schemas
 * @since 0.7.0
 */
export const NodeDefinition = Schema.Struct({
  node: Schema.String,
  type: Schema.String,
  /** The node's config as plain JSON (a function stands as `"<function>"`). */
  fingerprint: Schema.Unknown
})

/**
 * @category models
 * @since 0.7.0
 */
export type NodeDefinition = typeof NodeDefinition.Type

/**
 * A stateless processor node whose definition differs from the one a checkpoint recorded: `changes`
 * says what (`condition: "a > 1" → "a > 2"`, `type: 'filter' → 'map'`, `added`, `removed`).
 *
 * @category models
 * @since 0.7.0
 */
export interface DefinitionChange {
  readonly node: string
  readonly changes: ReadonlyArray<string>
}

/**
 * A completed checkpoint as stored by a state backend.
 *
 * @category schemas
 * @since 0.1.0
 */
export const CheckpointRecord = Schema.Struct({
  /**
   * Format version of this record: 2 since records carry a checksum (see the backends), 1 before
   * (also key groups and node fingerprints are optional fields, absent in older records).
   */
  format: Schema.Literals([1, 2]),
  workflow: Schema.String,
  id: Schema.Number,
  /** Clock time (epoch ms) when the checkpoint was triggered and when it completed. */
  startedAt: Schema.Number,
  completedAt: Schema.Number,
  /** True when every operator state in it is a full snapshot (restore needs nothing older). */
  full: Schema.Boolean,
  positions: Schema.Array(SourcePosition),
  operators: Schema.Array(OperatorState),
  /** The checkpoint taken at the end of a bounded input (or when a drain completes the run). */
  final: Schema.Boolean,
  /** The stateful nodes whose state this checkpoint holds (absent in records of older versions). */
  nodes: Schema.optional(Schema.Array(NodeState)),
  /** The stateless processor nodes' definitions (absent in records of older versions). */
  definitions: Schema.optional(Schema.Array(NodeDefinition))
})

/**
 * @category models
 * @since 0.1.0
 */
export type CheckpointRecord = typeof CheckpointRecord.Type

/**
 * The pre-flight phase of a run refused the state it would restore: applying it would give a
 * wrong result (an input file replaced under a saved position, a stateful node whose definition
 * changed, a sink ahead of the checkpoint, ...). Nothing was opened or written. The message says
 * what changed, where, and the way out (`remedy`, e.g. `--from-scratch`).
 *
 * @category errors
 * @since 0.1.0
 */
export class RestoreError extends Schema.TaggedError<RestoreError>()("RestoreError", {
  /** The node whose state or input does not fit (absent: the workflow as a whole). */
  node: Schema.optional(Schema.String),
  /** The checkpoint that would have been restored. */
  checkpoint: Schema.optional(Schema.Number),
  /** What changed. */
  reason: Schema.String,
  /** How to proceed. */
  remedy: Schema.String
}) {
  override get message(): string {
    const at = this.checkpoint === undefined ? "" : ` (checkpoint ${this.checkpoint})`
    const who = this.node === undefined ? "cannot resume" : `node '${this.node}' cannot resume`
    return `${who}${at}: ${this.reason}; ${this.remedy}`
  }
}

/**
 * Metadata of a checkpoint, for `dataflare checkpoints` and the API.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckpointInfo {
  readonly workflow: string
  readonly id: number
  readonly startedAt: number
  readonly completedAt: number
  readonly durationMs: number
  readonly full: boolean
  readonly final: boolean
  readonly positions: ReadonlyArray<SourcePosition>
  /** Bytes of encoded operator state written by this checkpoint, per node. */
  readonly stateBytes: { readonly [node: string]: number }
}

/**
 * The metadata of a record.
 *
 * @category getters
 * @since 0.1.0
 */
export const info = (record: CheckpointRecord): CheckpointInfo => {
  const stateBytes: { [node: string]: number } = {}
  for (const op of record.operators) {
    stateBytes[op.node] = (stateBytes[op.node] ?? 0) + JSON.stringify(op.upserts).length + JSON.stringify(op.deletes).length
  }
  return {
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

/**
 * The state to restore: the latest completed checkpoint's id and positions, and every operator
 * instance's full state (base snapshot plus later changes applied).
 *
 * @category models
 * @since 0.1.0
 */
export interface Restored {
  readonly id: number
  readonly final: boolean
  readonly positions: ReadonlyArray<SourcePosition>
  /**
   * `${node}/${instance}` → version and entries (values encoded), with the key group of each entry
   * (`groups[i]` for `entries[i]`; -1 for an entry of the whole instance) when it was recorded.
   */
  readonly operators: ReadonlyMap<string, RestoredOperator>
  /** What the checkpoint says about each stateful node (absent: written by an older version). */
  readonly nodes?: ReadonlyArray<NodeState> | undefined
  /** The stateless processor nodes' definitions when it was taken (absent: written by an older version). */
  readonly definitions?: ReadonlyArray<NodeDefinition> | undefined
}

/**
 * The restored state of one operator instance.
 *
 * @category models
 * @since 0.1.0
 */
export interface RestoredOperator {
  readonly version: number
  readonly entries: ReadonlyArray<readonly [string, unknown]>
  readonly groups?: ReadonlyArray<number> | undefined
}

/**
 * Rebuilds the state of the last record of `chain` from the records since its last full one.
 * `chain` must be in checkpoint order and start at (or before) a full record.
 *
 * @category utils
 * @since 0.1.0
 */
export const restoreFrom = (chain: ReadonlyArray<CheckpointRecord>): Restored | undefined => {
  if (chain.length === 0) return undefined
  let base = 0
  for (let i = chain.length - 1; i >= 0; i--) {
    if (chain[i].full) {
      base = i
      break
    }
  }
  const operators = new Map<string, { version: number; entries: Map<string, unknown>; groups: Map<string, number> | undefined }>()
  for (const record of chain.slice(base)) {
    for (const op of record.operators) {
      const key = `${op.node}/${op.instance}`
      const current = op.full || !operators.has(key)
        ? { version: op.version, entries: new Map<string, unknown>(), groups: op.groups === undefined ? undefined : new Map<string, number>() }
        : operators.get(key)!
      current.version = op.version
      // a record without groups makes the instance's groups unknown from then on
      if (op.groups === undefined) current.groups = undefined
      for (const k of op.deletes) {
        current.entries.delete(k)
        current.groups?.delete(k)
      }
      op.upserts.forEach(([k, v], i) => {
        current.entries.set(k, v)
        current.groups?.set(k, op.groups![i])
      })
      operators.set(key, current)
    }
  }
  const last = chain[chain.length - 1]
  return {
    id: last.id,
    final: last.final,
    positions: last.positions,
    operators: new Map([...operators].map(([k, v]) => {
      const entries = [...v.entries]
      const groups = v.groups
      return [k, groups === undefined ? { version: v.version, entries } : { version: v.version, entries, groups: entries.map(([e]) => groups.get(e) ?? -1) }]
    })),
    ...(last.nodes !== undefined ? { nodes: last.nodes } : {}),
    ...(last.definitions !== undefined ? { definitions: last.definitions } : {})
  }
}
