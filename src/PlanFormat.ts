/**
 * Renders an execution plan for people: as text (stages, tasks, fused chains, parallelism, queue
 * capacities — or, for a task chained into its source's fiber, that it has none — a source's and a
 * sink's delivery, where a node's dead letters go, the workflow's guarantee), or as a Mermaid or
 * Graphviz (dot) graph.
 *
 * @example
 * ```ts
 * const plan = Runtime.plan(yield* Runtime.prepare(graph))
 * console.log(PlanFormat.text(plan))
 * ```
 * @since 0.1.0
 */
import { isOutputEncoding } from "./Batch.ts"
import type { Plan, PlannedTask } from "./Runtime.ts"

const kindOf = (task: PlannedTask): string => {
  switch (task._tag) {
    case "Source":
      return "source"
    case "Sink":
      return "sink"
    case "Stateful":
      return "stateful"
    case "Batch":
      return "batch"
    case "Stateless":
      return task.nodes.length > 1 ? "fused" : "stateless"
  }
}

const nodesOf = (task: PlannedTask): ReadonlyArray<string> => (task._tag === "Stateless" ? task.nodes : [task.id])

const typeOf = (plan: Plan, node: string): string => plan.workflow.nodes.find((n) => n.node.id === node)?.node.type ?? "?"

const label = (plan: Plan, task: PlannedTask): string =>
  nodesOf(task).map((n) => `${n} (${typeOf(plan, n)})`).join(" → ")

const field = (u: unknown, key: string): unknown =>
  u !== null && typeof u === "object" && !Array.isArray(u) ? (u as { readonly [k: string]: unknown })[key] : undefined

/**
 * Where a node sets records aside, when it does: a processor's `dead_letter.path` or destination
 * (`dead_letter: { to }`, shown as `destination <id> (<type>)`) with `on_error: dead_letter`, or
 * the `dead_letter.path` of a connector config that sends records there (`on_error:
 * dead_letter`, or a file source's `oversize: dead_letter`) — the kit's one config shape for dead
 * letters. A source's says which records: `(malformed records)` (`on_error`), `(oversize
 * records)`, or both.
 */
const deadLetterTarget = (plan: Plan, node: string): string | undefined => {
  const graphNode = plan.workflow.nodes.find((n) => n.node.id === node)?.node
  // a processor's own (node-level) dead letters
  const own = graphNode?.on_error === "dead_letter" ? graphNode.dead_letter : undefined
  if (own !== undefined) return "path" in own ? own.path : `destination ${own.to} (${typeOf(plan, own.to)})`
  const config = graphNode?.config
  const path = field(field(config, "dead_letter"), "path")
  const to = field(field(config, "dead_letter"), "to")
  const on = field(config, "on_error") === "dead_letter" || field(config, "oversize") === "dead_letter"
  if (on && typeof to === "string") return `destination ${to} (${typeOf(plan, to)})`
  return on && typeof path === "string" ? path + (graphNode?.kind === "source" ? sourceLetters(config) : "") : undefined
}

/** Which records a file source sets aside (see {@link deadLetterTarget}). */
const sourceLetters = (config: unknown): string => {
  const malformed = field(config, "on_error") === "dead_letter"
  const oversize = field(config, "oversize") === "dead_letter"
  return malformed && oversize ? " (malformed and oversize records)" : malformed ? " (malformed records)" : " (oversize records)"
}

/** An input read from a port: `agg.late`, or `dead letters of <node>` (`dead_letter:<node>`). */
const portText = (task: string, port: string): string => (port.startsWith("dead_letter:") ? portLabel(port) : `${task}.${port}`)

/** A source whose instances `execution.parallelism: auto` chose. */
const chosenByAuto = (plan: Plan, task: PlannedTask): boolean =>
  task._tag === "Source" && plan.workflow.nodes.some((n) => n.node.id === task.id && n.kind === "source" && n.auto === true)

const describeTask = (plan: Plan, task: PlannedTask): string => {
  const parts = [`${kindOf(task)}: ${label(plan, task)}`]
  const inOrderFor = plan.workflow.nodes.find((n) => n.node.id === task.id && n.kind === "source")
  const kept = inOrderFor?.kind === "source" ? inOrderFor.inOrderFor : undefined
  parts.push(
    `parallelism ${task.parallelism}${
      kept !== undefined ? ` (read in order for '${kept}', which depends on it; the source's own parallelism splits it)` : chosenByAuto(plan, task) ? " (auto)" : ""
    }`
  )
  if (task.key !== undefined && task.parallelism > 1) parts.push("keyed")
  if (task.ordered && task.parallelism > 1) parts.push("ordered")
  if (task.inputs.length > 0) {
    // name the node that produces the input (the last node of a fused chain)
    const producer = (id: string) => {
      const t = plan.tasks.find((x) => x.id === id)
      return t === undefined ? id : nodesOf(t)[nodesOf(t).length - 1]
    }
    parts.push(`reads ${task.inputs.map((i) => (i.port === "main" ? producer(i.task) : portText(i.task, i.port))).join(", ")}`)
    parts.push(
      task.runsIn !== undefined
        ? `runs in the fiber of ${task.runsIn} (no queue)`
        : `queue ${plan.workflow.queueCapacity} batches${task.parallelism > 1 ? " per instance" : ""}`
    )
  }
  if (task._tag === "Source" && task.encoding !== undefined) {
    parts.push(
      isOutputEncoding(task.encoding)
        ? `encodes its records as ${task.encoding} on its threads for its sink (records do not cross threads)`
        : `hands ${task.encoding} bytes to its sink unparsed (parsed only where the sink cannot use them)`
    )
  }
  const letters = nodesOf(task).flatMap((n) => {
    const path = deadLetterTarget(plan, n)
    return path === undefined ? [] : [nodesOf(task).length > 1 ? `dead letters of ${n} → ${path}` : `dead letters → ${path}`]
  })
  parts.push(...letters)
  if (task._tag === "Sink") {
    const { guarantee, guaranteeNote } = task.sink.capabilities
    parts.push(guaranteeNote === undefined ? guarantee : `${guarantee} (${guaranteeNote})`)
  }
  const delivery = task._tag === "Source" ? task.source.capabilities.delivery : undefined
  if (delivery !== undefined) parts.push(`${delivery.guarantee}: ${delivery.detail}`)
  return parts.join(", ")
}

/**
 * The plan as text: one block per stage, one line per task.
 *
 * @category formatting
 * @since 0.1.0
 */
export const text = (plan: Plan): string => {
  const byId = new Map(plan.tasks.map((t) => [t.id, t]))
  const lines: Array<string> = [
    `workflow ${plan.workflow.graph.name}: ${plan.workflow.nodes.length} nodes, ${plan.tasks.length} tasks, batch size ${plan.workflow.batchSize}`,
    `guarantee: ${plan.guarantee}`
  ]
  plan.stages.forEach((stage, i) => {
    lines.push(`stage ${i}:`)
    for (const id of stage) lines.push(`  ${describeTask(plan, byId.get(id)!)}`)
  })
  if (plan.chains.length > 0) {
    lines.push("fused chains (one task, one loop per batch):")
    for (const chain of plan.chains) lines.push(`  ${chain.join(" → ")}`)
  }
  return lines.join("\n")
}

/**
 * A Mermaid / Graphviz identifier for a task id, distinct for distinct ids: letters and digits
 * stay, `_` becomes `__` and any other character `_<hex code>_` (`a-b` → `n_a_2d_b`, `a_b` →
 * `n_a__b`, `a.b` → `n_a_2e_b`). Read left to right, an `_` is followed either by `_` or by a
 * hex code, so no two ids meet.
 */
const safeId = (id: string): string =>
  `n_${id.replace(/[^A-Za-z0-9]/gu, (c) => (c === "_" ? "__" : `_${c.codePointAt(0)!.toString(16)}_`))}`

/** The label of an edge from a port: its name, or `dead letters of <node>`. */
const portLabel = (port: string): string =>
  port.startsWith("dead_letter:") ? `dead letters of ${port.slice("dead_letter:".length)}` : port

/**
 * The plan as a Mermaid flowchart (render it in any Markdown viewer that supports Mermaid).
 *
 * @category formatting
 * @since 0.1.0
 */
export const mermaid = (plan: Plan): string => {
  const lines = ["flowchart LR"]
  for (const task of plan.tasks) {
    const text = `${label(plan, task)}${task.parallelism > 1 ? ` ×${task.parallelism}` : ""}`.replace(/"/g, "'")
    const shape = task._tag === "Source" ? [`([`, `])`] : task._tag === "Sink" ? [`[(`, `)]`] : [`[`, `]`]
    lines.push(`  ${safeId(task.id)}${shape[0]}"${text}"${shape[1]}`)
  }
  for (const task of plan.tasks) {
    for (const input of task.inputs) {
      const edge = input.port === "main" ? "-->" : `-- ${portLabel(input.port)} -->`
      lines.push(`  ${safeId(input.task)} ${edge} ${safeId(task.id)}`)
    }
  }
  return lines.join("\n")
}

/**
 * Text inside a dot string: a backslash is doubled (Graphviz reads `\n`, `\l` in a label as line
 * breaks) and a double quote becomes a single one.
 */
const dotText = (text: string): string => text.replace(/\\/g, "\\\\").replace(/"/g, "'")

/**
 * The plan as a Graphviz graph (`dot -Tsvg`).
 *
 * @category formatting
 * @since 0.1.0
 */
export const dot = (plan: Plan): string => {
  const lines = [`digraph "${dotText(plan.workflow.graph.name)}" {`, "  rankdir=LR;"]
  for (const task of plan.tasks) {
    const text = dotText(`${label(plan, task)}${task.parallelism > 1 ? ` x${task.parallelism}` : ""}`)
    const shape = task._tag === "Source" ? "invhouse" : task._tag === "Sink" ? "house" : "box"
    lines.push(`  ${safeId(task.id)} [label="${text}", shape=${shape}];`)
  }
  for (const task of plan.tasks) {
    for (const input of task.inputs) {
      lines.push(`  ${safeId(input.task)} -> ${safeId(task.id)}${input.port === "main" ? "" : ` [label="${dotText(portLabel(input.port))}"]`};`)
    }
  }
  lines.push("}")
  return lines.join("\n")
}
