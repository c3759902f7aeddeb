/**
 * The workflow one test case runs: the part of the workflow between the nodes the case feeds and
 * the nodes whose output it checks, with in-memory connectors swapped in (as `rpk connect test`
 * does). Nothing of the real inputs or outputs is touched:
 *
 * - a source given records reads them instead of its input (an override of the node, same id);
 * - a processor given records reads them from an added in-memory source instead of its inputs;
 * - a sink expected to write records writes them to an in-memory collector instead;
 * - a processor (or a side output `node.port`) expected to output records gets an added
 *   collecting sink;
 * - every other node is left out: what feeds nothing checked, and every other sink, so a test
 *   never writes to a real destination. A source the checked nodes read from must be given its
 *   records (`[]` for none): a test never reads a real input either.
 *
 * Execution settings are kept (batch size, parallelism, checkpoint interval), except where state
 * goes (`state`: in memory for the test) and the restart strategy (a failure fails the test).
 */
import type { DefinitionIssue } from "../../../../src/Errors.ts"
import type { Node, WorkflowGraph } from "../../../../src/WorkflowGraph.ts"
import type { NodeRecords, TestCase } from "./file.ts"

/** The graph of one case and the in-memory connectors to swap in. */
export interface Harness {
  readonly graph: WorkflowGraph
  /** Source id → the records an in-memory source gives in its place. */
  readonly inputs: ReadonlyMap<string, ReadonlyArray<unknown>>
  /** Ids of the sinks an in-memory collector replaces. */
  readonly collect: ReadonlySet<string>
  /** For each `expect` entry (in order): the id of the sink collecting its records. */
  readonly collectedBy: ReadonlyArray<string>
}

const issueAt = (entry: NodeRecords, message: string): DefinitionIssue => ({
  path: entry.path,
  message,
  ...(entry.location === undefined ? {} : { location: entry.location })
})

/** The node an input name refers to: the node itself, or `node` of a side output `node.port`. */
const baseNode = (byId: ReadonlyMap<string, Node>, name: string): Node | undefined => {
  const exact = byId.get(name)
  if (exact !== undefined) return exact
  const dot = name.lastIndexOf(".")
  return dot > 0 ? byId.get(name.slice(0, dot)) : undefined
}

/** Builds the graph of one case, or says what in the case does not fit the workflow. */
export const harness = (
  workflow: WorkflowGraph,
  test: TestCase
): { readonly ok: true; readonly harness: Harness } | { readonly ok: false; readonly issues: ReadonlyArray<DefinitionIssue> } => {
  const byId = new Map(workflow.nodes.map((n) => [n.id, n]))
  const issues: Array<DefinitionIssue> = []
  const known = () => workflow.nodes.map((n) => n.id).join(", ")

  const fed = new Map<string, NodeRecords>()
  for (const entry of test.inputs) {
    const node = byId.get(entry.node)
    if (node === undefined) issues.push(issueAt(entry, `no node '${entry.node}' in the workflow (nodes: ${known()})`))
    else if (node.kind === "sink") {
      issues.push(issueAt(entry, `'${entry.node}' is a destination: give records to a source or a transformation`))
    } else fed.set(entry.node, entry)
  }
  // the nodes whose output is checked: the expected records', and the node expected to fail
  const targets: ReadonlyArray<NodeRecords> = test.expectError === undefined
    ? test.expect
    : [...test.expect, { ...test.expectError, records: [] }]
  for (const entry of targets) {
    if (baseNode(byId, entry.node) === undefined) {
      issues.push(issueAt(entry, `no node '${entry.node}' in the workflow (nodes: ${known()})`))
    }
  }
  if (issues.length > 0) return { ok: false, issues }

  // Every node the checked ones read from, walking inputs back, stopping at the nodes fed records.
  const needed = new Set<string>()
  const reached = new Set<string>()
  const visit = (id: string) => {
    if (needed.has(id)) return
    needed.add(id)
    if (fed.has(id)) return reached.add(id)
    const node = byId.get(id)
    for (const input of node?.inputs ?? []) {
      const base = baseNode(byId, input)
      if (base !== undefined) visit(base.id)
    }
  }
  for (const entry of targets) visit((baseNode(byId, entry.node) as Node).id)

  for (const entry of test.inputs) {
    if (!reached.has(entry.node)) {
      issues.push(issueAt(entry, `no node of 'expect' reads from '${entry.node}' (through the workflow's inputs): these records would go nowhere`))
    }
  }
  for (const id of needed) {
    const node = byId.get(id) as Node
    if (node.kind === "source" && !fed.has(id)) {
      issues.push({
        path: `${test.path}.inputs`,
        message:
          `the checked nodes read from source '${id}': give its records in inputs.${id} (write [] for none; a test never reads a real input)`,
        ...(test.location === undefined ? {} : { location: test.location })
      })
    }
  }
  if (issues.length > 0) return { ok: false, issues }

  const taken = new Set(workflow.nodes.map((n) => n.id))
  const fresh = (base: string): string => {
    let id = base
    for (let i = 2; taken.has(id); i++) id = `${base}_${i}`
    taken.add(id)
    return id
  }

  const inputs = new Map<string, ReadonlyArray<unknown>>()
  const collect = new Set<string>()
  const nodes: Array<Node> = []
  for (const node of workflow.nodes) {
    if (!needed.has(node.id)) continue
    const entry = fed.get(node.id)
    if (entry !== undefined && node.kind === "source") {
      inputs.set(node.id, entry.records)
      nodes.push(node)
    } else if (entry !== undefined) {
      const input = fresh(`test_input_${node.id}`)
      nodes.push({ kind: "source", id: input, type: "memory", config: { records: [] }, inputs: [] })
      inputs.set(input, entry.records)
      nodes.push({ ...node, inputs: [input] })
    } else nodes.push(node)
  }
  const collectedBy: Array<string> = []
  for (const entry of targets) {
    const node = baseNode(byId, entry.node) as Node
    if (node.kind === "sink") {
      collect.add(node.id)
      collectedBy.push(node.id)
    } else {
      const id = fresh(`test_output_${entry.node.replaceAll(".", "_")}`)
      nodes.push({ kind: "sink", id, type: "collect", config: {}, inputs: [entry.node] })
      collect.add(id)
      collectedBy.push(id)
    }
  }
  const { restart_strategy: _restart, state: _state, ...execution } = workflow.execution
  return { ok: true, harness: { graph: { ...workflow, execution, nodes }, inputs, collect, collectedBy } }
}
