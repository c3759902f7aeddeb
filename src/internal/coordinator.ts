/**
 * The checkpoint coordinator of one workflow run.
 *
 * It requests checkpoint `n` (sources inject barrier `n` before their next read), collects what
 * each task reports when the barrier passes it (source positions, operator state, sink
 * acknowledgements), and when every task has reported — or has ended, in which case its final
 * report stands in — it completes the checkpoint: the record is written to the state backend,
 * then sources commit their positions and exactly-once sinks commit. One checkpoint is in flight
 * at a time. When every task has ended, the final checkpoint is completed the same way.
 */
import { Clock, Deferred, Effect, Exit } from "effect"
import type { Position } from "../Batch.ts"
import type { CheckpointRecord, OperatorState, SourcePosition } from "../Checkpoint.ts"
import * as Checkpoint from "../Checkpoint.ts"
import type { Backend } from "../StateBackend.ts"

type Key = string
const key = (node: string, instance: number): Key => `${node}/${instance}`

interface Pending {
  readonly id: number
  readonly startedAt: number
  readonly positions: Map<Key, SourcePosition>
  readonly operators: Map<Key, OperatorState>
  readonly acks: Set<Key>
  readonly done: Deferred.Deferred<void, unknown>
}

/** What tasks register so the coordinator can commit after a checkpoint completes. */
export interface Participants {
  readonly sources: ReadonlyArray<Key>
  readonly operators: ReadonlyArray<Key>
  readonly sinks: ReadonlyArray<Key>
}

export interface Coordinator {
  /** The latest checkpoint id requested (sources inject it when they see it is newer). */
  readonly requested: () => number
  readonly stopRequested: () => boolean
  readonly requestStop: () => void
  /** Requests a checkpoint (unless one is in flight or every source ended); returns its completion. */
  readonly trigger: Effect.Effect<Deferred.Deferred<void, unknown> | undefined, unknown>
  readonly sourcePosition: (node: string, instance: number, id: number, position: Position) => Effect.Effect<void, unknown>
  readonly sourceEnded: (node: string, instance: number, position: Position) => Effect.Effect<void, unknown>
  readonly operatorState: (id: number, state: OperatorState) => Effect.Effect<void, unknown>
  readonly operatorEnded: (state: OperatorState) => Effect.Effect<void, unknown>
  readonly sinkAck: (node: string, instance: number, id: number) => Effect.Effect<void, unknown>
  /**
   * A sink instance has written all its input. Its `preCommit` (if it has one) is then called by
   * the coordinator for every later checkpoint, including the final one, before the checkpoint
   * record is written.
   */
  readonly sinkEnded: (
    node: string,
    instance: number,
    preCommit: ((id: number) => Effect.Effect<void, unknown>) | undefined
  ) => Effect.Effect<void, unknown>
  /** Registers what to run when a checkpoint completes (commit positions, commit sinks). */
  readonly onComplete: (f: (id: number, positions: ReadonlyMap<Key, Position>) => Effect.Effect<void, unknown>) => void
  /** Completes when the final checkpoint is written and committed. */
  readonly final: Deferred.Deferred<number, unknown>
  /** The id of the last completed checkpoint (0 when none). */
  readonly lastCompleted: () => number
}

export const makeCoordinator = (options: {
  readonly workflow: string
  readonly participants: Participants
  readonly backend: Backend | undefined
  /** The checkpoint restored from, if any (ids continue after it). */
  readonly restoredId: number
  /** Write a full snapshot every this many checkpoints (others are incremental). */
  readonly fullEvery: number
  readonly onCheckpoint?: ((info: Checkpoint.CheckpointInfo) => Effect.Effect<void>) | undefined
}): Coordinator => {
  let requested = options.restoredId
  let completed = options.restoredId
  let stop = false
  let pending: Pending | undefined
  const { participants } = options
  const endedSources = new Map<Key, SourcePosition>()
  const endedOperators = new Map<Key, OperatorState>()
  const endedSinks = new Map<Key, ((id: number) => Effect.Effect<void, unknown>) | undefined>()
  const commits: Array<(id: number, positions: ReadonlyMap<Key, Position>) => Effect.Effect<void, unknown>> = []
  const final = Deferred.makeUnsafe<number, unknown>()
  const allEnded = () =>
    participants.sources.every((k) => endedSources.has(k)) &&
    participants.operators.every((k) => endedOperators.has(k)) &&
    participants.sinks.every((k) => endedSinks.has(k))

  const complete = (
    id: number,
    startedAt: number,
    positions: ReadonlyArray<SourcePosition>,
    operators: ReadonlyArray<OperatorState>,
    isFinal: boolean
  ): Effect.Effect<void, unknown> =>
    Effect.gen(function*() {
      const completedAt = yield* Clock.currentTimeMillis
      const record: CheckpointRecord = {
        format: 1,
        workflow: options.workflow,
        id,
        startedAt,
        completedAt,
        full: operators.every((o) => o.full),
        positions,
        operators,
        final: isFinal
      }
      if (options.backend !== undefined) yield* options.backend.write(record)
      completed = id
      const byKey = new Map(positions.map((p) => [key(p.node, p.instance), p.position as Position]))
      for (const commit of commits) yield* commit(id, byKey)
      if (options.onCheckpoint !== undefined) yield* options.onCheckpoint(Checkpoint.info(record))
    })

  const tryComplete: Effect.Effect<void, unknown> = Effect.suspend(() => {
    const p = pending
    if (p === undefined) return Effect.void
    const ready = participants.sources.every((k) => p.positions.has(k) || endedSources.has(k)) &&
      participants.operators.every((k) => p.operators.has(k) || endedOperators.has(k)) &&
      participants.sinks.every((k) => p.acks.has(k) || endedSinks.has(k))
    if (!ready) return Effect.void
    pending = undefined
    const positions = participants.sources.map((k) => p.positions.get(k) ?? endedSources.get(k)!)
    const operators = participants.operators.map((k) => p.operators.get(k) ?? endedOperators.get(k)!)
    return complete(p.id, p.startedAt, positions, operators, false).pipe(
      Effect.exit,
      Effect.flatMap((exit) => {
        Deferred.doneUnsafe(p.done, Exit.isSuccess(exit) ? Exit.void : Exit.failCause(exit.cause))
        return Exit.isSuccess(exit) ? tryFinal : Effect.failCause(exit.cause)
      })
    )
  })

  const tryFinal: Effect.Effect<void, unknown> = Effect.suspend(() => {
    if (!allEnded() || Deferred.isDoneUnsafe(final) || pending !== undefined) return Effect.void
    const id = Math.max(requested, completed) + 1
    requested = id
    return Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      for (const preCommit of endedSinks.values()) if (preCommit !== undefined) yield* preCommit(id)
      const positions = participants.sources.map((k) => endedSources.get(k)!)
      const operators = participants.operators.map((k) => endedOperators.get(k)!)
      const exit = yield* Effect.exit(complete(id, startedAt, positions, operators, true))
      Deferred.doneUnsafe(final, Exit.isSuccess(exit) ? Exit.succeed(id) : Exit.failCause(exit.cause))
    })
  })

  return {
    requested: () => requested,
    stopRequested: () => stop,
    requestStop: () => {
      stop = true
    },
    trigger: Effect.gen(function*() {
      if (pending !== undefined) return pending.done
      if (participants.sources.every((k) => endedSources.has(k))) return undefined
      const startedAt = yield* Clock.currentTimeMillis
      requested = Math.max(requested, completed) + 1
      const p: Pending = {
        id: requested,
        startedAt,
        positions: new Map(),
        operators: new Map(),
        acks: new Set(),
        done: Deferred.makeUnsafe<void, unknown>()
      }
      pending = p
      // sinks that already ended take part by pre-committing at once (their writer stays open)
      for (const [k, preCommit] of endedSinks) {
        if (preCommit !== undefined) yield* preCommit(p.id)
        p.acks.add(k)
      }
      return p.done
    }),
    sourcePosition: (node, instance, id, position) =>
      Effect.suspend(() => {
        if (pending?.id === id) pending.positions.set(key(node, instance), { node, instance, position })
        return tryComplete
      }),
    sourceEnded: (node, instance, position) =>
      Effect.suspend(() => {
        endedSources.set(key(node, instance), { node, instance, position })
        return tryComplete
      }),
    operatorState: (id, state) =>
      Effect.suspend(() => {
        if (pending?.id === id) pending.operators.set(key(state.node, state.instance), state)
        return tryComplete
      }),
    operatorEnded: (state) =>
      Effect.suspend(() => {
        endedOperators.set(key(state.node, state.instance), state)
        return tryComplete
      }),
    sinkAck: (node, instance, id) =>
      Effect.suspend(() => {
        if (pending?.id === id) pending.acks.add(key(node, instance))
        return tryComplete
      }),
    sinkEnded: (node, instance, preCommit) =>
      Effect.gen(function*() {
        const k = key(node, instance)
        endedSinks.set(k, preCommit)
        const p = pending
        if (p !== undefined && !p.acks.has(k)) {
          if (preCommit !== undefined) yield* preCommit(p.id)
          p.acks.add(k)
        }
        yield* tryComplete
        yield* tryFinal
      }),
    onComplete: (f) => {
      commits.push(f)
    },
    final,
    lastCompleted: () => completed
  }
}
