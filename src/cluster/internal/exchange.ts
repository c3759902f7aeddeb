/**
 * The keyed exchange: how the cluster runs a workflow with a keyed stateful operator (`aggregate`,
 * `dedupe` over the whole input) in two stages that checkpoint on their own, after Kafka Streams'
 * repartition topics.
 *
 * - **Stage 1** parts (`0 … n-1`) are the source's ranges, as for a stateless workflow, with the
 *   stateless chain up to the keyed operator; instead of the operator they write every record,
 *   with its key group (keyGroups.ts: the node's `key_by`, else the operator's own key;
 *   `execution.key_groups` groups), into
 *   the table `<prefix>_exchange` through the `postgres` sink in exactly-once `insert` mode: rows
 *   staged per checkpoint and moved into the table with the part's checkpoint marks, in one
 *   transaction. The table's `seq` (an identity) is assigned as the rows are moved, and one
 *   producer moves one checkpoint at a time, so the rows of a producer visible to readers are
 *   always a prefix of its rows by `seq`.
 * - **Stage 2** parts (`n … 2n-1`): part `n + j` owns the key groups `groupRange(j, groups, n)`,
 *   reads their rows producer by producer in `seq` order (its source's position is the last `seq`
 *   read of each producer, checkpointed with the operator's state), runs the keyed operator and
 *   the rest of the chain into the sinks, and ends when every stage-1 part is done and it has read
 *   all their rows: the operator's end-of-input output (final aggregates) is then emitted. When a
 *   checkpoint completes, the rows it covers are deleted.
 *
 * A part of either stage that starts again elsewhere restores its own checkpoint: a producer
 * re-reads its range from its position and its sink applies or drops what it had staged; a
 * consumer seeks to its `seq`s and restores the operator's state.
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
import { Buffer } from "node:buffer"
import { Effect, Schema } from "effect"
import pg from "pg"
import * as Batch from "../../Batch.ts"
import type { SourceReader } from "../../Connector.ts"
import { ConnectorError, TransientError } from "../../Errors.ts"
import { DEFAULT_KEY_GROUPS, groupRange, keyGroupOf } from "../../internal/keyGroups.ts"
import { keyExtractor } from "../../internal/planner.ts"
import type * as Processor from "../../Processor.ts"
import { eventTime } from "../../processors/internal/windows.ts"
import type { Entry, Registry } from "../../Registry.ts"
import * as State from "../../State.ts"
import { durationMillis, type Node, type WorkflowGraph } from "../../WorkflowGraph.ts"

/** Keyed operators the exchange distributes (over the whole input or event-time windows). */
export const KEYED_TYPES: ReadonlySet<string> = new Set(["aggregate", "dedupe"])

/** The type of stage 2's source (registered only in a stage-2 part's registry). */
export const EXCHANGE_SOURCE = "__dataflare_exchange"
/** The type of stage 1's routing step (registered only in a stage-1 part's registry). */
export const EXCHANGE_ROUTE = "__dataflare_exchange_route"
/** Node ids of the exchange's own nodes in a stage's graph. */
const SOURCE_ID = "__exchange_in"
const ROUTE_ID = "__exchange_route"
const SINK_ID = "__exchange_out"

/** The exchange's table. */
export const exchangeTable = (prefix: string): string => `${prefix}_exchange`

/** Creates `<prefix>_exchange` when missing. */
export const createTableSql = (prefix: string): string => {
  const t = pg.escapeIdentifier(exchangeTable(prefix))
  const i = pg.escapeIdentifier(`${exchangeTable(prefix)}_read`)
  return `CREATE TABLE IF NOT EXISTS ${t} (
    workflow text NOT NULL, producer int NOT NULL, kg int NOT NULL, payload text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY, wm double precision);
    ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS wm double precision;
    CREATE INDEX IF NOT EXISTS ${i} ON ${t} (workflow, producer, seq)`
}

/** The event-time settings of a windowed keyed operator (`undefined`: no window). */
export interface Windowed {
  readonly timeField: string
  /** `max_out_of_orderness` in milliseconds. */
  readonly outOfOrderness: number
}

/** The event-time settings of a keyed node with a `window` (and its `time_field`). */
export const windowedOf = (keyed: Node): Windowed | undefined => {
  const config = keyed.config as { readonly window?: unknown; readonly time_field?: unknown; readonly max_out_of_orderness?: unknown }
  if (config.window === undefined || typeof config.time_field !== "string") return undefined
  const ooo = config.max_out_of_orderness
  return { timeField: config.time_field, outOfOrderness: typeof ooo === "string" || typeof ooo === "number" ? durationMillis(ooo) : 0 }
}

/**
 * The `max_out_of_orderness` a stage-2 operator runs with: so large that the records it sees never
 * move its clock (only the batches' watermarks do). The largest a Date can be away from another.
 */
const NEVER_FROM_RECORDS_MS = 8.64e15

/** The input node of an input reference (`node` or `node.port`). */
const inputNode = (graph: WorkflowGraph, input: string): string => {
  if (graph.nodes.some((n) => n.id === input)) return input
  const dot = input.lastIndexOf(".")
  return dot > 0 ? input.slice(0, dot) : input
}

/** The keyed node of a workflow the exchange runs (checked by split.ts), if it has one. */
export const keyedNode = (graph: WorkflowGraph): Node | undefined => graph.nodes.find((n) => n.kind === "processor" && KEYED_TYPES.has(n.type))

/**
 * The nodes before the keyed node (its ancestors: the source and the chain to it) and from it on
 * (it and what reads from it, directly or not).
 */
export const stagesOf = (graph: WorkflowGraph, keyed: Node): { readonly before: ReadonlySet<string>; readonly after: ReadonlySet<string> } => {
  const before = new Set<string>()
  const visit = (id: string) => {
    const node = graph.nodes.find((n) => n.id === id)
    if (node === undefined || before.has(id)) return
    before.add(id)
    for (const i of node.inputs) visit(inputNode(graph, i))
  }
  for (const i of keyed.inputs) visit(inputNode(graph, i))
  const after = new Set<string>([keyed.id])
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
  return { before, after }
}

/** Which stage a part of a keyed workflow in `parts` parts (2n: n of each stage) belongs to. */
export type Stage =
  | { readonly stage: 1; readonly producer: number; readonly n: number }
  | { readonly stage: 2; readonly consumer: number; readonly n: number }

/** The stage of part `part` of `parts` (even: n producers, then n consumers). */
export const stageOf = (part: number, parts: number): Stage => {
  const n = parts / 2
  return part < n ? { stage: 1, producer: part, n } : { stage: 2, consumer: part - n, n }
}

/** How many parts a keyed workflow submitted in `n` parts runs: n producers and n consumers. */
export const keyedParts = (n: number): number => 2 * n

const groupsOf = (graph: WorkflowGraph): number => graph.execution.key_groups ?? DEFAULT_KEY_GROUPS

/** The key groups stage-2 part `consumer` of `n` reads: `[first, last]`. */
export const consumerGroups = (graph: WorkflowGraph, consumer: number, n: number): readonly [number, number] =>
  groupRange(consumer, groupsOf(graph), n)

/**
 * Stage 1's graph: the source and the chain up to the keyed node, then the routing step and the
 * exchange's exactly-once `postgres` sink (its marks the part's: its workflow is the part's name).
 */
export const producerGraph = (graph: WorkflowGraph, keyed: Node, url: string, prefix: string): WorkflowGraph => {
  const { before } = stagesOf(graph, keyed)
  const input = keyed.inputs[0]!
  return {
    ...graph,
    nodes: [
      ...graph.nodes.filter((n) => before.has(n.id)),
      { kind: "processor", id: ROUTE_ID, type: EXCHANGE_ROUTE, config: {}, inputs: [input] },
      {
        kind: "sink",
        id: SINK_ID,
        type: "postgres",
        config: {
          connection_string: url,
          table: exchangeTable(prefix),
          mode: "insert",
          checkpoint_table: `${prefix}_exchange_checkpoints`
        },
        inputs: [ROUTE_ID]
      }
    ]
  }
}

/** Stage 2's graph: the exchange's source, then the keyed node and everything after it. */
export const consumerGraph = (graph: WorkflowGraph, keyed: Node): WorkflowGraph => {
  const { after } = stagesOf(graph, keyed)
  return {
    ...graph,
    nodes: [
      { kind: "source", id: SOURCE_ID, type: EXCHANGE_SOURCE, config: {}, inputs: [] },
      ...graph.nodes.filter((n) => after.has(n.id)).map((n) =>
        n.id !== keyed.id
          ? n
          : windowedOf(keyed) === undefined
          ? { ...n, inputs: [SOURCE_ID] }
          : { ...n, inputs: [SOURCE_ID], config: { ...(n.config as object), max_out_of_orderness: NEVER_FROM_RECORDS_MS } }
      )
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// the records' text in the exchange: JSON, with what JSON cannot carry tagged

const TAG = "\u0000df"

/** A record as the exchange's `payload` text (bigint, Date, bytes and non-finite numbers kept). */
export const encodeRecord = (record: unknown): string =>
  JSON.stringify(record, function(this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key]
    if (typeof raw === "bigint") return { [TAG]: "bigint", v: raw.toString() }
    if (raw instanceof Date) return { [TAG]: "date", v: Number.isNaN(raw.getTime()) ? null : raw.toISOString() }
    if (raw instanceof Uint8Array) return { [TAG]: "bytes", v: Buffer.from(raw).toString("base64") }
    if (typeof raw === "number" && !Number.isFinite(raw)) return { [TAG]: "number", v: String(raw) }
    return value
  })

/** The record of a `payload` text ({@link encodeRecord}'s inverse). */
export const decodeRecord = (text: string): unknown =>
  JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== "object" || value === null || !(TAG in value)) return value
    const { [TAG]: tag, v } = value as { readonly [TAG]: string; readonly v: string | null }
    switch (tag) {
      case "bigint":
        return BigInt(v!)
      case "date":
        return v === null ? new Date(Number.NaN) : new Date(v)
      case "bytes":
        return new Uint8Array(Buffer.from(v!, "base64"))
      case "number":
        return Number(v)
      default:
        return value
    }
  })

// ---------------------------------------------------------------------------------------------
// the registry entries of the exchange's own nodes

const NoConfig = Schema.Struct({})

/**
 * Stage 1's routing step: each record becomes an exchange row (`workflow`, `producer`, its key
 * group `kg` by the keyed operator's own key, `payload`).
 */
const routeEntry = (workflow: string, producer: number, key: (record: unknown) => unknown, groups: number): Entry => ({
  kind: "processor",
  type: EXCHANGE_ROUTE,
  description: "routes records to the cluster's keyed exchange",
  apiVersion: 1,
  configSchema: NoConfig,
  prepare: () => ({
    ok: true,
    value: {
      _tag: "Stateless",
      steps: [{
        _tag: "map",
        f: (record: unknown) => ({ workflow, producer, kg: keyGroupOf(key(record), groups), payload: encodeRecord(record) })
      }]
    } satisfies Processor.StatelessProcessor
  })
})

/** The routing step's state key: the producer's largest event time read so far. */
const CLOCK = "max"

/**
 * Stage 1's routing step for a windowed operator: as {@link routeEntry}, and every row carries
 * the producer's clock (`wm`: the largest event time read so far minus `max_out_of_orderness`;
 * `null` before the first valid time). A stateful step of one instance: the clock is part of the
 * part's checkpoints, so a producer resumed elsewhere goes on from the clock it had. A record
 * without a valid event time passes unchanged (the operator sets it aside or fails on it).
 */
const windowedRouteEntry = (workflow: string, producer: number, key: (record: unknown) => unknown, groups: number, windowed: Windowed): Entry => ({
  kind: "processor",
  type: EXCHANGE_ROUTE,
  description: "routes records to the cluster's keyed exchange, with the producer's event-time clock",
  apiVersion: 1,
  configSchema: NoConfig,
  prepare: () => ({
    ok: true,
    value: {
      _tag: "Stateful",
      key: undefined,
      ports: [],
      stateSchema: Schema.Unknown,
      stateVersion: 1,
      fingerprint: { route: "windowed", timeField: windowed.timeField },
      make: () => {
        const state = State.inMemory<unknown>()
        return {
          state,
          onBatch: (batch) => {
            const stored = state.get(CLOCK)
            let max = typeof stored === "number" ? stored : Number.NEGATIVE_INFINITY
            const out: Array<unknown> = []
            for (let i = batch.start; i < batch.end; i++) {
              const record = batch.records[i]
              let t: number | undefined
              try {
                t = eventTime(record, windowed.timeField)
              } catch {
                t = undefined
              }
              if (t !== undefined && t > max) max = t
              out.push({
                workflow,
                producer,
                kg: keyGroupOf(key(record), groups),
                payload: encodeRecord(record),
                wm: Number.isFinite(max) ? max - windowed.outOfOrderness : null
              })
            }
            if (Number.isFinite(max) && max !== stored) state.set(CLOCK, max)
            return { records: out }
          },
          onEnd: () => ({ records: [] })
        }
      }
    } satisfies Processor.StatefulProcessor
  })
})

const failure = (operation: string, e: unknown) =>
  new ConnectorError({
    connector: EXCHANGE_SOURCE,
    operation,
    reason: new TransientError({ message: `the cluster's exchange: ${e instanceof Error ? e.message : String(e)}` })
  })

/** What stage 2's source needs to know. */
export interface ConsumerOptions {
  readonly url: string
  readonly prefix: string
  readonly workflow: string
  /** How many producers (stage-1 parts) write the exchange. */
  readonly producers: number
  /** The key groups read, `[first, last]`. */
  readonly groups: readonly [number, number]
  /** The producers' statuses, for the end: `done` for all, or the first that failed. */
  readonly producersDone: Effect.Effect<{ readonly done: boolean; readonly failed?: string | undefined }, unknown>
}

/** Rows fetched per query. */
const FETCH = 5000
/** How long a consumer waits when no producer has a row for it and some still run. */
const IDLE_MS = 200

const openConsumer = (options: ConsumerOptions) =>
  Effect.gen(function*() {
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => new pg.Pool({ connectionString: options.url, max: 1 })),
      (p) => Effect.promise(() => p.end().catch(() => undefined))
    )
    pool.on("error", () => undefined)
    const table = pg.escapeIdentifier(exchangeTable(options.prefix))
    const seqs: Array<number> = Array.from({ length: options.producers }, () => 0)
    // each producer's event-time clock, from the last of its rows read (windowed operators)
    const clocks: Array<number> = Array.from({ length: options.producers }, () => Number.NEGATIVE_INFINITY)
    /** The watermark every producer has passed: the smallest of their clocks. */
    const watermark = (): number | undefined => {
      const w = Math.min(...clocks)
      return Number.isFinite(w) ? w : undefined
    }
    let next = 0
    let producersDone = false
    const fetch = (producer: number, max: number) =>
      Effect.tryPromise({
        try: () =>
          pool.query(
            `SELECT seq, payload, wm FROM ${table} WHERE workflow = $1 AND producer = $2 AND seq > $3 AND kg BETWEEN $4 AND $5 ORDER BY seq LIMIT $6`,
            [options.workflow, producer, seqs[producer], options.groups[0], options.groups[1], Math.min(max, FETCH)]
          ),
        catch: (e) => failure("read", e)
      })
    const reader: SourceReader<unknown> = {
      readBatch: (max) =>
        Effect.gen(function*() {
          for (let k = 0; k < options.producers; k++) {
            const producer = (next + k) % options.producers
            const result = yield* fetch(producer, max)
            if (result.rows.length === 0) continue
            next = (producer + 1) % options.producers
            const rows = result.rows as Array<{ seq: string; payload: string; wm: number | null }>
            seqs[producer] = Number(rows[rows.length - 1]!.seq)
            // the batch carries the watermark of the rows read before it: every producer's clock
            // then, which none of this batch's records can be behind by more than its own producer was
            const before = watermark()
            const last = rows[rows.length - 1]!.wm
            if (last !== null && last > clocks[producer]!) clocks[producer] = last
            return Batch.make(rows.map((r) => decodeRecord(r.payload)), before === undefined ? undefined : { watermark: before })
          }
          // nothing for this part: every producer had already ended before this sweep, so no row can come
          if (producersDone) return undefined
          const ended = yield* Effect.mapError(options.producersDone, (e) => failure("end", e))
          if (ended.failed !== undefined) return yield* failure("end", ended.failed)
          if (ended.done) producersDone = true
          else yield* Effect.sleep(IDLE_MS)
          return Batch.empty()
        }),
      position: Effect.sync(() => ({ seqs: [...seqs], clocks: clocks.map((c) => (Number.isFinite(c) ? c : null)) })),
      seek: (position) =>
        Effect.gen(function*() {
          const stored = (position as { readonly seqs?: unknown }).seqs
          if (!Array.isArray(stored) || stored.length !== options.producers) {
            return yield* failure("seek", `the checkpoint's position ${JSON.stringify(position)} is not one of ${options.producers} producers`)
          }
          for (let i = 0; i < stored.length; i++) seqs[i] = Number(stored[i])
          const storedClocks = (position as { readonly clocks?: unknown }).clocks
          for (let i = 0; i < clocks.length; i++) {
            const c = Array.isArray(storedClocks) ? storedClocks[i] : null
            clocks[i] = typeof c === "number" ? c : Number.NEGATIVE_INFINITY
          }
        }),
      // a completed checkpoint covers the rows up to its seqs: they are not read again
      commit: (position) =>
        Effect.asVoid(Effect.tryPromise({
          try: () =>
            pool.query(
              `DELETE FROM ${table} e USING unnest($2::int[], $3::bigint[]) AS c(producer, seq)
               WHERE e.workflow = $1 AND e.producer = c.producer AND e.seq <= c.seq AND e.kg BETWEEN $4 AND $5`,
              [
                options.workflow,
                seqs.map((_, i) => i),
                (position as { readonly seqs: ReadonlyArray<number> }).seqs,
                options.groups[0],
                options.groups[1]
              ]
            ),
          catch: (e) => failure("commit", e)
        }))
    }
    return reader
  })

/** Stage 2's source: the exchange's rows of the part's key groups. */
const sourceEntry = (options: ConsumerOptions): Entry => ({
  kind: "source",
  type: EXCHANGE_SOURCE,
  description: "reads the cluster's keyed exchange",
  apiVersion: 1,
  configSchema: NoConfig,
  prepare: () => ({
    ok: true,
    value: {
      _tag: "PreparedSource",
      type: EXCHANGE_SOURCE,
      capabilities: { seekable: true, unbounded: false, maxParallelism: 1 },
      check: Effect.void,
      open: () => openConsumer(options)
    }
  })
})

/**
 * The registry of a stage-1 part: the given one with the routing step, which keys records as
 * `keyed` (prepared from the given registry) does.
 */
export const producerRegistry = (
  registry: Registry["Service"],
  graph: WorkflowGraph,
  keyed: Node,
  producer: number
): Registry["Service"] | string => {
  const entry = registry.find("processor", keyed.type)
  if (entry === undefined || entry.kind !== "processor") return `no processor '${keyed.type}' in the runner's registry`
  const prepared = entry.prepare(keyed.config, { node: keyed.id })
  if (!prepared.ok || prepared.value._tag !== "Stateful" || prepared.value.key === undefined) {
    return `node '${keyed.id}' (${keyed.type}) is not a keyed operator on this runner`
  }
  // records travel by the node's `key_by` when it has one (as they reach a local run's instances), else by its own key
  const key = keyed.key_by !== undefined ? keyExtractor(keyed.key_by) : prepared.value.key
  const windowed = windowedOf(keyed)
  const route = windowed === undefined
    ? routeEntry(graph.name, producer, key, groupsOf(graph))
    : windowedRouteEntry(graph.name, producer, key, groupsOf(graph), windowed)
  return { ...registry, find: (kind, type) => (kind === "processor" && type === EXCHANGE_ROUTE ? route : registry.find(kind, type)) }
}

/** The registry of a stage-2 part: the given one with the exchange's source of its key groups. */
export const consumerRegistry = (
  registry: Registry["Service"],
  graph: WorkflowGraph,
  consumer: number,
  n: number,
  options: Omit<ConsumerOptions, "groups" | "producers">
): Registry["Service"] => {
  const source = sourceEntry({ ...options, producers: n, groups: consumerGroups(graph, consumer, n) })
  return { ...registry, find: (kind, type) => (kind === "source" && type === EXCHANGE_SOURCE ? source : registry.find(kind, type)) }
}
