/**
 * The rule of a sink that keeps its own record of committed checkpoints — a checkpoint table in
 * the destination, written in the same transaction as the rows (the `postgres` and `mysql` sinks):
 * a run must not resume from a checkpoint **older** than the one the table holds. The rows written
 * after the restored checkpoint are already there, and would be written a second time (the newest
 * state damaged, the state directory deleted, an old copy of the state restored).
 *
 * The connector reads its table (its client calls); this module decides and words the refusal:
 * {@link aheadOf} says why a resume is refused (or `undefined`), {@link refuse} turns that into
 * the `RestoreError` of the pre-flight phase (`SinkDefinition.checkRestore`), and {@link check}
 * is that whole check around the connector's read.
 *
 * **Slack**: how far the table may be ahead of the checkpoint after an ordinary crash. 1 where the
 * rows commit with their checkpoint id *before* the checkpoint completes (at-least-once: one
 * checkpoint is in flight at a time), 0 where they are applied only once it completed (staged,
 * prepared, XA). A run from the start with `--from-scratch` is never refused: it forgets.
 *
 * @example
 * ```ts
 * import { CheckpointTable } from "dataflare"
 *
 * const holder = CheckpointTable.holderOf({ table: "orders" }, "dataflare_checkpoints", { workflow: "w", node: "sink", instance: 0 })
 * CheckpointTable.aheadOf(holder, 7, 5, 0, false)?.reason
 * // "table 'orders' already holds the rows of checkpoint 7 (sink instance 'sink#0' of workflow 'w' in dataflare_checkpoints), ..."
 * ```
 * @since 0.4.0
 */
import { Effect } from "effect"
import { RestoreError } from "../../Checkpoint.ts"
import type { SinkRestoreContext } from "../../Connector.ts"

/**
 * Who committed what, for the message of a refusal.
 *
 * @category models
 * @since 0.4.0
 */
export interface Holder {
  /** The destination table, as configured. */
  readonly table: string
  /** The workflow name the rows are recorded under. */
  readonly workflow: string
  /** The sink instance: `node#instance`. */
  readonly node: string
  /** The checkpoint table, as the user would look for it. */
  readonly checkpointTable: string
}

/**
 * Why a resume is refused, and the way out.
 *
 * @category models
 * @since 0.4.0
 */
export interface Refusal {
  readonly reason: string
  readonly remedy: string
}

/**
 * The {@link Holder} of a sink instance: the config's `table` and `workflow` (default: the run's)
 * and the instance key `node#instance` under which its checkpoint row is written.
 *
 * @category constructors
 * @since 0.4.0
 */
export const holderOf = (
  config: { readonly table: string; readonly workflow?: string | undefined },
  checkpointTable: string,
  context: Pick<SinkRestoreContext, "workflow" | "node" | "instance">
): Holder => ({
  table: config.table,
  workflow: config.workflow ?? context.workflow,
  node: `${context.node}#${context.instance}`,
  checkpointTable
})

/**
 * Why resuming from `restored` is refused when the instance committed `committed`, or
 * `undefined` when it may go on: nothing committed, a run from the start with `fromScratch`, or
 * the table at most `slack` checkpoints ahead (see the module documentation).
 *
 * @category rules
 * @since 0.4.0
 */
export const aheadOf = (
  holder: Holder,
  committed: number | undefined,
  restored: number | undefined,
  slack: 0 | 1,
  fromScratch: boolean
): Refusal | undefined => {
  if (committed === undefined) return undefined
  if (restored === undefined && fromScratch) return undefined
  if (committed <= (restored ?? 0) + slack) return undefined
  const from = restored === undefined ? "from the start (the state holds no checkpoint: was it deleted?)" : `from checkpoint ${restored}`
  return {
    reason: `table '${holder.table}' already holds the rows of checkpoint ${committed} (sink instance '${holder.node}' of workflow '${holder.workflow}' in ${holder.checkpointTable}), ` +
      `but the run would resume ${from}: the rows written after ${restored === undefined ? "the start" : `checkpoint ${restored}`} would be written twice`,
    remedy: `restore the state that has checkpoint ${committed}, or run with --from-scratch to start over (the rows already in the table stay: empty it first, or use mode: replace)`
  }
}

/**
 * The pre-flight refusal of {@link aheadOf} as a `RestoreError` naming the node and the
 * checkpoint the run would restore; succeeds when there is nothing to refuse.
 *
 * @category rules
 * @since 0.4.0
 */
export const refuse = (
  context: Pick<SinkRestoreContext, "node" | "checkpoint">,
  refusal: Refusal | undefined
): Effect.Effect<void, RestoreError> =>
  refusal === undefined ? Effect.void : Effect.fail(
    new RestoreError({
      node: context.node,
      ...(context.checkpoint !== undefined ? { checkpoint: context.checkpoint } : {}),
      reason: refusal.reason,
      remedy: refusal.remedy
    })
  )

/**
 * The whole pre-flight check of a sink with a checkpoint table (`SinkDefinition.checkRestore`):
 * `committed` reads the instance's row (the connector's client calls; `undefined` when there is
 * no row or no table), and the run is refused with a `RestoreError` when the table is ahead.
 *
 * @example
 * ```ts
 * checkRestore: (config, context) =>
 *   CheckpointTable.check({
 *     holder: CheckpointTable.holderOf(config, "dataflare_checkpoints", context),
 *     committed: (holder) => readCommitted(config, holder.workflow, holder.node),
 *     slack: 0,
 *     context
 *   })
 * ```
 * @category rules
 * @since 0.4.0
 */
export const check = <E, R>(options: {
  readonly holder: Holder
  readonly committed: (holder: Holder) => Effect.Effect<number | undefined, E, R>
  readonly slack: 0 | 1
  readonly context: SinkRestoreContext
}): Effect.Effect<void, E | RestoreError, R> =>
  Effect.flatMap(options.committed(options.holder), (committed) =>
    refuse(
      options.context,
      aheadOf(options.holder, committed, options.context.checkpoint, options.slack, options.context.fromScratch === true)
    ))
