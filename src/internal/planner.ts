/**
 * The planner: turns a prepared workflow into tasks. Consecutive stateless processors with the
 * same parallelism, where each reads only from the one before and is the only reader of it, are
 * fused into one task that runs one loop per batch (operator chaining).
 */
import type { Batch } from "../Batch.ts"
import type { Step } from "../Processor.ts"
import type { PreparedSink, PreparedSource } from "../Registry.ts"
import type { PreparedNode, PreparedWorkflow } from "./prepare.ts"

interface TaskBase {
  /** Task id: the id of its (first) node. */
  readonly id: string
  /** Ids of the tasks this task reads from. */
  readonly inputs: ReadonlyArray<string>
  /** Ids of the tasks that read from this task. */
  readonly outputs: ReadonlyArray<string>
  readonly parallelism: number
}

/** One task of the plan. */
export type PlannedTask =
  | (TaskBase & { readonly _tag: "Source"; readonly source: PreparedSource })
  | (TaskBase & { readonly _tag: "Sink"; readonly sink: PreparedSink })
  | (TaskBase & {
    readonly _tag: "Batch"
    readonly process: (batch: Batch<unknown>) => import("effect").Effect.Effect<ReadonlyArray<unknown>, unknown>
  })
  | (TaskBase & {
    readonly _tag: "Stateless"
    /** The fused nodes, in order. */
    readonly nodes: ReadonlyArray<string>
    /** The steps of each fused node. */
    readonly steps: ReadonlyArray<ReadonlyArray<Step>>
  })

/** The execution plan: tasks in topological order. */
export interface Plan {
  readonly workflow: PreparedWorkflow
  readonly tasks: ReadonlyArray<PlannedTask>
  /** The task that runs a node. */
  readonly taskOf: (node: string) => PlannedTask
  /** Fused chains (2 nodes or more), for `plan` output. */
  readonly chains: ReadonlyArray<ReadonlyArray<string>>
}

const isStateless = (n: PreparedNode): boolean => n.kind === "processor" && n.processor._tag === "Stateless"

/** Builds the plan. */
export const plan = (workflow: PreparedWorkflow): Plan => {
  const byId = new Map(workflow.nodes.map((n) => [n.node.id, n]))
  const consumersOf = (id: string) => workflow.consumers.get(id) ?? []
  // node id → id of the chain head it was fused into
  const headOf = new Map<string, string>()
  const chains = new Map<string, Array<string>>()
  for (const n of workflow.nodes) {
    if (!isStateless(n)) continue
    const [input] = n.node.inputs
    const upstream = n.node.inputs.length === 1 ? byId.get(input) : undefined
    if (
      upstream !== undefined && isStateless(upstream) && upstream.parallelism === n.parallelism &&
      consumersOf(input).length === 1
    ) {
      const head = headOf.get(input)!
      headOf.set(n.node.id, head)
      chains.get(head)!.push(n.node.id)
    } else {
      headOf.set(n.node.id, n.node.id)
      chains.set(n.node.id, [n.node.id])
    }
  }
  const taskIdOf = (node: string): string => headOf.get(node) ?? node
  const tasks: Array<PlannedTask> = []
  for (const n of workflow.nodes) {
    const id = n.node.id
    if (taskIdOf(id) !== id) continue // fused into an earlier task
    const chain = chains.get(id) ?? [id]
    const last = chain[chain.length - 1]
    const base: TaskBase = {
      id,
      inputs: [...new Set(n.node.inputs.map(taskIdOf))],
      outputs: [...new Set(consumersOf(last).map(taskIdOf))],
      parallelism: n.parallelism
    }
    switch (n.kind) {
      case "source":
        tasks.push({ ...base, _tag: "Source", source: n.source })
        break
      case "sink":
        tasks.push({ ...base, _tag: "Sink", sink: n.sink })
        break
      case "processor": {
        const p = n.processor
        if (p._tag === "Batch") {
          tasks.push({ ...base, _tag: "Batch", process: p.process })
        } else {
          const steps = chain.map((nodeId) => {
            const m = byId.get(nodeId)!
            return m.kind === "processor" && m.processor._tag === "Stateless" ? m.processor.steps : []
          })
          tasks.push({ ...base, _tag: "Stateless", nodes: chain, steps })
        }
      }
    }
  }
  const byTask = new Map(tasks.map((t) => [t.id, t]))
  return {
    workflow,
    tasks,
    taskOf: (node) => byTask.get(taskIdOf(node))!,
    chains: [...chains.values()].filter((c) => c.length > 1)
  }
}
