/**
 * The planner: turns a prepared workflow into an execution plan.
 *
 * - Tasks: one per node, except that consecutive stateless processors with the same parallelism,
 *   where each reads only from the one before and is the only reader of it, are fused into one
 *   task that runs one loop per batch (operator chaining).
 * - Edges: every task input names the producing task and port (`main`, a side output such as
 *   `late`, or a node's dead letters sent to a destination, `dead_letter:<node>`), and whether
 *   the consumer partitions by key (then each consumer instance has its own queue and producers
 *   route records by key hash).
 * - Chaining: which tasks run in their source's fiber instead of their own (`runsIn`).
 * - Stages: tasks grouped by depth (longest path from a source), for `plan` output.
 */
import type { Effect } from "effect"
import { type Batch, type Encoded, isOutputEncoding } from "../Batch.ts"
import type { DeliveryGuarantee, FusedNode } from "../Connector.ts"
import type { BatchProcessor, Step, StatefulProcessor } from "../Processor.ts"
import type { PreparedSink, PreparedSource } from "../Registry.ts"
import { DEFAULT_KEY_GROUPS } from "./keyGroups.ts"
import { deadLetterPort, type PreparedNode, type PreparedWorkflow, splitInput } from "./prepare.ts"

/** Where a task reads from. */
export interface TaskInput {
  /** The producing task. */
  readonly task: string
  /** The producer's output port: `main`, or a side output name. */
  readonly port: string
}

interface TaskBase {
  /** Task id: the id of its (first) node. */
  readonly id: string
  readonly inputs: ReadonlyArray<TaskInput>
  readonly parallelism: number
  /** Partitioning key of the task's input (records of one key reach one instance). */
  readonly key: ((record: unknown) => unknown) | undefined
  /** Keep batch order across parallel instances. */
  readonly ordered: boolean
  /**
   * The source task whose fiber runs this task (operator chaining: no queue, no fiber of its
   * own), or `undefined` when the task runs in fibers of its own. Decided once, by the planner
   * (see {@link chainIntoSources}); the executor, the runtime and `plan` output read it.
   */
  readonly runsIn: string | undefined
}

/** One task of the plan. */
export type PlannedTask =
  | (TaskBase & {
    readonly _tag: "Source"
    readonly source: PreparedSource
    /** Stateless nodes the source runs itself (see `SourceCapabilities.fuses`), in order. */
    readonly fused: ReadonlyArray<FusedNode>
    /** The encoded form the source hands its only consumer, a sink that writes it as it is. */
    readonly encoding: Encoded["format"] | undefined
  })
  | (TaskBase & { readonly _tag: "Sink"; readonly sink: PreparedSink })
  | (TaskBase & {
    readonly _tag: "Batch"
    readonly process: (batch: Batch<unknown>) => Effect.Effect<ReadonlyArray<unknown>, unknown>
    /** The processor's own per-record failures (`BatchProcessor.setAside`), for `on_error: dead_letter`. */
    readonly setAside: BatchProcessor["setAside"]
  })
  | (TaskBase & { readonly _tag: "Stateful"; readonly processor: StatefulProcessor })
  | (TaskBase & {
    readonly _tag: "Stateless"
    /** The fused nodes, in order. */
    readonly nodes: ReadonlyArray<string>
    /** The steps of each fused node. */
    readonly steps: ReadonlyArray<ReadonlyArray<Step>>
  })

/** The execution plan. */
export interface Plan {
  readonly workflow: PreparedWorkflow
  /** Tasks in topological order. */
  readonly tasks: ReadonlyArray<PlannedTask>
  /** The task that runs a node. */
  readonly taskOf: (node: string) => PlannedTask
  /** Fused chains (2 nodes or more). */
  readonly chains: ReadonlyArray<ReadonlyArray<string>>
  /** Task ids by stage (depth from the sources). */
  readonly stages: ReadonlyArray<ReadonlyArray<string>>
  /** The delivery guarantee of the whole workflow: the weakest of its sinks and sources. */
  readonly guarantee: DeliveryGuarantee
  /** Key groups keyed records and state are spread over (`execution.key_groups`, see keyGroups.ts). */
  readonly keyGroups: number
}

const isStateless = (n: PreparedNode): boolean => n.kind === "processor" && n.processor._tag === "Stateless"

/** Plain data (what can be rebuilt on another thread): no functions, no class instances. */
const isPlainData = (value: unknown): boolean => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true
  if (typeof value === "number") return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(isPlainData)
  if (typeof value !== "object") return false
  const proto = Object.getPrototypeOf(value)
  return (proto === Object.prototype || proto === null) && Object.values(value).every(isPlainData)
}

/** A key extractor for `key_by` fields (dotted paths allowed). */
export const keyExtractor = (keyBy: string | ReadonlyArray<string>): (record: unknown) => unknown => {
  const paths = (typeof keyBy === "string" ? [keyBy] : keyBy).map((p) => p.split("."))
  const read = (record: unknown, path: ReadonlyArray<string>): unknown => {
    let v: unknown = record
    for (const segment of path) {
      if (v === null || typeof v !== "object") return undefined
      v = (v as { readonly [k: string]: unknown })[segment]
    }
    return v
  }
  if (paths.length === 1 && paths[0].length === 1) {
    const field = paths[0][0]
    return (record) => (record as { readonly [k: string]: unknown })[field]
  }
  return (record) => paths.map((p) => read(record, p))
}

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
      consumersOf(input).length === 1 && n.node.key_by === undefined && n.node.ordered !== true &&
      upstream.node.ordered !== true
    ) {
      const head = headOf.get(input)!
      headOf.set(n.node.id, head)
      chains.get(head)!.push(n.node.id)
    } else {
      headOf.set(n.node.id, n.node.id)
      chains.set(n.node.id, [n.node.id])
    }
  }
  // A source that runs on its own threads (parallelism > 1) and can run the processor types that
  // follow it takes the longest prefix of its only consumer chain: only the records that survive
  // that prefix leave its threads. What is left of the chain stays a task of its own.
  const fusedInto = new Map<string, ReadonlyArray<FusedNode>>()
  for (const n of workflow.nodes) {
    if (n.kind !== "source" || n.parallelism <= 1) continue
    const types = n.source.capabilities.fuses
    const consumers = consumersOf(n.node.id)
    if (types === undefined || consumers.length !== 1) continue
    const headId = consumers[0]
    const head = byId.get(headId)
    if (
      head === undefined || !isStateless(head) || headOf.get(headId) !== headId || head.node.inputs.length !== 1 ||
      head.node.inputs[0] !== n.node.id || head.node.key_by !== undefined || head.node.ordered === true
    ) continue
    const chain = chains.get(headId)!
    let k = 0
    while (k < chain.length) {
      const m = byId.get(chain[k])!.node
      // a node that sets records aside writes its dead letters from the main thread
      if (!types.includes(m.type) || !isPlainData(m.config ?? {}) || m.on_error === "dead_letter") break
      k++
    }
    if (k === 0) continue
    fusedInto.set(n.node.id, chain.slice(0, k).map((id) => {
      const m = byId.get(id)!.node
      return { node: id, type: m.type, config: m.config ?? {} }
    }))
    for (const id of chain.slice(0, k)) headOf.set(id, n.node.id)
    chains.delete(headId)
    chains.set(n.node.id, [n.node.id, ...chain.slice(0, k)])
    if (k < chain.length) {
      const rest = chain.slice(k)
      for (const id of rest) headOf.set(id, rest[0])
      chains.set(rest[0], rest)
    }
  }
  const taskIdOf = (node: string): string => headOf.get(node) ?? node
  // A source whose only consumer (after the nodes fused into it) is a sink (reading its main
  // output, not keyed: whole batches go to its instances) hands it batches in an encoded form both
  // know, when there is one: the sink writes the bytes. The bytes a source read (CSV, COPY text)
  // exist at parallelism 1 with nothing fused; an encoding of the records it hands on
  // (`isOutputEncoding`) is made by a source running on its own threads (parallelism > 1).
  const encodingOf = (n: PreparedNode): Encoded["format"] | undefined => {
    if (n.kind !== "source") return undefined
    const formats = n.source.capabilities.encodes
    const fused = fusedInto.get(n.node.id)
    const last = fused === undefined ? n.node.id : fused[fused.length - 1].node
    const consumers = consumersOf(last)
    if (formats === undefined || consumers.length !== 1) return undefined
    const sink = byId.get(consumers[0])
    if (
      sink === undefined || sink.kind !== "sink" || sink.node.key_by !== undefined ||
      sink.node.inputs.length !== 1 || sink.node.inputs[0] !== last
    ) return undefined
    const accepted = sink.sink.capabilities.accepts ?? []
    const serial = n.parallelism === 1 && fused === undefined
    return formats.find((f) => accepted.includes(f) && (isOutputEncoding(f) ? n.parallelism > 1 : serial))
  }
  const tasks: Array<PlannedTask> = []
  for (const n of workflow.nodes) {
    const id = n.node.id
    if (taskIdOf(id) !== id) continue // fused into an earlier task
    const chain = chains.get(id) ?? [id]
    const inputs: Array<TaskInput> = []
    for (const raw of n.node.inputs) {
      const { node, port } = splitInput(raw, workflow)
      const input = { task: taskIdOf(node), port }
      if (!inputs.some((i) => i.task === input.task && i.port === input.port)) inputs.push(input)
    }
    // a destination of dead letters reads the dead-letter port of each node that sends them there
    if (n.kind === "sink") {
      for (const [from, to] of workflow.deadLetterTo) if (to === id) inputs.push({ task: taskIdOf(from), port: deadLetterPort(from) })
    }
    const statefulKey = n.kind === "processor" && n.processor._tag === "Stateful" ? n.processor.key : undefined
    const base: TaskBase = {
      id,
      inputs,
      parallelism: n.parallelism,
      key: n.node.key_by !== undefined ? keyExtractor(n.node.key_by) : statefulKey,
      ordered: n.node.ordered === true,
      runsIn: undefined
    }
    switch (n.kind) {
      case "source":
        tasks.push({ ...base, _tag: "Source", source: n.source, fused: fusedInto.get(id) ?? [], encoding: encodingOf(n) })
        break
      case "sink":
        tasks.push({ ...base, _tag: "Sink", sink: n.sink })
        break
      case "processor": {
        const p = n.processor
        switch (p._tag) {
          case "Batch":
            tasks.push({ ...base, _tag: "Batch", process: p.process, setAside: p.setAside })
            break
          case "Stateful":
            tasks.push({ ...base, _tag: "Stateful", processor: p })
            break
          case "Stateless": {
            const steps = chain.map((nodeId) => {
              const m = byId.get(nodeId)!
              return m.kind === "processor" && m.processor._tag === "Stateless" ? m.processor.steps : []
            })
            tasks.push({ ...base, _tag: "Stateless", nodes: chain, steps })
          }
        }
      }
    }
  }
  chainIntoSources(tasks)
  const byTask = new Map(tasks.map((t) => [t.id, t]))
  // stages: depth = 1 + max depth of inputs
  const depth = new Map<string, number>()
  for (const t of tasks) {
    depth.set(t.id, t.inputs.length === 0 ? 0 : 1 + Math.max(...t.inputs.map((i) => depth.get(i.task) ?? 0)))
  }
  const stages: Array<Array<string>> = []
  for (const t of tasks) {
    const d = depth.get(t.id)!
    ;(stages[d] ??= []).push(t.id)
  }
  const sinks = tasks.filter((t) => t._tag === "Sink")
  return {
    workflow,
    tasks,
    taskOf: (node) => byTask.get(taskIdOf(node))!,
    chains: [...chains.values()].filter((c) => c.length > 1),
    stages,
    keyGroups: workflow.graph.execution.key_groups ?? DEFAULT_KEY_GROUPS,
    guarantee: weakest([
      ...sinks.map((t) => (t._tag === "Sink" ? t.sink.capabilities.guarantee : "exactly-once")),
      ...tasks.map((t) => (t._tag === "Source" ? t.source.capabilities.delivery?.guarantee ?? "exactly-once" : "exactly-once"))
    ])
  }
}

const STRENGTH: Record<DeliveryGuarantee, number> = { "at-most-once": 0, "at-least-once": 1, "exactly-once": 2 }

/** The weakest of some guarantees (exactly-once for none). */
const weakest = (guarantees: ReadonlyArray<DeliveryGuarantee>): DeliveryGuarantee =>
  guarantees.reduce<DeliveryGuarantee>((a, b) => (STRENGTH[b] < STRENGTH[a] ? b : a), "exactly-once")

/**
 * Marks the tasks that run in their source's fiber (operator chaining, as Flink chains a source
 * with the operators after it), replacing them in `tasks` with a copy whose `runsIn` names the
 * source:
 * - a stateless task whose only input is a source with the same parallelism, that is the
 *   source's only consumer, with no key and no order to keep;
 * - a sink whose writer declares `inline` (it takes batches without waiting on I/O), fed only by
 *   such a source or such a chained stateless task, with the same parallelism and no key.
 * Source instance `i` then runs chain instance `i`: a queue hop per batch disappears, and with
 * the sink chained too, the whole pipeline runs in one fiber. Other sinks keep their own fiber,
 * so that their writes overlap the source's reads.
 */
const chainIntoSources = (tasks: Array<PlannedTask>): void => {
  const byId = new Map(tasks.map((t) => [t.id, t]))
  const readers = new Map<string, number>()
  for (const t of tasks) for (const i of t.inputs) readers.set(i.task, (readers.get(i.task) ?? 0) + 1)
  const chainable = (t: PlannedTask): PlannedTask | undefined => {
    if (t.inputs.length !== 1 || t.key !== undefined || t.ordered) return undefined
    const input = byId.get(t.inputs[0].task)
    return input !== undefined && input.parallelism === t.parallelism && readers.get(input.id) === 1 ? input : undefined
  }
  for (let k = 0; k < tasks.length; k++) {
    const t = tasks[k]
    const input = chainable(t)
    if (input === undefined) continue
    let source: string | undefined
    if (t._tag === "Stateless" && input._tag === "Source") source = input.id
    // a sink whose dead letters go to a destination forwards its barriers there: it keeps its task
    if (t._tag === "Sink" && t.sink.capabilities.inline === true && !readers.has(t.id)) {
      source = input._tag === "Source" ? input.id : input._tag === "Stateless" ? input.runsIn : undefined
    }
    if (source === undefined) continue
    tasks[k] = { ...t, runsIn: source }
    byId.set(t.id, tasks[k])
  }
}

/**
 * Whether a stateful task's state can be split by key group: its operator tells the key of each
 * entry, and records reach instances by that same key (no `key_by` of another key on the node).
 */
export const byKeyGroup = (task: PlannedTask & { readonly _tag: "Stateful" }): boolean =>
  task.processor.keyOfEntry !== undefined && task.key === task.processor.key
