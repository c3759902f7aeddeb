/**
 * Splitting a workflow into parts, the unit the cluster distributes: part `i` of `n` reads byte
 * range `i` of the `csv` source's file (the ranges of a parallel csv source, see
 * src/connectors/csv/internal/range.ts), runs the stateless chain after it, and writes its own
 * file per sink (`out.csv` → `out.part-<i>.csv`), checkpointing as the workflow `<name>/<i>` in
 * the cluster's PostgreSQL state backend.
 *
 * What the first slice distributes is checked at submit time ({@link check}): one `csv` source,
 * only stateless processors, no `key_by`, file sinks (`csv`, `ndjson`) with a `path`.
 */
import * as path from "node:path"
import { Effect } from "effect"
import type { SourceRestoreContext } from "../../Connector.ts"
import { type Entry, type PreparedSource, Registry } from "../../Registry.ts"
import * as Runtime from "../../Runtime.ts"
import type { Node, WorkflowGraph } from "../../WorkflowGraph.ts"
import { ClusterError } from "./errors.ts"

/** Sources whose parts are byte ranges of one file. */
const SPLITTABLE = new Set(["csv"])
/** Sinks that write one file (`config.path`): each part writes its own. */
const FILE_SINKS = new Set(["csv", "ndjson"])
/** A part checkpoints at least this often when the workflow sets no `checkpoint_interval`. */
export const DEFAULT_CHECKPOINT_INTERVAL = "1s"

const refuse = (workflow: string, message: string) => new ClusterError({ operation: "submit", workflow, message })

const configPath = (node: Node): string | undefined => {
  const config = node.config
  if (typeof config !== "object" || config === null) return undefined
  const value = (config as { readonly path?: unknown }).path
  return typeof value === "string" ? value : undefined
}

const withConfig = (node: Node, patch: Record<string, unknown>): Node => ({
  ...node,
  config: { ...(node.config as Record<string, unknown>), ...patch }
})

/**
 * Checks that the first slice can distribute the workflow (refusing before anything is submitted)
 * and returns it as plain data with its file paths made absolute against `cwd` (the runners may
 * run in other directories), its source map dropped.
 */
export const check = (graph: WorkflowGraph, cwd: string): Effect.Effect<WorkflowGraph, ClusterError, Registry> =>
  Effect.gen(function*() {
    const name = graph.name
    const sources = graph.nodes.filter((n) => n.kind === "source")
    if (sources.length !== 1 || !SPLITTABLE.has(sources[0]!.type)) {
      return yield* refuse(name, `the cluster distributes workflows with exactly one csv source for now (found: ${sources.map((s) => `${s.id} (${s.type})`).join(", ")})`)
    }
    for (const node of graph.nodes) {
      if (node.key_by !== undefined) return yield* refuse(name, `node '${node.id}' has key_by: keyed operators are not distributed by the cluster yet (run it with dataflare run)`)
      if (typeof node.config === "object" && node.config !== null && "dead_letter" in node.config) {
        return yield* refuse(name, `node '${node.id}' has a dead_letter file: the parts of a cluster workflow cannot share one yet`)
      }
      if (node.kind === "sink" && (!FILE_SINKS.has(node.type) || configPath(node) === undefined)) {
        return yield* refuse(name, `sink '${node.id}' (${node.type}): the cluster writes file sinks (csv, ndjson with a path) for now, one file per part`)
      }
    }
    const prepared = yield* Runtime.prepare(graph).pipe(
      Effect.mapError((e) => refuse(name, `the workflow is not valid: ${e.message}`))
    )
    for (const node of prepared.nodes) {
      if (node.kind === "processor" && node.processor._tag === "Stateful") {
        return yield* refuse(name, `processor '${node.node.id}' (${node.node.type}) is stateful: keyed state is not distributed by the cluster yet (run it with dataflare run)`)
      }
    }
    const nodes = graph.nodes.map((node) => {
      const p = configPath(node)
      return p !== undefined && node.kind !== "processor" ? withConfig(node, { path: path.resolve(cwd, p) }) : node
    })
    return { name, ...(graph.version !== undefined ? { version: graph.version } : {}), execution: graph.execution, nodes }
  })

/** `out/result.csv` → `out/result.part-2.csv`. */
export const partPath = (file: string, part: number): string => {
  const ext = path.extname(file)
  return `${file.slice(0, file.length - ext.length)}.part-${part}${ext}`
}

/** The name a part's checkpoints are stored under. */
export const partName = (workflow: string, part: number): string => `${workflow}/${part}`

/**
 * Part `part` of a checked workflow: its own name, one instance of every node, a checkpoint
 * interval, and its own output file per sink.
 */
export const partGraph = (graph: WorkflowGraph, part: number): WorkflowGraph => ({
  ...graph,
  name: partName(graph.name, part),
  execution: {
    ...graph.execution,
    parallelism: 1,
    checkpoint_interval: graph.execution.checkpoint_interval ?? DEFAULT_CHECKPOINT_INTERVAL
  },
  nodes: graph.nodes.map((node) => {
    const { parallelism: _, ...rest } = node
    if (node.kind !== "sink") return rest
    return withConfig(rest, { path: partPath(configPath(node)!, part) })
  })
})

const splitSource = (source: PreparedSource, part: number, parts: number): PreparedSource => {
  const { autoParallelism: _, ...capabilities } = source.capabilities
  const checkRestore = source.checkRestore
  return {
    ...source,
    capabilities: { ...capabilities, maxParallelism: 1 },
    // the one instance of the part's source reads range `part` of `parts`
    open: (context) => source.open({ ...context, instance: part, parallelism: parts }),
    ...(checkRestore !== undefined
      ? { checkRestore: (context: SourceRestoreContext) => checkRestore({ ...context, instance: part, parallelism: parts }) }
      : {})
  }
}

/**
 * The registry a part runs with: the given one, where a splittable source opens as instance
 * `part` of `parts` (so it reads that byte range and its positions say so).
 */
export const partRegistry = (registry: Registry["Service"], part: number, parts: number): Registry["Service"] => ({
  ...registry,
  find: (kind, type): Entry | undefined => {
    const entry = registry.find(kind, type)
    if (entry === undefined || entry.kind !== "source" || !SPLITTABLE.has(type)) return entry
    return {
      ...entry,
      prepare: (config: unknown) => {
        const prepared = entry.prepare(config)
        return prepared.ok ? { ok: true as const, value: splitSource(prepared.value, part, parts) } : prepared
      }
    }
  }
})

/** Provides {@link partRegistry} in place of the context's registry. */
export const withPartRegistry = <A, E, R>(effect: Effect.Effect<A, E, R>, part: number, parts: number) =>
  Effect.flatMap(Registry, (registry) => Effect.provideService(effect, Registry, partRegistry(registry, part, parts)))
