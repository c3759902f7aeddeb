/**
 * Preparation of a workflow graph: structural validation, registry lookup and config decoding.
 * Produces every problem at once as a DefinitionError whose issues name the node and key (and
 * the file, line and column when the graph came from a file).
 */
import { Effect } from "effect"
import { DefinitionError, type DefinitionIssue } from "../Errors.ts"
import { NodeOverrides, unknownIds } from "../Overrides.ts"
import type { Processor } from "../Processor.ts"
import { type PreparedSink, type PreparedSource, Registry, typesOf } from "../Registry.ts"
import * as WorkflowGraph from "../WorkflowGraph.ts"
import { unknownFieldIssues } from "./fieldCheck.ts"
import { closest } from "./suggest.ts"

/** A node with everything needed to run it. */
export type PreparedNode =
  | { readonly kind: "source"; readonly node: WorkflowGraph.Node; readonly parallelism: number; readonly source: PreparedSource }
  | { readonly kind: "sink"; readonly node: WorkflowGraph.Node; readonly parallelism: number; readonly sink: PreparedSink }
  | {
    readonly kind: "processor"
    readonly node: WorkflowGraph.Node
    readonly parallelism: number
    readonly processor: Processor
  }

export interface PreparedWorkflow {
  readonly graph: WorkflowGraph.WorkflowGraph
  /** Nodes in topological order (every node after its inputs). */
  readonly nodes: ReadonlyArray<PreparedNode>
  /** node id → ids of the nodes that read from it, in graph order. */
  readonly consumers: ReadonlyMap<string, ReadonlyArray<string>>
  readonly batchSize: number
  readonly queueCapacity: number
}

const issueAt = (
  graph: WorkflowGraph.WorkflowGraph,
  node: string | undefined,
  path: ReadonlyArray<PropertyKey>,
  message: string
): DefinitionIssue => {
  const location = graph.sourceMap?.locate(node, path)
  return {
    path: WorkflowGraph.describePath(graph, node, path),
    message,
    ...(location !== undefined ? { location } : {})
  }
}

const kindWord = (kind: WorkflowGraph.NodeKind): string =>
  kind === "source" ? "source" : kind === "sink" ? "destination" : "transformation"

/** Kahn's algorithm over resolved input node ids; returns the order, or the nodes left on cycles. */
const topologicalOrder = (
  graph: WorkflowGraph.WorkflowGraph,
  inputsOf: (node: WorkflowGraph.Node) => ReadonlyArray<string>
): { readonly order: ReadonlyArray<string>; readonly cyclic: ReadonlyArray<string> } => {
  const ids = new Set(graph.nodes.map((n) => n.id))
  const indegree = new Map<string, number>()
  const out = new Map<string, Array<string>>()
  for (const n of graph.nodes) {
    const inputs = inputsOf(n).filter((i) => ids.has(i))
    indegree.set(n.id, inputs.length)
    for (const i of inputs) out.set(i, [...(out.get(i) ?? []), n.id])
  }
  const ready = graph.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id)
  const order: Array<string> = []
  while (ready.length > 0) {
    const id = ready.shift()!
    order.push(id)
    for (const next of out.get(id) ?? []) {
      const d = indegree.get(next)! - 1
      indegree.set(next, d)
      if (d === 0) ready.push(next)
    }
  }
  const cyclic = graph.nodes.filter((n) => !order.includes(n.id)).map((n) => n.id)
  return { order, cyclic }
}

/** Follows input edges among `candidates` to find one cycle; returns its nodes in flow order. */
const findCycle = (
  graph: WorkflowGraph.WorkflowGraph,
  inputsOf: (node: WorkflowGraph.Node) => ReadonlyArray<string>,
  candidates: ReadonlyArray<string>
): ReadonlyArray<string> | undefined => {
  const set = new Set(candidates)
  for (const start of candidates) {
    const path: Array<string> = [start]
    let current = start
    for (let guard = 0; guard <= candidates.length; guard++) {
      const node = WorkflowGraph.node(graph, current)!
      const next = inputsOf(node).find((i) => set.has(i))
      if (next === undefined) break
      const seen = path.indexOf(next)
      // path follows inputs (upstream); reversed, it is the direction records flow
      if (seen >= 0) return path.slice(seen).reverse()
      path.push(next)
      current = next
    }
  }
  return undefined
}

/**
 * Splits an input reference into node and port: `agg.late` reads the side output `late` of
 * node `agg` when `agg` declares that port; anything else names a node's main output (node ids
 * may contain dots).
 */
export const splitInput = (
  input: string,
  workflow: { readonly nodes: ReadonlyArray<PreparedNode> } | ReadonlyMap<string, PreparedNode>
): { readonly node: string; readonly port: string } => {
  const find = (id: string): PreparedNode | undefined =>
    workflow instanceof Map ? workflow.get(id) : (workflow as PreparedWorkflow).nodes.find((n) => n.node.id === id)
  if (find(input) !== undefined) return { node: input, port: "main" }
  const dot = input.lastIndexOf(".")
  if (dot > 0) {
    const node = find(input.slice(0, dot))
    const port = input.slice(dot + 1)
    if (node !== undefined && node.kind === "processor" && node.processor._tag === "Stateful" && node.processor.ports.includes(port)) {
      return { node: node.node.id, port }
    }
  }
  return { node: input, port: "main" }
}

/** Validates and prepares a graph. */
export const prepare = (
  graph: WorkflowGraph.WorkflowGraph
): Effect.Effect<PreparedWorkflow, DefinitionError, Registry> =>
  Effect.gen(function*() {
    const registry = yield* Registry
    const overrides = yield* NodeOverrides
    const issues: Array<DefinitionIssue> = []
    const ids = graph.nodes.map((n) => n.id)
    const seen = new Set<string>()
    for (const n of graph.nodes) {
      if (seen.has(n.id)) issues.push(issueAt(graph, n.id, [], `duplicate node id '${n.id}'`))
      seen.add(n.id)
    }
    // An override of an id the workflow does not have (a typo) would let the node's own connector run.
    for (const id of unknownIds(graph, overrides)) {
      const hint = closest(id, ids)
      issues.push({
        path: "overrides",
        message: `an override names node '${id}', which the workflow '${graph.name}' does not have${
          hint !== undefined ? ` (did you mean '${hint}'?)` : ""
        }; its nodes: ${ids.join(", ")}`
      })
    }

    // 1. Every node's type and config, through the registry (or an override).
    const defaultParallelism = graph.execution.parallelism ?? WorkflowGraph.defaults.parallelism
    const prepared = new Map<string, PreparedNode>()
    for (const n of graph.nodes) {
      const parallelism = n.parallelism ?? defaultParallelism
      if (n.parallelism !== undefined && (!Number.isInteger(n.parallelism) || n.parallelism < 1)) {
        issues.push(issueAt(graph, n.id, ["parallelism"], `expected a positive integer, got ${String(n.parallelism)}`))
      }
      const override = overrides.get(n.id)
      if (override !== undefined) {
        if (n.kind === "source" && override._tag === "PreparedSource") {
          prepared.set(n.id, { kind: "source", node: n, parallelism, source: override })
        } else if (n.kind === "sink" && override._tag === "PreparedSink") {
          prepared.set(n.id, { kind: "sink", node: n, parallelism, sink: override })
        } else {
          issues.push(
            issueAt(graph, n.id, [], `override for '${n.id}' is a ${override._tag}, but the node is a ${kindWord(n.kind)}`)
          )
        }
        continue
      }
      const entry = registry.find(n.kind, n.type)
      if (entry === undefined) {
        const known = typesOf(registry, n.kind)
        const hint = closest(n.type, known)
        issues.push(
          issueAt(
            graph,
            n.id,
            ["type"],
            `unknown ${kindWord(n.kind)} type '${n.type}'${hint !== undefined ? ` (did you mean '${hint}'?)` : ""}; known: ${
              known.join(", ")
            }`
          )
        )
        continue
      }
      const result = entry.kind === "processor" ? entry.prepare(n.config ?? {}, { node: n.id }) : entry.prepare(n.config ?? {})
      if (!result.ok) {
        for (const issue of result.issues) {
          const column = "column" in issue && issue.column !== undefined ? ` (column ${issue.column} of the value)` : ""
          issues.push(issueAt(graph, n.id, ["config", ...issue.path], `${issue.message}${column}`))
        }
        continue
      }
      const value = result.value
      switch (value._tag) {
        case "PreparedSource":
          prepared.set(n.id, { kind: "source", node: n, parallelism, source: value })
          break
        case "PreparedSink":
          prepared.set(n.id, { kind: "sink", node: n, parallelism, sink: value })
          break
        default:
          prepared.set(n.id, { kind: "processor", node: n, parallelism, processor: value })
      }
    }

    // 2. Edges: inputs name existing nodes (or a declared side output), sources have none.
    const resolve = (input: string): string | undefined => {
      if (ids.includes(input)) return input
      const { node, port } = splitInput(input, prepared)
      if (port !== "main") return node
      // a side output of a node whose config failed to prepare: do not pile up a second error
      const dot = input.lastIndexOf(".")
      const owner = dot > 0 ? input.slice(0, dot) : undefined
      return owner !== undefined && ids.includes(owner) && !prepared.has(owner) ? owner : undefined
    }
    const inputsOf = (n: WorkflowGraph.Node): ReadonlyArray<string> =>
      n.inputs.map(resolve).filter((i): i is string => i !== undefined)
    const consumers = new Map<string, Array<string>>()
    for (const n of graph.nodes) {
      if (n.kind === "source" && n.inputs.length > 0) {
        issues.push(issueAt(graph, n.id, ["inputs"], "a source has no inputs"))
      }
      if (n.kind !== "source" && n.inputs.length === 0) {
        issues.push(issueAt(graph, n.id, ["inputs"], `a ${kindWord(n.kind)} needs at least one input`))
      }
      n.inputs.forEach((input, i) => {
        const target = resolve(input)
        const targetNode = target === undefined ? undefined : WorkflowGraph.node(graph, target)
        if (targetNode === undefined) {
          const ports = [...prepared.values()].flatMap((p) =>
            p.kind === "processor" && p.processor._tag === "Stateful" ? p.processor.ports.map((port) => `${p.node.id}.${port}`) : []
          )
          const hint = closest(input, [...ids.filter((id) => id !== n.id), ...ports])
          issues.push(
            issueAt(graph, n.id, ["inputs", i], `unknown input '${input}'${hint !== undefined ? ` (did you mean '${hint}'?)` : ""}`)
          )
        } else if (targetNode.kind === "sink") {
          issues.push(issueAt(graph, n.id, ["inputs", i], `'${input}' is a destination; destinations have no output`))
        } else if (!(consumers.get(targetNode.id) ?? []).includes(n.id)) {
          consumers.set(targetNode.id, [...(consumers.get(targetNode.id) ?? []), n.id])
        }
      })
    }
    for (const n of graph.nodes) {
      if (n.kind !== "sink" && !consumers.has(n.id)) {
        issues.push(issueAt(graph, n.id, [], `nothing reads the output of ${kindWord(n.kind)} '${n.id}'`))
      }
    }
    const { order, cyclic } = topologicalOrder(graph, inputsOf)
    if (cyclic.length > 0) {
      const found = findCycle(graph, inputsOf, cyclic)
      // start the cycle at its node that comes first in the file
      const first = found === undefined ? 0 : found.indexOf(cyclic.find((id) => found.includes(id))!)
      const cycle = found === undefined ? undefined : [...found.slice(first), ...found.slice(0, first)]
      const at = cycle?.[0] ?? cyclic[0]
      const text = cycle !== undefined ? [...cycle, cycle[0]].join(" -> ") : cyclic.join(", ")
      issues.push(issueAt(graph, at, ["inputs"], `the workflow has a cycle: ${text}`))
    }
    // a keyed node runs at most one instance per key group
    const keyGroups = graph.execution.key_groups ?? WorkflowGraph.defaults.key_groups
    for (const p of prepared.values()) {
      const keyed = p.node.key_by !== undefined || (p.kind === "processor" && p.processor._tag === "Stateful")
      if (keyed && p.parallelism > keyGroups) {
        issues.push(issueAt(graph, p.node.id, ["parallelism"], `a keyed node runs at most execution.key_groups (${keyGroups}) instances, got ${p.parallelism}`))
      }
    }
    // 3. Expression steps read fields their records have, where a source declares them.
    issues.push(...unknownFieldIssues(graph, prepared))
    if (issues.length > 0) return yield* new DefinitionError({ issues })
    return {
      graph,
      nodes: order.map((id) => prepared.get(id)!),
      consumers,
      batchSize: graph.execution.batch_size ?? WorkflowGraph.defaults.batch_size,
      queueCapacity: graph.execution.queue_capacity ?? WorkflowGraph.defaults.queue_capacity
    }
  })
