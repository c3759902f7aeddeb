/**
 * Splitting a workflow into parts, the unit the cluster distributes: part `i` of `n` reads range
 * `i` of the source — a byte range of a `csv` source's file (the ranges of a parallel csv source,
 * see src/connectors/csv/internal/range.ts) or of an `ndjson` source's (see
 * src/connectors/ndjson/internal/range.ts), or a key range of a `postgres` or `mysql` table
 * source (the ranges of its partitioned read) — or, for a broker source, is consumer `i` of `n`
 * (`redis-streams`: consumer `<consumer>-<i>` of the one group; `rabbitmq`: a consumer of the
 * queue), runs the stateless chain after it, and writes through its own sink instances,
 * checkpointing as the workflow `<name>/<i>` in the cluster's PostgreSQL state backend. A file
 * sink writes its own file per part (`out.csv` → `out.part-<i>.csv`); a `postgres` sink is
 * shared: every part writes the same table, as an instance of its own (its checkpoint marks and
 * staging table are the part's, named after `<name>/<i>`).
 *
 * What is distributed is checked at submit time ({@link check}): one `csv` or `ndjson` source,
 * `postgres` or `mysql` table source, or `redis-streams` / `rabbitmq` source, stateless
 * processors and at most one keyed `aggregate` / `dedupe` (over the whole input or windows, by its
 * own key or its `key_by`) behind a bounded source, on the one path source → operator → sinks (run
 * in two stages: see exchange.ts; a part runs one instance of every node, so `key_by` on a
 * stateless node changes nothing), file sinks (`csv`, `ndjson`) with a `path` or `postgres` sinks in
 * `insert` / `upsert` mode — with a broker source, `postgres` sinks in `upsert` mode only (or
 * declared `guarantee: at-least-once`).
 */
import * as path from "node:path"
import { Effect } from "effect"
import type { SourceRestoreContext } from "../../Connector.ts"
import { type Entry, type PreparedSource, Registry } from "../../Registry.ts"
import * as Runtime from "../../Runtime.ts"
import type { Node, WorkflowGraph } from "../../WorkflowGraph.ts"
import { ClusterError } from "./errors.ts"
import { KEYED_TYPES, keyedNodes, refusalOf } from "./exchange.ts"

/** Table sources, split in key ranges (their partitioned read): a `query` cannot be split. */
const TABLE_SOURCES = new Set(["postgres", "mysql"])
/**
 * Broker sources: part `i` of `n` is a consumer of its own (opened as instance `i` of `n`), and
 * the source never ends. A part's messages read and not yet acknowledged can go to another part
 * (a dead consumer's pending entries claimed, a closed channel's messages redelivered), past the
 * part's own checkpoint: only an idempotent sink keeps each message once.
 */
const BROKER_SOURCES = new Set(["redis-streams", "rabbitmq"])
/** File sources, split in byte ranges (a range starts at the first record boundary after its cut). */
const FILE_SOURCES = new Set(["csv", "ndjson"])
/** Sources whose parts are ranges (a file's bytes, a table's keys) or consumers (a broker's). */
const SPLITTABLE = new Set([...FILE_SOURCES, ...TABLE_SOURCES, ...BROKER_SOURCES])
/** Sources refused with a reason of their own. */
const NOT_YET: ReadonlyMap<string, string> = new Map([
  [
    "nats",
    "nats consumers as cluster parts are not supported: they were tried and stalled in a full run (run it with dataflare run)"
  ]
])
/** Sinks that write one file (`config.path`): each part writes its own. */
const FILE_SINKS = new Set(["csv", "ndjson"])
/** Sinks every part writes as an instance of its own (the same table, per-instance checkpoint marks). */
const SHARED_SINKS = new Set(["postgres"])
/** A part checkpoints at least this often when the workflow sets no `checkpoint_interval`. */
export const DEFAULT_CHECKPOINT_INTERVAL = "1s"

const refuse = (workflow: string, message: string) => new ClusterError({ operation: "submit", workflow, message })

const configPath = (node: Node): string | undefined => {
  const config = node.config
  if (typeof config !== "object" || config === null) return undefined
  const value = (config as { readonly path?: unknown }).path
  return typeof value === "string" ? value : undefined
}

const configField = (node: Node, field: string): unknown => {
  const config = node.config
  return typeof config === "object" && config !== null ? (config as Record<string, unknown>)[field] : undefined
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
    if (sources.length !== 1) {
      return yield* refuse(name, `the cluster distributes workflows with exactly one source for now (found: ${sources.map((s) => `${s.id} (${s.type})`).join(", ")})`)
    }
    const source = sources[0]!
    const notYet = NOT_YET.get(source.type)
    if (notYet !== undefined) return yield* refuse(name, `source '${source.id}' (${source.type}): ${notYet}`)
    if (!SPLITTABLE.has(source.type)) {
      return yield* refuse(
        name,
        `source '${source.id}' (${source.type}): the cluster splits csv and ndjson files, postgres and mysql tables, redis-streams and rabbitmq sources for now (run it with dataflare run)`
      )
    }
    if (TABLE_SOURCES.has(source.type) && configField(source, "table") === undefined) {
      return yield* refuse(name, `source '${source.id}' (${source.type}) reads a query: the cluster splits a table by key ranges (read a table, with a primary key or a partition_column)`)
    }
    const broker = BROKER_SOURCES.has(source.type)
    for (const node of graph.nodes) {
      if (typeof node.config === "object" && node.config !== null && "dead_letter" in node.config) {
        return yield* refuse(name, `node '${node.id}' (${node.type}) has a dead_letter file: the parts of a cluster workflow cannot share one yet`)
      }
      if (node.kind === "sink" && SHARED_SINKS.has(node.type)) {
        const mode = configField(node, "mode") ?? "insert"
        if (mode === "replace") {
          return yield* refuse(name, `sink '${node.id}' (postgres) has mode: replace: every part writes the table, none may truncate it (use insert or upsert)`)
        }
        if (broker && mode !== "upsert" && configField(node, "guarantee") !== "at-least-once") {
          return yield* refuse(
            name,
            brokerSink(node, source, `writes in ${String(mode)} mode (exactly-once by each part's own checkpoint marks)`, "use mode: upsert, by a key unique to each message (for redis-streams, the entry id of id_field)")
          )
        }
      } else if (node.kind === "sink" && broker) {
        return yield* refuse(name, brokerSink(node, source, "is not idempotent", "write into a postgres sink with mode: upsert"))
      } else if (node.kind === "sink" && (!FILE_SINKS.has(node.type) || configPath(node) === undefined)) {
        return yield* refuse(name, `sink '${node.id}' (${node.type}): the cluster writes file sinks (csv, ndjson with a path), one file per part, and postgres sinks for now`)
      }
    }
    const prepared = yield* Runtime.prepare(graph).pipe(
      Effect.mapError((e) => refuse(name, `the workflow is not valid: ${e.message}`))
    )
    const stateful = prepared.nodes.filter((n) => n.kind === "processor" && n.processor._tag === "Stateful").map((n) => n.node)
    for (const node of stateful) {
      if (!KEYED_TYPES.has(node.type)) {
        return yield* refuse(name, `processor '${node.id}' (${node.type}) is stateful: the cluster distributes aggregate and dedupe only (run it with dataflare run)`)
      }
      if (broker) {
        return yield* refuse(name, `processor '${node.id}' (${node.type}) is keyed, behind source '${source.id}' (${source.type}) that never ends: the cluster distributes keyed operators over bounded sources (files, tables) only`)
      }
    }
    if (stateful.length > 0) {
      const refusal = refusalOf(graph, keyedNodes(graph))
      if (refusal !== undefined) return yield* refuse(name, refusal)
    }
    const nodes = graph.nodes.map((node) => {
      const p = configPath(node)
      return p !== undefined && node.kind !== "processor" ? withConfig(node, { path: path.resolve(cwd, p) }) : node
    })
    return { name, ...(graph.version !== undefined ? { version: graph.version } : {}), execution: graph.execution, nodes }
  })

/** Why a sink cannot keep its guarantee behind a broker source's parts: `what` the sink does, `instead`. */
const brokerSink = (sink: Node, source: Node, what: string, instead: string) =>
  `sink '${sink.id}' (${sink.type}) ${what}, but the parts of source '${source.id}' (${source.type}) are consumers whose messages read and not ` +
  `yet acknowledged can be redelivered to another part (a part's runner died: its pending messages claimed or requeued), past that ` +
  `part's checkpoint, and would be written twice: ${instead}`

/**
 * The broker source of a checked workflow, when it has one: its parts never end, they follow
 * the source until the workflow is stopped.
 */
export const unboundedSource = (graph: WorkflowGraph): Node | undefined =>
  graph.nodes.find((n) => n.kind === "source" && BROKER_SOURCES.has(n.type))

/** `out/result.csv` → `out/result.part-2.csv`. */
export const partPath = (file: string, part: number): string => {
  const ext = path.extname(file)
  return `${file.slice(0, file.length - ext.length)}.part-${part}${ext}`
}

/** The name a part's checkpoints are stored under. */
export const partName = (workflow: string, part: number): string => `${workflow}/${part}`

/**
 * Part `part` of a checked workflow: its own name, one instance of every node, a checkpoint
 * interval, its own output file per file sink, and its own instance name in a shared sink (a
 * postgres sink's `workflow`, when the workflow sets one, gets `/<part>`: its marks are the part's).
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
    if (SHARED_SINKS.has(node.type)) {
      const own = configField(node, "workflow")
      return typeof own === "string" ? withConfig(rest, { workflow: partName(own, part) }) : rest
    }
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
