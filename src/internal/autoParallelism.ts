/**
 * `execution.parallelism: auto` (the default): what each node runs when neither the node nor the
 * workflow names a number.
 *
 * - A source that can split its input (its capabilities answer `autoParallelism`, e.g. a `csv`
 *   file large enough to pay for a thread per byte range) runs that many instances, from the
 *   machine's available cores (`os.availableParallelism()`);
 * - except when its only consumer is a sink that takes the source's encoded bytes (CSV bytes
 *   passed to PostgreSQL's COPY): that handoff exists at parallelism 1 only and is cheaper than
 *   parsing on several threads (an NDJSON sink, which takes NDJSON the source's threads encode,
 *   is no such exception);
 * - every other node runs once (processors and sinks are not split by `auto`).
 *
 * A run that resumes from a checkpoint keeps the instances the checkpoint was taken with
 * ({@link keepRestoredInstances}): the split `auto` chose then may differ from today's (another
 * machine, a file that grew), and positions of one split do not apply to another.
 */
import { availableParallelism } from "node:os"
import { isOutputEncoding } from "../Batch.ts"
import type { Restored } from "../Checkpoint.ts"
import type { SourceCapabilities } from "../Connector.ts"
import type { PreparedSink } from "../Registry.ts"
import type { PreparedNode, PreparedWorkflow } from "./prepare.ts"

/** The cores `auto` spreads a source over. */
export const autoCores = (): number => availableParallelism()

/** Whether a sink writes the encoded form the source can emit (the planner then hands it bytes). */
const takesEncoded = (capabilities: SourceCapabilities, sink: PreparedSink): boolean => {
  const accepted = sink.capabilities.accepts ?? []
  // an encoding of the records handed on (NDJSON) is made by the source's threads: no reason for one
  return (capabilities.encodes ?? []).some((f) => accepted.includes(f) && !isOutputEncoding(f))
}

/**
 * The instances `auto` gives a source: what its `autoParallelism` answers for `cores`, or 1 (no
 * answer, an answer that is not a positive integer, or an only consumer that takes its bytes).
 */
export const autoSourceInstances = (
  capabilities: SourceCapabilities,
  consumers: ReadonlyArray<PreparedNode>,
  id: string,
  cores: number
): number => {
  const answer = capabilities.autoParallelism?.(cores)
  if (answer === undefined || !Number.isInteger(answer) || answer <= 1) return 1
  const [only] = consumers
  if (
    consumers.length === 1 && only.kind === "sink" && only.node.key_by === undefined && only.node.inputs.length === 1 &&
    only.node.inputs[0] === id && takesEncoded(capabilities, only.sink)
  ) return 1
  return Math.min(answer, capabilities.maxParallelism ?? answer)
}

/**
 * The prepared workflow with every source whose instances `auto` chose running as many instances
 * as the checkpoint to restore holds positions for (unchanged without one).
 */
export const keepRestoredInstances = (workflow: PreparedWorkflow, restored: Restored | undefined): PreparedWorkflow => {
  if (restored === undefined) return workflow
  let changed = false
  const nodes = workflow.nodes.map((n): PreparedNode => {
    if (n.kind !== "source" || n.auto !== true) return n
    const saved = new Set(restored.positions.filter((p) => p.node === n.node.id).map((p) => p.instance)).size
    if (saved === 0 || saved === n.parallelism) return n
    changed = true
    return { ...n, parallelism: saved }
  })
  return changed ? { ...workflow, nodes } : workflow
}
