/**
 * Run-time side of the DSL builders: the graph nodes each step produces, and the assembly of a
 * {@link WorkflowGraph} from the declared nodes. The processor configs here are the contract with
 * the built-in processors (`src/processors`): `filter { predicate } | { condition }`,
 * `map { fn } | { fields }`, `select { fields }`, `rename { fields }`, `flat_map { fn }`,
 * `process { fn }`, `via { fn }`.
 *
 * @since 0.1.0
 */
import type { Node, NodeKind } from "../../src/WorkflowGraph.ts"
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
  readonly dead_letter?: { readonly path: string; readonly max_bytes?: number | undefined } | undefined
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

export const processSpec = (fn: (records: never) => unknown): TypeAndConfig => ({ type: "process", config: { fn } })

export const viaSpec = (fn: (records: never) => unknown): TypeAndConfig => ({ type: "via", config: { fn } })

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
  ...(options?.dead_letter !== undefined
    ? { dead_letter: { path: options.dead_letter.path, ...(options.dead_letter.max_bytes !== undefined ? { max_bytes: options.dead_letter.max_bytes } : {}) } }
    : {})
})

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
