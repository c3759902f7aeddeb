/**
 * The workflow graph: the one intermediate representation that both the typed DSL and the YAML
 * loader produce, and the only thing the planner and the runtime know.
 *
 * A graph is a name, execution settings and a list of nodes. Each node has an id, a `type` (found
 * in the registry: `csv`, `filter`, ...), its config *as written* (the registry decodes it with
 * the type's config Schema), its inputs, and an optional parallelism. Nothing here is specific to
 * YAML or to the DSL; a graph loaded from a file also carries a `locate` function so errors can
 * name the file, line and column of a key.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { DefinitionSite, Location } from "./Errors.ts"

/** `500ms`, `30s`, `1.5m`, `1h`: a decimal number and a unit, nothing between or around them. */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/u

/**
 * A duration as written in a workflow: `500ms`, `30s`, `5m`, `1h` (a decimal number and one of
 * the units `ms`, `s`, `m`, `h`), or a finite number of milliseconds. The one duration Schema of
 * DataFlare: execution settings, processor windows and connector configs all use it (or
 * {@link PositiveDuration}), so one spelling is accepted everywhere and `"10 seconds"` is refused
 * everywhere, when the workflow is prepared (`dataflare validate`), never at run time.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DurationString = Schema.Union([
  Schema.String.check(Schema.isPattern(DURATION, { message: "expected a duration such as 500ms, 30s, 5m or 1h" })),
  Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))
])

/**
 * Milliseconds of a duration accepted by {@link DurationString}. A text it does not accept (only
 * possible for a value that skipped the Schema) is `NaN`.
 *
 * @category utils
 * @since 0.1.0
 */
export const durationMillis = (d: string | number): number => {
  if (typeof d === "number") return d
  const m = DURATION.exec(d)
  if (m === null) return Number.NaN
  const n = Number(m[1])
  switch (m[2]) {
    case "ms":
      return n
    case "s":
      return n * 1000
    case "m":
      return n * 60_000
    default:
      return n * 3_600_000
  }
}

/**
 * A {@link DurationString} greater than zero (a polling or heartbeat interval, a window size).
 *
 * @category schemas
 * @since 0.1.0
 */
export const PositiveDuration = DurationString.check(
  Schema.makeFilter((d) => durationMillis(d) > 0 || "expected a duration greater than 0")
)

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * A restart strategy (applied by the supervisor when a task fails).
 *
 * @category schemas
 * @since 0.1.0
 */
export const RestartStrategy = Schema.Union([
  Schema.Struct({ type: Schema.Literal("none") }),
  Schema.Struct({
    type: Schema.Literal("fixed-delay"),
    attempts: PositiveInt,
    delay: DurationString
  }),
  Schema.Struct({
    type: Schema.Literal("exponential-backoff"),
    initial: DurationString,
    max: DurationString,
    multiplier: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1))),
    jitter: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
    attempts: Schema.optionalKey(PositiveInt)
  }),
  Schema.Struct({
    type: Schema.Literal("failure-rate"),
    max_failures: PositiveInt,
    interval: PositiveDuration,
    delay: Schema.optionalKey(DurationString)
  })
])

/**
 * @category models
 * @since 0.1.0
 */
export type RestartStrategy = typeof RestartStrategy.Type

/**
 * Adaptive batching settings (`execution.batching`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const BatchingSettings = Schema.Struct({
  adaptive: Schema.optionalKey(
    Schema.Boolean.annotate({ description: "Move each source's batch size between min and max to keep the latency under latency_target" })
  ),
  min: Schema.optionalKey(PositiveInt.annotate({ description: "The smallest batch size (default: 16, or batch_size if smaller)" })),
  max: Schema.optionalKey(PositiveInt.annotate({ description: "The largest batch size (default: 10000, or batch_size if larger)" })),
  latency_target: Schema.optionalKey(PositiveDuration).annotateKey({
    description: "The read-to-written latency the batch size is adjusted for",
    default: "20ms"
  }),
  linger: Schema.optionalKey(DurationString).annotateKey({
    description: "How long a partial batch waits for more records",
    default: "5ms"
  })
})

/**
 * Where a workflow's checkpoints are kept (`execution.state`), when it is run by `dataflare run`:
 * - `{ backend: files, directory? }`: a state directory (default `.dataflare/<workflow-name>`);
 * - `{ backend: postgres, connection_string, schema?, table_prefix? }`: a PostgreSQL table
 *   (`<table_prefix>_checkpoints`, default `dataflare_state_checkpoints`, in `schema` or the connection's
 *   `search_path`), shared by several processes. Write the connection string as `${VAR}` so that
 *   no password sits in the file.
 * `dataflare run --state-dir` / `--state` override it. A library run provides its backend as a
 * Layer instead (see `StateBackend`).
 *
 * @category schemas
 * @since 0.3.0
 */
export const StateSettings = Schema.Union([
  Schema.Struct({
    backend: Schema.Literal("files"),
    directory: Schema.optionalKey(Schema.NonEmptyString)
  }),
  Schema.Struct({
    backend: Schema.Literal("postgres"),
    connection_string: Schema.NonEmptyString,
    schema: Schema.optionalKey(Schema.NonEmptyString),
    table_prefix: Schema.optionalKey(Schema.NonEmptyString)
  })
])

/**
 * @category models
 * @since 0.3.0
 */
export type StateSettings = typeof StateSettings.Type

/**
 * The `execution` section of a workflow. Every key is optional; {@link defaults} says what an
 * absent key means.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ExecutionSettings = Schema.Struct({
  /** Records per batch a source is asked for (default 1000). */
  batch_size: Schema.optionalKey(PositiveInt.annotate({ description: "Records per batch a source is asked for", default: 1000 })),
  /** Batches a queue between two tasks holds before the upstream task waits (default 4). */
  queue_capacity: Schema.optionalKey(
    PositiveInt.annotate({ description: "Batches a queue between two tasks holds before the upstream task waits", default: 4 })
  ),
  /**
   * Parallelism of nodes that do not set their own (default `auto`): a number applies to every
   * node (up to what its connector runs); `auto` runs a source that can split its input (a large
   * file read in byte ranges) on the machine's cores and every other node once (see
   * docs/runtime.md, "Parallelism").
   */
  parallelism: Schema.optionalKey(Schema.Union([PositiveInt, Schema.Literal("auto")]).annotate({
    description: "Parallelism of nodes that do not set their own: a number, or auto (a splittable source on the machine's cores, every other node once)",
    default: "auto"
  })),
  /**
   * Key groups keyed records and state are spread over (default 128): the most instances a keyed
   * node can run. Stored with the state; a restore with another value is refused.
   */
  key_groups: Schema.optionalKey(PositiveInt.annotate({
    description: "Key groups keyed records and state are spread over: the most instances a keyed node can run (stored with the state)",
    default: 128
  })),
  /** How often the coordinator starts a checkpoint (greater than 0). */
  checkpoint_interval: Schema.optionalKey(PositiveDuration).annotateKey({
    description: "How often a checkpoint starts; set, dataflare run keeps them in .dataflare/<workflow-name> and a rerun resumes"
  }),
  restart_strategy: Schema.optionalKey(RestartStrategy).annotateKey({
    description: "What a failure does: none (default: the run fails), fixed-delay, exponential-backoff or failure-rate, from the last checkpoint"
  }),
  batching: Schema.optionalKey(BatchingSettings).annotateKey({ description: "Adaptive batch sizes (see docs/runtime.md)" }),
  /** Where `dataflare run` keeps the checkpoints (see {@link StateSettings}). */
  state: Schema.optionalKey(StateSettings).annotateKey({
    description: "Where dataflare run keeps checkpoints: { backend: files, directory? } or { backend: postgres, connection_string, ... }"
  })
})

/**
 * @category models
 * @since 0.1.0
 */
export type ExecutionSettings = typeof ExecutionSettings.Type

/**
 * What an absent execution key means.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaults = {
  batch_size: 1000,
  queue_capacity: 4,
  parallelism: "auto",
  key_groups: 128
} as const

/**
 * The role of a node.
 *
 * @category models
 * @since 0.1.0
 */
export type NodeKind = "source" | "processor" | "sink"

/**
 * One node of the graph.
 *
 * @category models
 * @since 0.1.0
 */
export interface Node {
  readonly kind: NodeKind
  readonly id: string
  /** Registry type: `csv`, `ndjson`, `filter`, `map`, ... */
  readonly type: string
  /** The config as written; decoded by the type's Schema when the workflow is prepared. */
  readonly config: unknown
  /** Ids of the nodes this node reads from (empty for sources). */
  readonly inputs: ReadonlyArray<string>
  /** Task instances of this node; absent means `execution.parallelism`. */
  readonly parallelism?: number
  /**
   * Partition the node's input by these fields (a field name, a dotted path, or a list of them):
   * all records with one key reach the same instance, in order. Stateful processors bring their
   * own key (e.g. an aggregate's `group_by`).
   */
  readonly key_by?: string | ReadonlyArray<string>
  /** With `parallelism > 1`: emit batches in input order (default: as soon as ready). */
  readonly ordered?: boolean
  /**
   * Processors: what a record the node fails on does — `fail` (default) fails the run naming it,
   * `dead_letter` sets it aside in {@link Node.dead_letter} and goes on. (Sources and sinks read
   * their own `on_error` in their config.)
   */
  readonly on_error?: "fail" | "dead_letter"
  /**
   * Processors with `on_error: dead_letter`: where the records go — an NDJSON file (`{ path,
   * max_bytes }`, at most `max_bytes`, default 1 GiB) or a destination of the workflow (`{ to }`,
   * a sink node id): the records then travel to it as envelopes in the data flow, ahead of the
   * checkpoint barrier, so the destination's guarantee (exactly-once for postgres) covers them.
   */
  readonly dead_letter?: DeadLetterTarget
}

/**
 * Where a node's dead letters go: an NDJSON file, or a sink node of the workflow (by id).
 *
 * @category models
 * @since 0.5.0
 */
export type DeadLetterTarget = { readonly path: string; readonly max_bytes?: number } | { readonly to: string }

/**
 * The sink id of a dead-letter target that names a destination (`{ to }`), else `undefined`.
 *
 * @category getters
 * @since 0.5.0
 */
export const deadLetterDestination = (target: unknown): string | undefined =>
  target !== null && typeof target === "object" && "to" in target && typeof target.to === "string" ? target.to : undefined

/**
 * Finds the location of a key path in the file a graph was loaded from. Paths are the graph's
 * own: `["config", "path"]` of node `orders` is written by the YAML loader as
 * `sources.<id>.config.path` and so on.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceMap {
  readonly file: string
  /** The location of the node's key `path` (relative to the node), or of the node itself. */
  readonly locate: (node: string | undefined, path: ReadonlyArray<PropertyKey>) => Location | undefined
  /** How a node-relative path is written in the file, e.g. `sources.orders.config.path`. */
  readonly describe: (node: string | undefined, path: ReadonlyArray<PropertyKey>) => string
  /**
   * The location of the value at `path` (not its key), and with `column`, of the `column`-th
   * (1-based) character inside a one-line string value: where an expression error is.
   */
  readonly locateValue?: (node: string | undefined, path: ReadonlyArray<PropertyKey>, column?: number) => Location | undefined
}

/**
 * A workflow: name, execution settings and nodes.
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkflowGraph {
  readonly name: string
  readonly version?: string
  readonly execution: ExecutionSettings
  readonly nodes: ReadonlyArray<Node>
  /** Present when the graph was loaded from a file. Not part of the graph's identity. */
  readonly sourceMap?: SourceMap
}

/**
 * Builds a graph value.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly name: string
  readonly version?: string | undefined
  readonly execution?: ExecutionSettings | undefined
  readonly nodes: ReadonlyArray<Node>
  readonly sourceMap?: SourceMap | undefined
}): WorkflowGraph => ({
  name: options.name,
  ...(options.version !== undefined ? { version: options.version } : {}),
  execution: options.execution ?? {},
  nodes: options.nodes,
  ...(options.sourceMap !== undefined ? { sourceMap: options.sourceMap } : {})
})

/**
 * The node with the given id, if any.
 *
 * @category getters
 * @since 0.1.0
 */
export const node = (graph: WorkflowGraph, id: string): Node | undefined => graph.nodes.find((n) => n.id === id)

/**
 * The graph without its source map: what two graphs are compared on (a DSL graph equals the YAML
 * graph of the same workflow).
 *
 * @category getters
 * @since 0.1.0
 */
export const structure = (graph: WorkflowGraph): Omit<WorkflowGraph, "sourceMap"> => {
  const { sourceMap: _, ...rest } = graph
  return rest
}

/**
 * Describes a node-relative key path the way the graph was written (YAML section names when it
 * came from a file, `nodes.<id>` otherwise).
 *
 * @category utils
 * @since 0.1.0
 */
export const describePath = (graph: WorkflowGraph, node: string | undefined, path: ReadonlyArray<PropertyKey>): string => {
  if (graph.sourceMap !== undefined) return graph.sourceMap.describe(node, path)
  const head = node === undefined ? [] : ["nodes", node]
  return [...head, ...path.map(String)].join(".")
}

/**
 * The place of a node-relative key path in the workflow, for an error found at run time: the path
 * as written and, for a workflow loaded from a file, its location — of the `column`-th character
 * of the value when given (an expression's column), else of the key.
 *
 * @category utils
 * @since 0.1.0
 */
export const siteOf = (
  graph: WorkflowGraph,
  node: string | undefined,
  path: ReadonlyArray<PropertyKey>,
  column?: number
): DefinitionSite => {
  const map = graph.sourceMap
  const location = map === undefined
    ? undefined
    : (column !== undefined ? map.locateValue?.(node, path, column) : undefined) ?? map.locate(node, path)
  return { path: describePath(graph, node, path), ...(location !== undefined ? { location } : {}) }
}
