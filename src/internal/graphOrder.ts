/**
 * The order of a workflow graph's nodes: every node after its inputs (Kahn's algorithm), and, when
 * there is none, one cycle to name in the error.
 */
import * as WorkflowGraph from "../WorkflowGraph.ts"

/** Kahn's algorithm over resolved input node ids; returns the order, or the nodes left on cycles. */
export const topologicalOrder = (
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
export const findCycle = (
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
