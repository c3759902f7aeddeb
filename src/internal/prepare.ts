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
import type { SinkCapabilities, SourceCapabilities } from "../Connector.ts"
import { autoCores, autoSourceInstances } from "./autoParallelism.ts"
import { decodeAll, valueAt, withValue } from "./decode.ts"
import { findCycle, topologicalOrder } from "./graphOrder.ts"
import { type Collision, collisions, type Declared } from "./resources.ts"
import { closest } from "./suggest.ts"

/**
 * The first node reached from `id` through its consumers that depends on the order of its input:
 * a stateful processor, or a node with `ordered: true`; `undefined` when none (sinks end a path).
 */
const orderSensitiveAfter = (
  id: string,
  consumers: ReadonlyMap<string, ReadonlyArray<string>>,
  prepared: ReadonlyMap<string, PreparedNode>
): string | undefined => {
  const seen = new Set<string>()
  const queue = [...(consumers.get(id) ?? [])]
  while (queue.length > 0) {
    const next = queue.shift()!
    if (seen.has(next)) continue
    seen.add(next)
    const node = prepared.get(next)
    if (node === undefined || node.kind === "sink") continue
    if (node.node.ordered === true || (node.kind === "processor" && node.processor._tag === "Stateful")) return next
    queue.push(...(consumers.get(next) ?? []))
  }
  return undefined
}

/** A node with everything needed to run it. */
export type PreparedNode =
  | {
    readonly kind: "source"
    readonly node: WorkflowGraph.Node
    readonly parallelism: number
    readonly source: PreparedSource
    /** `parallelism` is what `execution.parallelism: auto` chose (see autoParallelism.ts). */
    readonly auto?: true
    /**
     * The order-sensitive node (stateful, or `ordered`) after this source for which it reads its
     * input with one instance, in the input's order, although `execution.parallelism` would split it.
     */
    readonly inOrderFor?: string
  }
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
  /**
   * node id → the destination its dead letters go to (`dead_letter: { to }`): a side output of
   * the node (port {@link deadLetterPort}) read by that sink.
   */
  readonly deadLetterTo: ReadonlyMap<string, string>
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

/**
 * The output port of node `node`'s dead letters (`dead_letter: { to }`). One port per node, so
 * that nodes fused into one task keep their own destinations; the `:` keeps it apart from the
 * side outputs an input can name (`agg.late`).
 */
export const deadLetterPort = (node: string): string => `dead_letter:${node}`

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
      const dot = n.id.lastIndexOf(".")
      if (dot > 0 && ids.includes(n.id.slice(0, dot))) {
        const owner = n.id.slice(0, dot)
        issues.push(
          issueAt(
            graph,
            n.id,
            [],
            `node id '${n.id}' reads as the side output '${n.id.slice(dot + 1)}' of node '${owner}', so an input naming it is ambiguous; rename the node (e.g. '${
              n.id.replace(/\./g, "_")
            }')`
          )
        )
      }
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

    // 0. The execution settings (a DSL graph's are not decoded before this; YAML's already are).
    const execution = decodeAll(WorkflowGraph.ExecutionSettings, graph.execution)
    if (!execution.ok) {
      for (const issue of execution.issues) {
        const message = withValue(issue.message, valueAt(graph.execution, issue.path))
        issues.push(issueAt(graph, undefined, ["execution", ...issue.path], message))
      }
    }
    const settings: WorkflowGraph.ExecutionSettings = execution.ok ? execution.value : {}

    // 1. Every node's type and config, through the registry (or an override). Types registered
    // lazily load here, so a workflow loads the modules (and client libraries) of its own types only.
    if (registry.load !== undefined) {
      for (const n of graph.nodes) {
        if (overrides.has(n.id)) continue
        yield* registry.load(n.kind, n.type).pipe(
          Effect.catch((error) => Effect.sync(() => issues.push(issueAt(graph, n.id, ["type"], error.message))))
        )
      }
    }
    const workflowParallelism = settings.parallelism ?? WorkflowGraph.defaults.parallelism
    // `auto` runs nodes once; sources that can split are given theirs once the edges are known (below)
    const defaultParallelism = workflowParallelism === "auto" ? 1 : workflowParallelism
    const prepared = new Map<string, PreparedNode>()
    for (const n of graph.nodes) {
      const own = n.parallelism !== undefined && Number.isInteger(n.parallelism) && n.parallelism >= 1 ? n.parallelism : undefined
      if (n.parallelism !== undefined && own === undefined) {
        issues.push(issueAt(graph, n.id, ["parallelism"], `expected a positive integer, got ${String(n.parallelism)}`))
      }
      /** The node's parallelism: its own, else the workflow's up to what the connector supports. */
      const parallelismOf = (capabilities: SourceCapabilities | SinkCapabilities | undefined): number => {
        const max = capabilities?.maxParallelism
        if (max === undefined) return n.parallelism ?? defaultParallelism
        if (own !== undefined && own > max) {
          issues.push(
            issueAt(
              graph,
              n.id,
              ["parallelism"],
              `the ${n.type} ${kindWord(n.kind)} runs at most ${max} ${max === 1 ? "instance" : "instances"}${
                capabilities?.maxParallelismReason !== undefined ? ` (${capabilities.maxParallelismReason})` : ""
              }, got parallelism ${own}; set parallelism: ${max} or remove it`
            )
          )
        }
        return Math.min(n.parallelism ?? defaultParallelism, max)
      }
      const override = overrides.get(n.id)
      if (override !== undefined) {
        if (n.kind === "source" && override._tag === "PreparedSource") {
          prepared.set(n.id, { kind: "source", node: n, parallelism: parallelismOf(override.capabilities), source: override })
        } else if (n.kind === "sink" && override._tag === "PreparedSink") {
          prepared.set(n.id, { kind: "sink", node: n, parallelism: parallelismOf(override.capabilities), sink: override })
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
      const result = entry.kind === "processor"
        ? entry.prepare(n.config ?? {}, {
          node: n.id,
          site: (path, column) => WorkflowGraph.siteOf(graph, n.id, ["config", ...path], column)
        })
        : entry.prepare(n.config ?? {})
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
          prepared.set(n.id, { kind: "source", node: n, parallelism: parallelismOf(value.capabilities), source: value })
          break
        case "PreparedSink":
          prepared.set(n.id, { kind: "sink", node: n, parallelism: parallelismOf(value.capabilities), sink: value })
          break
        default:
          prepared.set(n.id, { kind: "processor", node: n, parallelism: parallelismOf(undefined), processor: value })
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
    // dead letters sent to a destination: an edge from the node to that sink (checked below)
    const deadLetterTo = new Map<string, string>()
    for (const n of graph.nodes) {
      const to = destinationOf(n)
      if (to !== undefined && to !== n.id && WorkflowGraph.node(graph, to)?.kind === "sink") deadLetterTo.set(n.id, to)
    }
    const lettersInto = (sink: string): ReadonlyArray<string> => [...deadLetterTo].filter(([, to]) => to === sink).map(([from]) => from)
    const inputsOf = (n: WorkflowGraph.Node): ReadonlyArray<string> => [
      ...n.inputs.map(resolve).filter((i): i is string => i !== undefined),
      ...(n.kind === "sink" ? lettersInto(n.id) : [])
    ]
    const consumers = new Map<string, Array<string>>()
    for (const n of graph.nodes) {
      if (n.kind === "source" && n.inputs.length > 0) {
        issues.push(issueAt(graph, n.id, ["inputs"], "a source has no inputs"))
      }
      const letters = n.kind === "sink" ? lettersInto(n.id) : []
      // a destination named by some node's dead_letter.to (valid or not: that node has its own issue)
      const named = n.kind === "sink" && graph.nodes.some((m) => namedDestination(m) === n.id)
      if (n.kind !== "source" && n.inputs.length === 0 && !named) {
        issues.push(issueAt(graph, n.id, ["inputs"], `a ${kindWord(n.kind)} needs at least one input`))
      }
      if (letters.length > 0 && n.inputs.length > 0) {
        // one shape per destination: a table (or a typed DSL sink) fits the records or the envelopes, not both
        issues.push(issueAt(
          graph,
          n.id,
          ["inputs"],
          `destination '${n.id}' takes the dead letters of ${letters.map((l) => `'${l}'`).join(", ")} (envelopes: node, at, tag, source, position, error, detail, record), so it reads nothing else; set inputs: [] and write ${
            n.inputs.map((i) => `'${i}'`).join(", ")
          } to another destination`
        ))
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
    // `auto`: a source of no parallelism of its own that can split its input runs on the cores
    if (workflowParallelism === "auto") {
      const cores = autoCores()
      for (const [id, p] of prepared) {
        if (p.kind !== "source" || p.node.parallelism !== undefined || p.source.capabilities.autoParallelism === undefined) continue
        const readers = (consumers.get(id) ?? []).flatMap((c) => prepared.get(c) ?? [])
        prepared.set(id, { ...p, parallelism: autoSourceInstances(p.source.capabilities, readers, id, cores), auto: true })
      }
    }
    // A source that splits its input (byte ranges of a file) interleaves records of different parts
    // of it: a stateful node after it would see another order than the input's — a window's
    // event-time clock would judge records late by that interleaving, a dedupe keep another
    // occurrence, a first/last another value. Unless the source's own `parallelism` asks for the
    // split, such a source reads with one instance, in order (plan says why).
    for (const [id, p] of prepared) {
      if (p.kind !== "source" || p.node.parallelism !== undefined || p.parallelism <= 1 || p.source.capabilities.autoParallelism === undefined) continue
      const sensitive = orderSensitiveAfter(id, consumers, prepared)
      if (sensitive !== undefined) prepared.set(id, { ...p, parallelism: 1, inOrderFor: sensitive })
    }
    // a keyed node runs at most one instance per key group
    const keyGroups = settings.key_groups ?? WorkflowGraph.defaults.key_groups
    for (const p of prepared.values()) {
      const keyed = p.node.key_by !== undefined || (p.kind === "processor" && p.processor._tag === "Stateful")
      if (keyed && p.parallelism > keyGroups) {
        issues.push(issueAt(graph, p.node.id, ["parallelism"], `a keyed node runs at most execution.key_groups (${keyGroups}) instances, got ${p.parallelism}`))
      }
    }
    // dead letters of processors: set aside by the record loop of stateless processors
    for (const p of prepared.values()) {
      if (p.node.on_error === "dead_letter" && p.node.dead_letter === undefined) {
        issues.push(issueAt(graph, p.node.id, ["on_error"], "on_error: dead_letter needs dead_letter: { path } or dead_letter: { to: <destination> }"))
      } else if (p.node.on_error === "dead_letter" && (p.kind !== "processor" || !setsRecordsAside(p.processor))) {
        issues.push(issueAt(graph, p.node.id, ["on_error"], p.kind === "processor" ? notPerRecord(p) : `the on_error of a ${p.kind} goes in its config`))
      } else if (p.node.on_error === "dead_letter") {
        issues.push(...destinationIssues(graph, p.node, ["dead_letter", "to"]))
      } else if (p.kind === "sink" && destinationOf(p.node) !== undefined) {
        issues.push(...destinationIssues(graph, p.node, ["config", "dead_letter", "to"]))
      }
      // a destination named without on_error: dead_letter would receive nothing (and wait for nothing)
      if (namedDestination(p.node) !== undefined && destinationOf(p.node) === undefined) {
        issues.push(issueAt(
          graph,
          p.node.id,
          p.kind === "sink" ? ["config", "dead_letter"] : ["dead_letter"],
          "dead_letter: { to } sends the records that on_error: dead_letter sets aside; set on_error: dead_letter, or remove dead_letter"
        ))
      }
    }
    // 3. Files and other resources: no two writers of one, no writer of what another node reads.
    issues.push(...yield* resourceIssues(graph, prepared))
    // 3. Expression steps read fields their records have, where a source declares them.
    issues.push(...unknownFieldIssues(graph, prepared))
    if (issues.length > 0) return yield* new DefinitionError({ issues })
    return {
      graph,
      nodes: order.map((id) => prepared.get(id)!),
      consumers,
      deadLetterTo,
      batchSize: settings.batch_size ?? WorkflowGraph.defaults.batch_size,
      queueCapacity: settings.queue_capacity ?? WorkflowGraph.defaults.queue_capacity
    }
  })

/**
 * Whether a processor can set a bad record aside: record-by-record steps; stateful operators
 * that vet a record before changing their state (`deadLetters`: aggregate, dedupe); batch
 * functions declared pure, whose failed batches can be bisected, or that name the records they
 * fail on themselves (`setAside`: worker_map in record mode).
 */
const setsRecordsAside = (p: Processor): boolean =>
  p._tag === "Stateless" || (p._tag === "Stateful" ? p.deadLetters === true : p.pure === true || p.setAside !== undefined)

/**
 * Why a processor that cannot set a record aside refuses `on_error: dead_letter`: what its
 * failure would leave behind.
 */
const notPerRecord = (p: PreparedNode & { readonly kind: "processor" }): string => {
  const head = `on_error: dead_letter applies to record-by-record processors (filter, map, select, rename, flat_map), aggregate, dedupe, worker_map in mode: record and pure batch functions; '${p.node.type}'`
  return p.processor._tag === "Stateful"
    ? `${head} fails the run on a bad record: its operator does not say it vets a record before changing its keyed state (deadLetters), so a record's error could leave the state half-updated; check the records in a filter or map with on_error: dead_letter before it`
    : p.node.type === "worker_map"
    ? `${head} in mode: batch fails the run on a bad record: the module's function runs over a whole batch, so its failure names no record; declare it pure (config pure: true) if its output depends on its records only, so that a failed batch is run again in halves to find the records it fails on, or use mode: record (each record's failure is caught in the worker)`
    : p.node.type === "via"
    ? `${head} fails the run on a bad record: its Stream function runs over a whole batch, so its failure names no record; declare it pure (.via(id, fn, { pure: true }), viaSpec(fn, { pure: true })) if its output depends on its records only and running it again on part of a batch repeats no effect, so that a failed batch is run again in halves to find the records it fails on, or handle the error inside the stream`
    : p.node.type === "process"
    ? `${head} fails the run on a bad record: the function runs over a whole batch, so its failure names no record; declare it pure (config pure: true, processSpec(fn, { pure: true })) if its output depends on its records only, so that a failed batch is run again in halves to find the records it fails on, or handle the error inside the function`
    : `${head} fails the run on a bad record: it runs over a whole batch (or a stream of it) and is not declared pure, so its failure names no record; handle the error inside the function, or set records aside in a map or flat_map with on_error: dead_letter`
}

const field = (u: unknown, key: string): unknown =>
  u !== null && typeof u === "object" && !Array.isArray(u) ? (u as { readonly [k: string]: unknown })[key] : undefined

/**
 * The destination a node names for its dead letters, whether or not it sets records aside: a
 * processor's `dead_letter.to`, a sink's `config.dead_letter.to`.
 */
const namedDestination = (n: WorkflowGraph.Node): string | undefined =>
  n.kind === "processor"
    ? WorkflowGraph.deadLetterDestination(n.dead_letter)
    : n.kind === "sink"
    ? WorkflowGraph.deadLetterDestination(field(n.config, "dead_letter"))
    : undefined

/** The destination a node's dead letters go to: {@link namedDestination} with `on_error: dead_letter`. */
const destinationOf = (n: WorkflowGraph.Node): string | undefined =>
  (n.kind === "processor" ? n.on_error : field(n.config, "on_error")) === "dead_letter" ? namedDestination(n) : undefined

/** A node's `dead_letter: { to }` names another destination of the workflow. */
const destinationIssues = (
  graph: WorkflowGraph.WorkflowGraph,
  n: WorkflowGraph.Node,
  path: ReadonlyArray<string>
): ReadonlyArray<DefinitionIssue> => {
  const to = namedDestination(n)
  if (to === undefined) return []
  if (to === n.id) return [issueAt(graph, n.id, path, `'${to}' is this destination itself: its dead letters go to another destination`)]
  const target = WorkflowGraph.node(graph, to)
  if (target === undefined) {
    const sinks = graph.nodes.filter((m) => m.kind === "sink").map((m) => m.id)
    const hint = closest(to, sinks)
    return [issueAt(
      graph,
      n.id,
      path,
      `unknown destination '${to}'${hint !== undefined ? ` (did you mean '${hint}'?)` : ""}; destinations: ${sinks.join(", ")}`
    )]
  }
  if (target.kind !== "sink") {
    return [issueAt(graph, n.id, path, `'${to}' is a ${kindWord(target.kind)}; dead letters go to a destination (a node under destinations)`)]
  }
  return []
}

const declaredBy = (node: PreparedNode): ReadonlyArray<Declared> => {
  const resources = node.kind === "source" ? node.source.resources : node.kind === "sink" ? node.sink.resources : undefined
  if (resources === undefined) {
    // a processor's dead-letter file is written too
    const letters = node.node.on_error === "dead_letter" ? node.node.dead_letter : undefined
    return letters === undefined || !("path" in letters)
      ? []
      : [{ node: node.node.id, access: "write" as const, resource: { kind: "file", name: letters.path } }]
  }
  return [
    ...(resources.reads ?? []).map((resource) => ({ node: node.node.id, access: "read" as const, resource })),
    ...(resources.writes ?? []).map((resource) => ({ node: node.node.id, access: "write" as const, resource }))
  ]
}

/** Issues for every collision among the resources the prepared nodes declare, at the writer. */
const resourceIssues = (
  graph: WorkflowGraph.WorkflowGraph,
  prepared: ReadonlyMap<string, PreparedNode>
): Effect.Effect<ReadonlyArray<DefinitionIssue>> =>
  Effect.gen(function*() {
    const declared: Array<Declared> = []
    // the workflow file itself is read: a sink must not overwrite it
    if (graph.sourceMap !== undefined) declared.push({ node: undefined, access: "read", resource: { kind: "file", name: graph.sourceMap.file } })
    for (const n of graph.nodes) {
      const p = prepared.get(n.id)
      if (p !== undefined) declared.push(...declaredBy(p))
    }
    if (!declared.some((d) => d.access === "write")) return []
    const found = yield* Effect.promise(() => collisions(declared))
    return found.map((c) => issueAt(graph, c.at.node, c.at.resource.key !== undefined ? ["config", ...c.at.resource.key] : [], collisionText(graph, c)))
  })

const collisionText = (graph: WorkflowGraph.WorkflowGraph, { at, other }: Collision): string => {
  const noun = at.resource.kind === "file" ? "file" : at.resource.kind
  const what = `the ${noun} '${at.resource.name}'`
  if (other.node === undefined) return `${what} is the workflow file itself; write to another file`
  const otherNode = WorkflowGraph.node(graph, other.node)
  const where = other.resource.key !== undefined ? ["config", ...other.resource.key] : []
  const line = graph.sourceMap?.locate(other.node, where)?.line
  const by = `${otherNode === undefined ? "node" : kindWord(otherNode.kind)} '${other.node}'${
    line !== undefined ? ` (${WorkflowGraph.describePath(graph, other.node, where)}, line ${line})` : ""
  }`
  const is = other.resource.name === at.resource.name ? `${what} is` : `${what} is '${other.resource.name}',`
  const harm = at.resource.kind === "file" ? "writing it would empty the input before it is read" : "the workflow would read what it writes"
  return other.access === "read"
    ? `${is} read by ${by}: ${harm}; write to another ${noun}`
    : `${is} also written by ${by}: two writers of one ${noun} lose each other's records; give each its own ${noun}`
}
