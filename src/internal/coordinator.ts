/**
 * The checkpoint coordinator of one workflow run.
 *
 * It requests checkpoint `n` (sources inject barrier `n` before their next read), collects what
 * each task reports when the barrier passes it (source positions, operator state, sink
 * acknowledgements), and when every task has reported — or has ended, in which case its final
 * report stands in — it completes the checkpoint: the record is written to the state backend,
 * then sources commit their positions and exactly-once sinks commit. One checkpoint is in flight
 * at a time. When every task has ended, the final checkpoint is completed the same way.
 *
 * A stop comes in two kinds:
 * - `drain`: sources stop reading and end; operators then emit what they hold (windows fire,
 *   whole-input aggregates emit their totals) and the final checkpoint marks the run complete.
 * - `checkpoint` (the default of a graceful stop): no new periodic checkpoint starts; once the
 *   one in flight (if any) has completed, a last checkpoint is taken, and every source stops
 *   right after injecting its barrier, so nothing is read after it. Its record holds every
 *   operator's state *as it is*; once it has completed the run is `halted`: tasks end without
 *   `onEnd`, sinks without a final flush, and a resume continues exactly where it stopped.
 */
import { Cause, Clock, Deferred, Effect, Exit } from "effect"
import type { Position } from "../Batch.ts"
import type { CheckpointRecord, OperatorState, SourcePosition } from "../Checkpoint.ts"
import * as Checkpoint from "../Checkpoint.ts"
import { NodeError } from "../Errors.ts"
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

/** How a run stops before its inputs end (see the module doc). */
export type StopMode = "drain" | "checkpoint"

export interface Coordinator {
  /** The latest checkpoint id requested (sources inject it when they see it is newer). */
  readonly requested: () => number
  /** The stop asked for, if any. */
  readonly stopMode: () => StopMode | undefined
  /** Asks the run to stop (the first request decides how). */
  readonly requestStop: (mode: StopMode) => void
  /**
   * With a `checkpoint` stop: the id of the stop checkpoint, once it has been requested (every
   * source calls it; the first waits for the checkpoint in flight, then requests it). `undefined`
   * when every source has already ended (the run completes as usual).
   */
  readonly stopAt: Effect.Effect<number | undefined, unknown>
  /** True once a `checkpoint` stop's checkpoint has completed: tasks then end without finishing. */
  readonly halted: () => boolean
  /** Requests a checkpoint (unless one is in flight or every source ended); returns its completion. */
  readonly trigger: Effect.Effect<Deferred.Deferred<void, unknown> | undefined, unknown>
  /** A source instance's position at barrier `id`, with what its `identify` said about the input there. */
  readonly sourcePosition: (node: string, instance: number, id: number, position: Position, input: unknown) => Effect.Effect<void, unknown>
  readonly sourceEnded: (node: string, instance: number, position: Position, input: unknown) => Effect.Effect<void, unknown>
  readonly operatorState: (id: number, state: OperatorState) => Effect.Effect<void, unknown>
  readonly operatorEnded: (state: OperatorState) => Effect.Effect<void, unknown>
  readonly sinkAck: (node: string, instance: number, id: number) => Effect.Effect<void, unknown>
  /**
   * A sink instance has written all its input. Its `preCommit` (if it has one) is then called by
   * the coordinator for every later checkpoint, including the final one, before the checkpoint
   * record is written; a checkpoint completes only once every such pre-commit of it has
   * succeeded. Their failures are NodeErrors naming `node`, whichever task runs them.
   */
  readonly sinkEnded: (
    node: string,
    instance: number,
    preCommit: ((id: number) => Effect.Effect<void, unknown>) | undefined
  ) => Effect.Effect<void, unknown>
  /**
   * Registers what to run when a checkpoint completes (commit positions, commit sinks). A failure
   * of `f` is blamed on `node` (a NodeError naming it), whichever task completed the checkpoint.
   */
  readonly onComplete: (node: string, f: (id: number, positions: ReadonlyMap<Key, Position>) => Effect.Effect<void, unknown>) => void
  /** Completes when the final checkpoint (or a `checkpoint` stop's checkpoint) is written and committed. */
  readonly final: Deferred.Deferred<number, unknown>
  /** The id of the last completed checkpoint (0 when none). */
  readonly lastCompleted: () => number
}

/** A sink's pre-commit whose failure is a NodeError naming the sink, whichever task runs it. */
const blamed = (node: string, preCommit: (id: number) => Effect.Effect<void, unknown>) => (id: number) =>
  Effect.mapError(preCommit(id), (cause) => (cause instanceof NodeError ? cause : new NodeError({ node, cause })))

const sourcePosition = (node: string, instance: number, position: Position, input: unknown): SourcePosition =>
  input === undefined ? { node, instance, position } : { node, instance, position, input }

export const makeCoordinator = (options: {
  readonly workflow: string
  readonly participants: Participants
  readonly backend: Backend | undefined
  /** The checkpoint restored from, if any (ids continue after it). */
  readonly restoredId: number
  /** Write a full snapshot every this many checkpoints (others are incremental). */
  readonly fullEvery: number
  /** What every record keeps about the stateful nodes (see fingerprint.ts). */
  readonly nodes: ReadonlyArray<Checkpoint.NodeState>
  /** What every record keeps about the stateless processor nodes (see fingerprint.ts). */
  readonly definitions?: ReadonlyArray<Checkpoint.NodeDefinition> | undefined
  readonly onCheckpoint?: ((info: Checkpoint.CheckpointInfo) => Effect.Effect<void>) | undefined
  /** Told when checkpoint `id` fails (its record not written, or a commit failed). */
  readonly onCheckpointFailed?: ((id: number) => Effect.Effect<void>) | undefined
}): Coordinator => {
  let requested = options.restoredId
  let completed = options.restoredId
  let stop: StopMode | undefined
  let stopCheckpoint: Deferred.Deferred<number | undefined, unknown> | undefined
  let stopId: number | undefined
  let halted = false
  let pending: Pending | undefined
  const { participants } = options
  const endedSources = new Map<Key, SourcePosition>()
  const endedOperators = new Map<Key, OperatorState>()
  // an ended sink's pre-commit, its failures blamed on the sink (it may run in another task)
  const endedSinks = new Map<Key, ((id: number) => Effect.Effect<void, unknown>) | undefined>()
  const commits: Array<(id: number, positions: ReadonlyMap<Key, Position>) => Effect.Effect<void, unknown>> = []
  const final = Deferred.makeUnsafe<number, unknown>()
  const failed = (id: number, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
    options.onCheckpointFailed === undefined || Cause.hasInterruptsOnly(cause) ? Effect.void : options.onCheckpointFailed(id)
  // a failure outside any task (a checkpoint's start runs in whoever triggered it) fails the run:
  // every task that has ended waits for `final`
  const failRun = (cause: Cause.Cause<unknown>): void => {
    if (!Cause.hasInterruptsOnly(cause)) Deferred.doneUnsafe(final, Exit.failCause(cause))
  }
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
        format: 2,
        workflow: options.workflow,
        id,
        startedAt,
        completedAt,
        full: operators.every((o) => o.full),
        positions,
        operators,
        final: isFinal,
        nodes: options.nodes,
        ...(options.definitions !== undefined ? { definitions: options.definitions } : {})
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
      // an ended sink counts once it has pre-committed `p` (acked by sinkEnded or start), not as soon
      // as it has ended: start may still be running its pre-commit
      participants.sinks.every((k) => p.acks.has(k))
    if (!ready) return Effect.void
    pending = undefined
    const positions = participants.sources.map((k) => p.positions.get(k) ?? endedSources.get(k)!)
    const operators = participants.operators.map((k) => p.operators.get(k) ?? endedOperators.get(k)!)
    return complete(p.id, p.startedAt, positions, operators, false).pipe(
      Effect.tapCause((cause) => failed(p.id, cause)),
      Effect.exit,
      Effect.flatMap((exit) => {
        Deferred.doneUnsafe(p.done, Exit.isSuccess(exit) ? Exit.void : Exit.failCause(exit.cause))
        if (Exit.isSuccess(exit) && p.id === stopId) {
          halted = true
          Deferred.doneUnsafe(final, Exit.succeed(p.id))
          return Effect.void
        }
        return Exit.isSuccess(exit) ? tryFinal : Effect.failCause(exit.cause)
      })
    )
  })

  // Two tasks ending close together can both find every participant ended (the first one still
  // pre-committing a pending checkpoint when the second ends): only one takes the final checkpoint,
  // or a sink would pre-commit it twice at once (the same postgres epoch marked twice).
  let finalStarted = false
  const tryFinal: Effect.Effect<void, unknown> = Effect.suspend(() => {
    if (finalStarted || !allEnded() || Deferred.isDoneUnsafe(final) || pending !== undefined) return Effect.void
    finalStarted = true
    const id = Math.max(requested, completed) + 1
    requested = id
    // a failing pre-commit ends the final checkpoint too (it may run outside any task: see start)
    return Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      for (const preCommit of endedSinks.values()) if (preCommit !== undefined) yield* preCommit(id)
      const positions = participants.sources.map((k) => endedSources.get(k)!)
      const operators = participants.operators.map((k) => endedOperators.get(k)!)
      yield* complete(id, startedAt, positions, operators, true)
    }).pipe(
      Effect.tapCause((cause) => failed(id, cause)),
      Effect.exit,
      Effect.map((exit) => Deferred.doneUnsafe(final, Exit.isSuccess(exit) ? Exit.succeed(id) : Exit.failCause(exit.cause)))
    )
  })

  /** Starts checkpoint `requested + 1` (none in flight); `undefined` when every source has ended. */
  const start = Effect.gen(function*() {
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
      // sinks that already ended take part by pre-committing at once (their writer stays open); one
      // that ends meanwhile has pre-committed `p` itself (sinkEnded) before it shows up here
      for (const [k, preCommit] of endedSinks) {
        if (p.acks.has(k)) continue
        if (preCommit !== undefined) {
          const exit = yield* Effect.exit(preCommit(p.id))
          if (Exit.isFailure(exit)) {
            // `p` stays pending without this ack: it never completes, nor does the final checkpoint
            yield* failed(p.id, exit.cause)
            Deferred.doneUnsafe(p.done, Exit.failCause(exit.cause))
            failRun(exit.cause)
            return yield* Effect.failCause(exit.cause)
          }
        }
        p.acks.add(k)
      }
      // every other task may have reported while those pre-commits ran: the last ack was ours
      yield* Effect.tapCause(tryComplete, (cause) => Effect.sync(() => failRun(cause)))
      return p.done
    })

  const stopAt: Effect.Effect<number | undefined, unknown> = Effect.suspend(() => {
    if (stopCheckpoint !== undefined) return Deferred.await(stopCheckpoint)
    const decided = Deferred.makeUnsafe<number | undefined, unknown>()
    stopCheckpoint = decided
    return Effect.gen(function*() {
      // a checkpoint in flight has barriers that sources already passed: let it complete first
      while (pending !== undefined) yield* Deferred.await(pending.done)
      const done = yield* start
      stopId = done === undefined ? undefined : requested
      return stopId
    }).pipe(Effect.onExit((exit) => Effect.sync(() => Deferred.doneUnsafe(decided, exit))))
  })

  return {
    requested: () => requested,
    stopMode: () => stop,
    requestStop: (mode) => {
      if (stop === undefined) stop = mode
    },
    stopAt,
    halted: () => halted,
    // no periodic checkpoint starts once a stop is asked for (the stop takes its own)
    trigger: Effect.suspend(() => (stop === undefined ? start : Effect.succeed(pending?.done))),
    sourcePosition: (node, instance, id, position, input) =>
      Effect.suspend(() => {
        if (pending?.id === id) pending.positions.set(key(node, instance), sourcePosition(node, instance, position, input))
        return tryComplete
      }),
    sourceEnded: (node, instance, position, input) =>
      Effect.suspend(() => {
        endedSources.set(key(node, instance), sourcePosition(node, instance, position, input))
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
        // pre-commits the checkpoint in flight before it counts as ended: until then that checkpoint
        // cannot complete, nor the final one start, so no other pre-commit of this sink overlaps it
        const p = pending
        if (p !== undefined && !p.acks.has(k)) {
          if (preCommit !== undefined) {
            const exit = yield* Effect.exit(blamed(node, preCommit)(p.id))
            if (Exit.isFailure(exit)) {
              // `p` can never complete without this ack: fail it (and the run) now, so whoever
              // waits for it (a stop, a source's trigger) learns at once instead of at teardown
              yield* failed(p.id, exit.cause)
              Deferred.doneUnsafe(p.done, Exit.failCause(exit.cause))
              failRun(exit.cause)
              return yield* Effect.failCause(exit.cause)
            }
          }
          p.acks.add(k)
        }
        endedSinks.set(k, preCommit === undefined ? undefined : blamed(node, preCommit))
        yield* tryComplete
        yield* tryFinal
      }),
    onComplete: (node, f) => {
      commits.push((id, positions) =>
        Effect.mapError(f(id, positions), (cause) => (cause instanceof NodeError ? cause : new NodeError({ node, cause }))))
    },
    final,
    lastCompleted: () => completed
  }
}
