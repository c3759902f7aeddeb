/**
 * Run-time side of the DSL builders: the graph nodes each step produces, and the assembly of a
 * {@link WorkflowGraph} from the declared nodes. The processor configs here are the contract with
 * the built-in processors (`src/processors`): `filter { predicate } | { condition }`,
 * `map { fn } | { fields }`, `select { fields }`, `rename { fields }`, `flat_map { fn }`,
 * `process { fn, pure? }`, `via { fn }`.
 *
 * @since 0.1.0
 */
import { DefinitionError } from "../../src/Errors.ts"
import type { DeadLetterTarget, Node, NodeKind } from "../../src/WorkflowGraph.ts"
import * as WorkflowGraph from "../../src/WorkflowGraph.ts"

/** A node's registry type and config as written. */
export interface TypeAndConfig {
  readonly type: string
  readonly config: unknown
}

/** Per-node settings, untyped. */
export interface RawOptions {
  readonly parallelism?: number | undefined
  readonly key_by?: string | ReadonlyArray<string> | undefined
  readonly ordered?: boolean | undefined
  readonly on_error?: "fail" | "dead_letter" | undefined
  /** `process` and a `via` Stream function only: the function is pure (config `pure: true`). */
  readonly pure?: boolean | undefined
  readonly dead_letter?: { readonly path: string; readonly max_bytes?: number | undefined } | { readonly to: string } | undefined
}

/** What the builders accumulate: everything of the graph, nodes in declaration order. */
export interface State {
  readonly name: string
  readonly version: string | undefined
  readonly execution: WorkflowGraph.ExecutionSettings
  readonly nodes: ReadonlyArray<Node>
}

export const filterSpec = (predicate: ((record: never) => boolean) | string): TypeAndConfig =>
  typeof predicate === "string"
    ? { type: "filter", config: { condition: predicate } }
    : { type: "filter", config: { predicate } }

export const mapSpec = (fn: (record: never) => unknown): TypeAndConfig => ({ type: "map", config: { fn } })

export const mapFieldsSpec = (fields: { readonly [name: string]: string }): TypeAndConfig => ({
  type: "map",
  config: { fields: { ...fields } }
})

export const selectSpec = (fields: ReadonlyArray<string>): TypeAndConfig => ({
  type: "select",
  config: { fields: [...fields] }
})

export const renameSpec = (fields: { readonly [name: string]: string | undefined }): TypeAndConfig => {
  const copy: { [name: string]: string } = {}
  for (const [from, to] of Object.entries(fields)) if (to !== undefined) copy[from] = to
  return { type: "rename", config: { fields: copy } }
}

export const flatMapSpec = (fn: (record: never) => Iterable<unknown>): TypeAndConfig => ({
  type: "flat_map",
  config: { fn }
})

export const processSpec = (fn: (records: never) => unknown, pure: boolean): TypeAndConfig => ({
  type: "process",
  config: pure ? { fn, pure: true } : { fn }
})

export const viaSpec = (fn: (records: never) => unknown, pure: boolean): TypeAndConfig => ({
  type: "via",
  config: pure ? { fn, pure: true } : { fn }
})

/** A graph node; optional keys are present only when set (as the YAML loader writes them). */
export const makeNode = (
  kind: NodeKind,
  id: string,
  spec: TypeAndConfig,
  inputs: ReadonlyArray<string>,
  options: RawOptions | undefined
): Node => ({
  kind,
  id,
  type: spec.type,
  config: spec.config,
  inputs: [...inputs],
  ...(options?.parallelism !== undefined ? { parallelism: options.parallelism } : {}),
  ...(options?.key_by !== undefined
    ? { key_by: typeof options.key_by === "string" ? options.key_by : [...options.key_by] }
    : {}),
  ...(options?.ordered !== undefined ? { ordered: options.ordered } : {}),
  ...(options?.on_error !== undefined ? { on_error: options.on_error } : {}),
  ...(options?.dead_letter !== undefined ? { dead_letter: deadLetterTarget(options.dead_letter) } : {})
})

/** A node option's dead-letter target as the graph holds it (no `max_bytes: undefined` key). */
const deadLetterTarget = (option: NonNullable<RawOptions["dead_letter"]>): DeadLetterTarget =>
  "to" in option
    ? { to: option.to }
    : { path: option.path, ...(option.max_bytes !== undefined ? { max_bytes: option.max_bytes } : {}) }

/** The node with its failed records sent to the dead-letter sink `to`. */
export const deadLetterNode = (node: Node, to: string): Node => ({ ...node, on_error: "dead_letter", dead_letter: { to } })

/**
 * Whether a processor node can set records aside: a record-by-record step, a stateful operator
 * (`aggregate`, `dedupe`, ...; prepare checks the operator says so), a `process` or `via` Stream
 * function declared pure (its failed batches are bisected), a `worker_map` (in mode: record its
 * threads catch each record's failure; in mode: batch it must be declared pure). A `via` or
 * `process` not declared pure fails whole batches: a dead letter names a record, so they cannot
 * have one (prepare refuses it; the builders refuse it at once, naming the step).
 */
const setsRecordsAside = (node: Node): boolean =>
  node.type === "via" || node.type === "process"
    ? isPure(node.config)
    : node.type === "worker_map"
    ? !isBatchMode(node.config) || isPure(node.config)
    : true

const isBatchMode = (config: unknown): boolean => typeof config === "object" && config !== null && "mode" in config && config.mode === "batch"

const isPure = (config: unknown): boolean => typeof config === "object" && config !== null && "pure" in config && config.pure === true

/** `node` sending its failed records to `to`, or a `DefinitionError` for a step failing whole batches. */
export const withDeadLetter = (node: Node, to: string): Node => {
  if (node.kind !== "processor" || !setsRecordsAside(node)) {
    throw new DefinitionError({
      issues: [{
        path: `${node.kind === "source" ? "sources" : node.kind === "sink" ? "destinations" : "transformations"}.${node.id}`,
        message: `deadLetter '${to}' follows node '${node.id}' (${node.type}): only a record-by-record step (filter, map, mapFields, select, rename, flatMap), aggregate, dedupe or a process declared pure sets records aside; a ${
          node.kind === "processor"
            ? "process or via Stream function not declared pure (or a worker_map in mode: batch not declared pure) fails a whole batch (declare it { pure: true }, or handle it with retry or catchTag)"
            : `${node.kind} reads its own on_error in its config`
        }`
      }]
    })
  }
  return deadLetterNode(node, to)
}

const ORDER: { readonly [K in NodeKind]: number } = { source: 0, processor: 1, sink: 2 }

/**
 * The graph of a builder state. Nodes are listed sources first, then processors, then sinks, each
 * in declaration order: the order the YAML loader lists `sources`, `transformations` and
 * `destinations`, so a DSL graph and the YAML graph of the same workflow are equal.
 */
export const toGraph = (state: State): WorkflowGraph.WorkflowGraph =>
  WorkflowGraph.make({
    name: state.name,
    version: state.version,
    execution: state.execution,
    nodes: [...state.nodes].sort((a, b) => ORDER[a.kind] - ORDER[b.kind])
  })
