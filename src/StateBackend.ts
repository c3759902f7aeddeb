/**
 * State backends: where completed checkpoints are kept.
 *
 * One interface, several stores: in-memory (tests, and restarts inside one process), an embedded
 * durable store under the workflow's state directory (the default of `dataflare run`), and
 * PostgreSQL (when several processes share state). A backend writes each completed checkpoint
 * atomically — a crash in the middle of a write leaves the previous checkpoint usable — and
 * returns the state to restore: the latest complete checkpoint, rebuilt from its last full
 * snapshot and the incremental records after it.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { type CheckpointInfo, type CheckpointRecord, info, type Restored, restoreFrom } from "./Checkpoint.ts"

/**
 * A state backend failed to read or write, or refused to. `reason` says which refusals a restart
 * cannot help with:
 * - `LockHeld`: another process writes this workflow's state (the message names it: pid and
 *   host, or the PostgreSQL session);
 * - `Fenced`: this process lost its writer lease (a newer writer took the state over), so it
 *   must not write any more;
 * - `Io` (or absent): the store failed (disk full, server gone): a restart may help.
 *
 * @category errors
 * @since 0.1.0
 */
export class StateBackendError extends Schema.TaggedError<StateBackendError>()("StateBackendError", {
  backend: Schema.String,
  operation: Schema.String,
  message: Schema.String,
  reason: Schema.optional(Schema.Literals(["LockHeld", "Fenced", "Io"])),
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Whether a backend error is a refusal that a restart cannot help with (`LockHeld`, `Fenced`).
 *
 * @category errors
 * @since 0.1.0
 */
export const isRefusal = (error: StateBackendError): boolean => error.reason === "LockHeld" || error.reason === "Fenced"

/**
 * The backend interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Backend {
  readonly name: string
  /** Stores a completed checkpoint, atomically. */
  readonly write: (record: CheckpointRecord) => Effect.Effect<void, StateBackendError>
  /** The state of the latest completed checkpoint of a workflow, if any. */
  readonly latest: (workflow: string) => Effect.Effect<Restored | undefined, StateBackendError>
  /** Metadata of the last `limit` checkpoints, newest first. */
  readonly list: (workflow: string, limit: number) => Effect.Effect<ReadonlyArray<CheckpointInfo>, StateBackendError>
  /** Forgets every checkpoint of a workflow (`--from-scratch`). */
  readonly clear: (workflow: string) => Effect.Effect<void, StateBackendError>
  /**
   * Takes the single-writer lease of a workflow's state for the life of the scope, or fails
   * with a `LockHeld` {@link StateBackendError} naming the holder. The runtime takes it before it
   * opens any connector, so a second instance of a running workflow is refused before it touches
   * any output. While it is held, `write` and `clear` of that workflow by anyone else are refused
   * (`Fenced` when this lease was taken over). A backend without `lock` gives no single-writer
   * guarantee.
   */
  readonly lock?: ((workflow: string) => Effect.Effect<void, StateBackendError, Scope.Scope>) | undefined
}

/**
 * The state backend service used by the runtime.
 *
 * @category services
 * @since 0.1.0
 */
export class StateBackend extends Context.Service<StateBackend, Backend>()("dataflare/StateBackend") {}

/**
 * How many checkpoint records a backend keeps at least (older ones are pruned once a newer
 * full snapshot exists).
 *
 * @category constants
 * @since 0.1.0
 */
export const RETAIN = 10

/**
 * Records to keep: the last `RETAIN`, and everything back to the last full one before them.
 *
 * @category utils
 * @since 0.1.0
 */
export const retained = (records: ReadonlyArray<CheckpointRecord>): ReadonlyArray<CheckpointRecord> => {
  if (records.length <= RETAIN) return records
  let start = records.length - RETAIN
  while (start > 0 && !records[start].full) start--
  return records.slice(start)
}

/**
 * An in-memory backend (for tests, and for restarts within one process).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory = (): Backend => {
  const store = new Map<string, Array<CheckpointRecord>>()
  const leases = new Set<string>()
  return {
    name: "memory",
    write: (record) =>
      Effect.sync(() => {
        const list = [...(store.get(record.workflow) ?? []), record]
        store.set(record.workflow, [...retained(list)])
      }),
    latest: (workflow) => Effect.sync(() => restoreFrom(store.get(workflow) ?? [])),
    list: (workflow, limit) => Effect.sync(() => (store.get(workflow) ?? []).slice(-limit).reverse().map(info)),
    clear: (workflow) => Effect.sync(() => void store.delete(workflow)),
    lock: (workflow) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          if (leases.has(workflow)) {
            return Effect.fail(
              new StateBackendError({
                backend: "memory",
                operation: "lock",
                reason: "LockHeld",
                message: `workflow '${workflow}' is already running in this process with this memory backend`
              })
            )
          }
          leases.add(workflow)
          return Effect.void
        }),
        () => Effect.sync(() => void leases.delete(workflow))
      )
  }
}

/**
 * A Layer with a fresh in-memory backend.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<StateBackend> = Layer.sync(StateBackend, makeMemory)
