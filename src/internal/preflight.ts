/**
 * The pre-flight phase of a run: after the state lock is taken and before any connector opens,
 * decide whether the state to restore still applies. Every refusal is a {@link RestoreError}
 * naming the node, what changed and the way out, raised before any output is touched:
 * - a stateful node whose saved state does not fit it any more (fingerprint.ts);
 * - a source instance with no saved position (its parallelism changed), or one that its declared
 *   position Schema does not decode (`SourceDefinition.position`);
 * - a source's `checkRestore` (e.g. a file replaced under its saved position);
 * - a sink's `checkRestore` (e.g. a sink that committed a later checkpoint than the one restored).
 */
import { Effect } from "effect"
import { decodeStored } from "../connectors/kit/Positions.ts"
import { type Restored, RestoreError } from "../Checkpoint.ts"
import type { ConnectorError } from "../Errors.ts"
import { NodeError } from "../Errors.ts"
import { checkNodes } from "./fingerprint.ts"
import type { Plan } from "./planner.ts"

/**
 * Runs every check; fails with the first refusal (a connector failure is blamed on its node).
 * Returns the state to restore, without the state of the nodes in `drop`. `fromScratch`: the
 * user asked to start over (sinks are told, see `SinkRestoreContext.fromScratch`).
 */
export const preflight = (
  plan: Plan,
  found: Restored | undefined,
  drop: ReadonlySet<string>,
  fromScratch = false
): Effect.Effect<Restored | undefined, RestoreError | NodeError> =>
  Effect.gen(function*() {
    const restored = yield* checkNodes(plan, found, drop)
    const workflow = plan.workflow.graph.name
    const blame = (node: string) => <A>(effect: Effect.Effect<A, RestoreError | ConnectorError>) =>
      Effect.mapError(effect, (error) => (error instanceof RestoreError ? error : new NodeError({ node, cause: error })))
    for (const task of plan.tasks) {
      if (task._tag === "Source" && restored !== undefined) {
        for (let instance = 0; instance < task.parallelism; instance++) {
          const saved = restored.positions.find((p) => p.node === task.id && p.instance === instance)
          if (saved === undefined) {
            const before = restored.positions.filter((p) => p.node === task.id).length
            return yield* new RestoreError({
              node: task.id,
              checkpoint: restored.id,
              reason: before === 0
                ? "the checkpoint holds no position for this source (was it added or renamed since?)"
                : `the checkpoint holds positions for ${before} instance(s) of this source, the workflow now runs ${task.parallelism}`,
              remedy: "run with --from-scratch to read every source from the start (or restore the earlier definition)"
            })
          }
          // the stored position must be one of the source's (its declared Schema), before anything opens
          const position = yield* decodeStored(task.source.position, { node: task.id, instance, checkpoint: restored.id }, saved.position)
          const check = task.source.checkRestore
          if (check === undefined) continue
          yield* check({
            workflow,
            node: task.id,
            instance,
            parallelism: task.parallelism,
            checkpoint: restored.id,
            final: restored.final,
            position,
            input: saved.input
          }).pipe(blame(task.id))
        }
      }
      if (task._tag === "Sink" && task.sink.checkRestore !== undefined) {
        for (let instance = 0; instance < task.parallelism; instance++) {
          yield* task.sink.checkRestore({
            workflow,
            node: task.id,
            instance,
            parallelism: task.parallelism,
            checkpoint: restored?.id,
            ...(fromScratch ? { fromScratch: true } : {})
          }).pipe(blame(task.id))
        }
      }
    }
    return restored
  })
