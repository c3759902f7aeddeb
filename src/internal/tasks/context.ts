/**
 * What every task of a run shares: the coordinator, the state restored from, the live counters,
 * and how a task's failure is blamed on its node.
 */
import { Cause, Effect, type Scope } from "effect"
import type { AdaptiveBatcher } from "../../AdaptiveBatcher.ts"
import { type Restored, RestoreError } from "../../Checkpoint.ts"
import type { SourceLag } from "../../Connector.ts"
import { NodeError } from "../../Errors.ts"
import { StateBackendError } from "../../StateBackend.ts"
import type { Coordinator } from "../coordinator.ts"
import type { Latency } from "../latency.ts"

/**
 * Live counters of one node instance: plain fields the task's loop increments (no Effect, no
 * allocation), read by progress reports and, at scrape time, by metrics.
 */
export interface NodeCounters {
  readonly id: string
  readonly kind: "source" | "processor" | "sink"
  readonly type: string
  readonly instance: number
  recordsIn: number
  recordsOut: number
  batchesIn: number
  batchesOut: number
  /** Failures of this instance's task (each one fails the attempt). */
  errors: number
  /** Sources and sinks: the connector is open (set once `open` and a sink's `restore` are done). */
  open: boolean
  /** Sources: how far the source is behind its input, as its reader last measured it. */
  lag?: (() => SourceLag | undefined) | undefined
  /** Entries the connector appended to its dead-letter output (`OpenContext.onDeadLetters`). */
  deadLetters: number
  /** Sinks: how long after the read each batch was written (see latency.ts). */
  readonly latency?: Latency | undefined
}

/**
 * The counts of an instance that has not run (yet, or again): nothing in or out, no error, no dead
 * letter, and its connector not open (a processor has none to open: it counts as open).
 */
export const zeroCounts = (kind: NodeCounters["kind"]) => ({
  recordsIn: 0,
  recordsOut: 0,
  batchesIn: 0,
  batchesOut: 0,
  errors: 0,
  deadLetters: 0,
  open: kind === "processor"
})

/** Live view of a running workflow, for progress reporting and metrics. */
export interface Live {
  /** node id → its instances' counters (index = instance). */
  readonly counters: ReadonlyMap<string, ReadonlyArray<NodeCounters>>
  /** Fill of each task's channels: task id → [batches queued, capacity]. */
  readonly queueFill: () => ReadonlyMap<string, readonly [number, number]>
  /** Fill of every channel: task id → [batches queued, capacity] per consumer instance. */
  readonly channelFill: () => ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>
}

/** What a run starts from and reports to. */
export interface ExecuteContext {
  readonly workflow: string
  readonly coordinator: Coordinator
  readonly restored: Restored | undefined
  /** The user asked to start over (`--from-scratch`): passed to sinks as `OpenContext.fromScratch`. */
  readonly fromScratch?: boolean | undefined
  /** Every how many checkpoints an operator writes a full snapshot. */
  readonly fullEvery: number
  /** Key groups keyed state is split by (`Plan.keyGroups`). */
  readonly keyGroups: number
  /** Adaptive batchers by source node, when `execution.batching.adaptive` is on. */
  readonly batchers?: ReadonlyMap<string, AdaptiveBatcher> | undefined
  readonly onStart?: ((live: Live) => Effect.Effect<void, never, Scope.Scope>) | undefined
}

/** The coordinator's key of one task instance. */
export const keyOf = (node: string, instance: number): string => `${node}/${instance}`

/** What a task fails with. */
export type TaskError = NodeError | StateBackendError | RestoreError

/**
 * Turns any failure or defect of a task into a NodeError naming the node (interruption stays).
 * A state backend failure (it happens in whichever task completes a checkpoint) and a refused
 * restore keep their own error: they are not the node's fault.
 */
export const failNode = (node: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, TaskError, R> =>
  effect.pipe(
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
      const error = Cause.squash(cause)
      return Effect.fail(
        error instanceof NodeError || error instanceof StateBackendError || error instanceof RestoreError
          ? error
          : new NodeError({ node, cause: error })
      )
    })
  )

/** The attributes of a task's spans: workflow, node, connector type and instance. */
export const spanAttributes = (ctx: ExecuteContext, counters: NodeCounters): Record<string, unknown> => ({
  workflow: ctx.workflow,
  node: counters.id,
  type: counters.type,
  instance: counters.instance
})
