/**
 * The keyed exchange: how the cluster runs a workflow with keyed stateful operators (`aggregate`,
 * `dedupe`, over the whole input or in windows) in stages that checkpoint on their own, after Kafka
 * Streams' repartition topics. A workflow with `k` keyed operators on its one path, submitted in
 * `n` parts, runs `(k + 1) · n` parts: stage `s` (1-based) is parts `(s-1)·n … s·n-1`.
 *
 * - **Stage 1** parts are the source's ranges, as for a stateless workflow, with the stateless
 *   chain up to the first keyed operator; instead of the operator they write every record, with
 *   its key group (keyGroups.ts: the node's `key_by`, else the operator's own key;
 *   `execution.key_groups` groups), into the table `<prefix>_exchange` (edge 1) through the
 *   `postgres` sink in exactly-once `insert` mode: rows staged per checkpoint and moved into the
 *   table with the part's checkpoint marks, in one transaction. The table's `seq` (an identity) is
 *   assigned as the rows are moved, and one producer moves one checkpoint at a time, so the rows of
 *   a producer visible to readers are always a prefix of its rows by `seq`.
 * - **Stage `s` > 1** parts: part `j` of the stage owns the key groups `groupRange(j, groups, n)`
 *   of edge `s-1`, reads their rows producer by producer in `seq` order (exchangeSource.ts: its
 *   position is the last `seq` read of each producer, checkpointed with the operator's state),
 *   runs keyed operator `s-1` and the chain after it — into the sinks (the last stage), or up to
 *   the next keyed operator, whose records it writes into edge `s` as stage 1 does — and ends when
 *   every part of stage `s-1` is done and it has read all their rows: the operator's end-of-input
 *   output (final aggregates) is then emitted. When a checkpoint completes, the rows it covers are
 *   deleted.
 *
 * A part that starts again elsewhere restores its own checkpoint: a source range re-reads from its
 * position, a consumer seeks to its `seq`s and restores the operator's state, and the exchange
 * sink applies or drops what it had staged. Every edge is durable, so each part's checkpoint is
 * consistent on its own.
 *
 * **Windows** (an operator with `window`): each producer keeps its own event-time clock, the
 * largest event time it has read minus the operator's `max_out_of_orderness` (checkpointed with
 * the part: the routing step is then a stateful step), and writes it with every row (`wm`). A
 * consumer knows each producer's clock from the last row of it it read, and hands the operator the
 * smallest of them as the batches' watermark; the operator itself does not advance its clock on
 * the records it sees (they come from several producers, each in its own order). So a window
 * fires once every producer has gone past it, as one instance reading the producers one after the
 * other would fire it, and at the end of input every window still open fires.
 */
import pg from "pg"
import type { Effect } from "effect"
import { DEFAULT_KEY_GROUPS, groupRange } from "../../internal/keyGroups.ts"
import { keyExtractor } from "../../internal/planner.ts"
import type { Registry } from "../../Registry.ts"
import { durationMillis, type Node, type WorkflowGraph } from "../../WorkflowGraph.ts"
import { EXCHANGE_ROUTE, passingRouteEntry, routeEntry, type Windowed, windowedRouteEntry } from "./exchangeRoute.ts"
import { EXCHANGE_SOURCE, sourceEntry } from "./exchangeSource.ts"

export { EXCHANGE_ROUTE, type Windowed } from "./exchangeRoute.ts"
export { EXCHANGE_SOURCE } from "./exchangeSource.ts"

/** Keyed operators the exchange distributes (over the whole input or event-time windows). */
export const KEYED_TYPES: ReadonlySet<string> = new Set(["aggregate", "dedupe"])

/** Node ids of the exchange's own nodes in a stage's graph. */
const SOURCE_ID = "__exchange_in"
const ROUTE_ID = "__exchange_route"
const SINK_ID = "__exchange_out"

/** The exchange's table. */
export const exchangeTable = (prefix: string): string => `${prefix}_exchange`

/**
 * Creates `<prefix>_exchange` when missing, and adds what a table made by an earlier version lacks
 * (`wm`: windowed operators; `edge`: chained keyed operators).
 */
export const createTableSql = (prefix: string): string => {
  const t = pg.escapeIdentifier(exchangeTable(prefix))
  const i = pg.escapeIdentifier(`${exchangeTable(prefix)}_edge_read`)
  return `CREATE TABLE IF NOT EXISTS ${t} (
    workflow text NOT NULL, producer int NOT NULL, kg int NOT NULL, payload text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY, wm double precision, edge int NOT NULL DEFAULT 1);
    ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS wm double precision;
    ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS edge int NOT NULL DEFAULT 1;
    CREATE INDEX IF NOT EXISTS ${i} ON ${t} (workflow, edge, producer, seq)`
}

/** A statement that fails on an exchange table without every column this version writes. */
export const currentTableSql = (prefix: string): string => `SELECT workflow, edge, producer, kg, payload, seq, wm FROM ${pg.escapeIdentifier(exchangeTable(prefix))} LIMIT 0`

/** The event-time settings of a keyed node with a `window` (and its `time_field`). */
export const windowedOf = (keyed: Node): Windowed | undefined => {
  const config = keyed.config as { readonly window?: unknown; readonly time_field?: unknown; readonly max_out_of_orderness?: unknown }
  if (config.window === undefined || typeof config.time_field !== "string") return undefined
  const ooo = config.max_out_of_orderness
  return { timeField: config.time_field, outOfOrderness: typeof ooo === "string" || typeof ooo === "number" ? durationMillis(ooo) : 0 }
}

/** Whether a keyed node hands records on as they come (a `dedupe` without window): an event-time clock passes it. */
const passesClock = (keyed: Node): boolean => keyed.type === "dedupe" && windowedOf(keyed) === undefined

/**
 * The event-time settings whose clock the rows of edge `edge` (1-based: the rows into keyed node
 * `edge`) carry: those of the first windowed keyed node from there on that only records-passing
 * nodes (a `dedupe` without window) stand before; none when there is no such node.
 */
const clockOf = (keyed: ReadonlyArray<Node>, edge: number): Windowed | undefined => {
  for (let j = edge - 1; j < keyed.length; j++) {
    const windowed = windowedOf(keyed[j]!)
    if (windowed !== undefined) return windowed
    if (!passesClock(keyed[j]!)) return undefined
  }
  return undefined
}

/**
 * The `max_out_of_orderness` an operator that reads the exchange runs with: so large that the
 * records it sees never move its clock (only the batches' watermarks do). The largest a Date can
 * be away from another.
 */
const NEVER_FROM_RECORDS_MS = 8.64e15

/** The input node of an input reference (`node` or `node.port`). */
const inputNode = (graph: WorkflowGraph, input: string): string => {
  if (graph.nodes.some((n) => n.id === input)) return input
  const dot = input.lastIndexOf(".")
  return dot > 0 ? input.slice(0, dot) : input
}

/** The nodes `id` reads from, directly or not (without `id`). */
const ancestorsOf = (graph: WorkflowGraph, id: string): Set<string> => {
  const seen = new Set<string>()
  const visit = (at: string) => {
    const node = graph.nodes.find((n) => n.id === at)
    if (node === undefined) return
    for (const i of node.inputs) {
      const from = inputNode(graph, i)
      if (!seen.has(from)) {
        seen.add(from)
        visit(from)
      }
    }
  }
  visit(id)
  return seen
}

/** `id` and the nodes that read from it, directly or not. */
const descendantsOf = (graph: WorkflowGraph, id: string): Set<string> => {
  const after = new Set<string>([id])
  let grown = true
  while (grown) {
    grown = false
    for (const n of graph.nodes) {
      if (!after.has(n.id) && n.inputs.some((i) => after.has(inputNode(graph, i)))) {
        after.add(n.id)
        grown = true
      }
    }
  }
  return after
}

const isKeyed = (n: Node): boolean => n.kind === "processor" && KEYED_TYPES.has(n.type)

/** The keyed nodes of a workflow, in the order the records reach them (the fewest keyed ancestors first). */
export const keyedNodes = (graph: WorkflowGraph): ReadonlyArray<Node> => {
  const keyed = graph.nodes.filter(isKeyed)
  const depth = new Map(keyed.map((k) => [k.id, [...ancestorsOf(graph, k.id)].filter((a) => keyed.some((o) => o.id === a)).length]))
  return [...keyed].sort((a, b) => depth.get(a.id)! - depth.get(b.id)!)
}

/** The first keyed node of a workflow the exchange runs (checked by split.ts), if it has one. */
export const keyedNode = (graph: WorkflowGraph): Node | undefined => keyedNodes(graph)[0]

/**
 * The nodes each stage runs: stage 1 the source and the chain up to the first keyed node; stage
 * `s` keyed node `s-1` and the chain after it up to keyed node `s` (not included); the last stage
 * the last keyed node and everything after it.
 */
export const segmentsOf = (graph: WorkflowGraph, keyed: ReadonlyArray<Node>): ReadonlyArray<ReadonlySet<string>> => {
  const segments: Array<ReadonlySet<string>> = [ancestorsOf(graph, keyed[0]!.id)]
  for (let s = 0; s < keyed.length; s++) {
    const from = descendantsOf(graph, keyed[s]!.id)
    const next = keyed[s + 1]
    if (next === undefined) segments.push(from)
    else {
      const upTo = ancestorsOf(graph, next.id)
      segments.push(new Set([...from].filter((id) => upTo.has(id))))
    }
  }
  return segments
}

/**
 * Why the exchange cannot run a workflow with these keyed nodes (in {@link keyedNodes}' order), or
 * `undefined`: every node must be in exactly one stage, a stage's nodes read only from their own
 * stage (a keyed node from the stage before), keyed nodes read one input, and only the last stage
 * writes sinks.
 */
export const refusalOf = (graph: WorkflowGraph, keyed: ReadonlyArray<Node>): string | undefined => {
  const segments = segmentsOf(graph, keyed)
  const stageOfNode = new Map<string, number>()
  const path = ["source", ...keyed.map((k) => `keyed operator '${k.id}'`), "sinks"].join(" → ")
  const offPath = (node: Node) =>
    `node '${node.id}' (${node.type}) is not on the one path ${path}: the cluster runs the chains between keyed operators as stages exchanging records by key group, and nothing else may read the records on the way (run it with dataflare run)`
  for (const node of graph.nodes) {
    const stages = segments.flatMap((seg, s) => (seg.has(node.id) ? [s] : []))
    if (stages.length !== 1) return offPath(node)
    stageOfNode.set(node.id, stages[0]!)
  }
  for (let j = 1; j < keyed.length; j++) {
    if (windowedOf(keyed[j]!) === undefined) continue
    let i = j - 1
    while (i >= 0 && passesClock(keyed[i]!)) i--
    const before = keyed[i]
    if (before !== undefined && windowedOf(before) === undefined) {
      return `processor '${keyed[j]!.id}' (${keyed[j]!.type}) has a window behind ${before.type} '${before.id}' over the whole input, which emits only when its input has ended: the cluster carries event-time clocks through windowed operators and dedupe without window only (run it with dataflare run)`
    }
  }
  for (const node of graph.nodes) {
    const s = stageOfNode.get(node.id)!
    const k = keyed.findIndex((n) => n.id === node.id)
    if (k >= 0 && node.inputs.length !== 1) {
      return `processor '${node.id}' (${node.type}) reads ${node.inputs.length} inputs: the cluster's keyed exchange feeds a keyed operator from one input`
    }
    for (const input of node.inputs) {
      const from = stageOfNode.get(inputNode(graph, input))
      if (from !== (k >= 0 ? s - 1 : s)) return offPath(node)
    }
    if (node.kind === "sink" && s !== segments.length - 1) return offPath(node)
  }
  return undefined
}

/** Where a part of a keyed workflow runs: stage `stage` (1-based) of `stages`, part `index` of its `n`. */
export interface Stage {
  readonly stage: number
  readonly stages: number
  readonly index: number
  readonly n: number
}

/** The stage of part `part` of `parts`, for a workflow with `keyed` keyed operators (`keyed + 1` stages of `parts / (keyed + 1)`). */
export const stageOf = (part: number, parts: number, keyed = 1): Stage => {
  const stages = keyed + 1
  const n = parts / stages
  return { stage: Math.floor(part / n) + 1, stages, index: part % n, n }
}

/** How many parts a workflow with `keyed` keyed operators submitted in `n` parts runs: `n` per stage. */
export const keyedParts = (n: number, keyed = 1): number => (keyed + 1) * n

const groupsOf = (graph: WorkflowGraph): number => graph.execution.key_groups ?? DEFAULT_KEY_GROUPS

/** The key groups part `index` of `n` of a consuming stage reads: `[first, last]`. */
export const consumerGroups = (graph: WorkflowGraph, index: number, n: number): readonly [number, number] =>
  groupRange(index, groupsOf(graph), n)

/** What `dataflare status` says a part does: `stage 1: range 0 of 3 → exchange`, `stage 2: key groups 0-42`. */
export const roleOf = (graph: WorkflowGraph, stage: Stage): string => {
  const reads = stage.stage === 1 ? `range ${stage.index} of ${stage.n}` : `key groups ${consumerGroups(graph, stage.index, stage.n).join("-")}`
  return `stage ${stage.stage}: ${reads}${stage.stage < stage.stages ? " → exchange" : ""}`
}

/**
 * The graph of a stage: the exchange's source (a stage after the first) and the stage's nodes —
 * the keyed node it starts with reading that source, its clock moved by the batches' watermarks
 * only when windowed — then, unless it is the last stage, the routing step in front of the next
 * keyed node and the exchange's exactly-once `postgres` sink (its marks the part's: its workflow
 * is the part's name).
 */
export const stageGraph = (graph: WorkflowGraph, keyed: ReadonlyArray<Node>, stage: Stage, url: string, prefix: string): WorkflowGraph => {
  const segment = segmentsOf(graph, keyed)[stage.stage - 1]!
  const head = stage.stage > 1 ? keyed[stage.stage - 2]! : undefined
  const next = stage.stage <= keyed.length ? keyed[stage.stage - 1]! : undefined
  return {
    ...graph,
    nodes: [
      ...(head === undefined ? [] : [{ kind: "source" as const, id: SOURCE_ID, type: EXCHANGE_SOURCE, config: {}, inputs: [] }]),
      ...graph.nodes.filter((n) => segment.has(n.id)).map((n): Node =>
        n.id !== head?.id
          ? n
          : windowedOf(n) === undefined
          ? { ...n, inputs: [SOURCE_ID] }
          : { ...n, inputs: [SOURCE_ID], config: { ...(n.config as object), max_out_of_orderness: NEVER_FROM_RECORDS_MS } }
      ),
      ...(next === undefined ? [] : [
        { kind: "processor" as const, id: ROUTE_ID, type: EXCHANGE_ROUTE, config: {}, inputs: [next.inputs[0]!] },
        {
          kind: "sink" as const,
          id: SINK_ID,
          type: "postgres",
          config: { connection_string: url, table: exchangeTable(prefix), mode: "insert", checkpoint_table: `${prefix}_exchange_checkpoints` },
          inputs: [ROUTE_ID]
        }
      ])
    ]
  }
}

/** What a part needs to read the exchange (a stage after the first). */
export interface StageOptions {
  readonly url: string
  readonly prefix: string
  readonly workflow: string
  /** The statuses of the stage before's parts, for the end: `done` for all, or the first that failed. */
  readonly producersDone: Effect.Effect<{ readonly done: boolean; readonly failed?: string | undefined }, unknown>
}

/**
 * The registry of a part of a keyed workflow: the given one with the exchange's source of its key
 * groups (a stage after the first) and the routing step in front of the next keyed node, keying
 * records by that node's `key_by`, else by its own key as prepared from the given registry (a
 * stage before the last). A text when the next keyed node is not keyed on this runner.
 */
export const stageRegistry = (
  registry: Registry["Service"],
  graph: WorkflowGraph,
  keyed: ReadonlyArray<Node>,
  stage: Stage,
  options: StageOptions
): Registry["Service"] | string => {
  const next = stage.stage <= keyed.length ? keyed[stage.stage - 1]! : undefined
  let route: ReturnType<typeof routeEntry> | undefined
  if (next !== undefined) {
    const entry = registry.find("processor", next.type)
    if (entry === undefined || entry.kind !== "processor") return `no processor '${next.type}' in the runner's registry`
    const prepared = entry.prepare(next.config, { node: next.id })
    if (!prepared.ok || prepared.value._tag !== "Stateful" || prepared.value.key === undefined) {
      return `node '${next.id}' (${next.type}) is not a keyed operator on this runner`
    }
    // records travel by the node's `key_by` when it has one (as they reach a local run's instances), else by its own key
    const target = {
      workflow: graph.name,
      edge: stage.stage,
      producer: stage.index,
      key: next.key_by !== undefined ? keyExtractor(next.key_by) : prepared.value.key,
      groups: groupsOf(graph)
    }
    // the clock the rows carry: taken from the records where they are in their source's order (stage
    // 1) or in a windowed operator's output order; passed on behind a dedupe without window
    const clock = clockOf(keyed, stage.stage)
    const before = stage.stage > 1 ? keyed[stage.stage - 2]! : undefined
    route = clock === undefined
      ? routeEntry(target)
      : before !== undefined && passesClock(before)
      ? passingRouteEntry(target)
      : windowedRouteEntry(target, clock)
  }
  const source = stage.stage === 1 ? undefined : sourceEntry({
    url: options.url,
    table: pg.escapeIdentifier(exchangeTable(options.prefix)),
    workflow: options.workflow,
    edge: stage.stage - 1,
    producers: stage.n,
    groups: consumerGroups(graph, stage.index, stage.n),
    producersDone: options.producersDone
  })
  return {
    ...registry,
    find: (kind, type) =>
      kind === "processor" && type === EXCHANGE_ROUTE && route !== undefined
        ? route
        : kind === "source" && type === EXCHANGE_SOURCE && source !== undefined
        ? source
        : registry.find(kind, type)
  }
}
