/**
 * The run-time implementation of the DAG builder: nodes with explicit inputs. The typed view is
 * `Workflow.Builder` in `dsl/Workflow.ts`; this class only moves data.
 *
 * @since 0.1.0
 */
import type { Effect, Schedule } from "effect"
import { DefinitionError } from "../../src/Errors.ts"
import type { ProcessorSpec, SinkSpec, SourceSpec } from "../../src/Spec.ts"
import type { ExecutionSettings, Node, RestartStrategy, WorkflowGraph } from "../../src/WorkflowGraph.ts"
import { catchTagNode, retryNode } from "./handlers.ts"
import {
  filterSpec,
  flatMapSpec,
  makeNode,
  mapFieldsSpec,
  mapSpec,
  processSpec,
  type RawOptions,
  renameSpec,
  selectSpec,
  type State,
  toGraph,
  type TypeAndConfig,
  viaSpec,
  withDeadLetter
} from "./nodes.ts"

type Inputs = ReadonlyArray<string>

/** The untyped DAG builder. */
export class WorkflowBuilder {
  readonly state: State
  /** The id of the node declared last, which `retry`, `catchTag` and `deadLetter` act on. */
  readonly last: string | undefined

  constructor(state: State, last?: string) {
    this.state = state
    this.last = last
  }

  pipe(...fns: ReadonlyArray<(a: unknown) => unknown>): unknown {
    let out: unknown = this
    for (const f of fns) out = f(out)
    return out
  }

  named(name: string): WorkflowBuilder {
    return new WorkflowBuilder({ ...this.state, name }, this.last)
  }

  version(version: string): WorkflowBuilder {
    return new WorkflowBuilder({ ...this.state, version }, this.last)
  }

  execution(settings: ExecutionSettings): WorkflowBuilder {
    return new WorkflowBuilder({ ...this.state, execution: { ...this.state.execution, ...settings } }, this.last)
  }

  add(kind: "source" | "processor" | "sink", id: string, spec: TypeAndConfig, inputs: Inputs, options: RawOptions | undefined) {
    return new WorkflowBuilder({ ...this.state, nodes: [...this.state.nodes, makeNode(kind, id, spec, inputs, options)] }, id)
  }

  source(id: string, spec: SourceSpec<unknown, unknown, unknown>, options?: RawOptions): WorkflowBuilder {
    return this.add("source", id, spec, [], options)
  }

  filter(id: string, inputs: Inputs, predicate: ((record: never) => boolean) | string, options?: RawOptions) {
    return this.add("processor", id, filterSpec(predicate), inputs, options)
  }

  map(id: string, inputs: Inputs, fn: (record: never) => unknown, options?: RawOptions): WorkflowBuilder {
    return this.add("processor", id, mapSpec(fn), inputs, options)
  }

  mapFields(id: string, inputs: Inputs, fields: { readonly [name: string]: string }, options?: RawOptions) {
    return this.add("processor", id, mapFieldsSpec(fields), inputs, options)
  }

  select(id: string, inputs: Inputs, fields: ReadonlyArray<string>, options?: RawOptions): WorkflowBuilder {
    return this.add("processor", id, selectSpec(fields), inputs, options)
  }

  rename(id: string, inputs: Inputs, fields: { readonly [name: string]: string }, options?: RawOptions) {
    return this.add("processor", id, renameSpec(fields), inputs, options)
  }

  flatMap(id: string, inputs: Inputs, fn: (record: never) => Iterable<unknown>, options?: RawOptions) {
    return this.add("processor", id, flatMapSpec(fn), inputs, options)
  }

  process(id: string, inputs: Inputs, fn: (records: never) => unknown, options?: RawOptions): WorkflowBuilder {
    return this.add("processor", id, processSpec(fn, options?.pure === true), inputs, options)
  }

  via(
    id: string,
    inputs: Inputs,
    spec: ProcessorSpec<never, unknown, unknown, unknown> | ((records: never) => unknown),
    options?: RawOptions
  ): WorkflowBuilder {
    return this.add("processor", id, typeof spec === "function" ? viaSpec(spec, options?.pure === true) : spec, inputs, options)
  }

  sink(id: string, inputs: Inputs, spec: SinkSpec<never, unknown, unknown>, options?: RawOptions): WorkflowBuilder {
    return this.add("sink", id, spec, inputs, options)
  }

  /** This builder with its last node replaced by `f(node)`. */
  private wrapLast(what: string, f: (node: Node) => Node): WorkflowBuilder {
    const last = this.last
    if (last === undefined) {
      throw new DefinitionError({ issues: [{ path: "transformations", message: `${what} before any node: it acts on the node declared last` }] })
    }
    return new WorkflowBuilder({ ...this.state, nodes: this.state.nodes.map((n) => (n.id === last ? f(n) : n)) }, last)
  }

  retry(schedule: Schedule.Schedule<unknown, never, unknown, unknown>): WorkflowBuilder {
    return this.wrapLast("retry", (n) => retryNode(n, schedule as Schedule.Schedule<unknown, unknown, unknown, unknown>))
  }

  catchTag(tag: string, handler: (error: never) => ReadonlyArray<unknown> | Effect.Effect<ReadonlyArray<unknown>, unknown, unknown>): WorkflowBuilder {
    return this.wrapLast("catchTag", (n) => catchTagNode(n, tag, handler))
  }

  /** The last node's failed records to the dead-letter sink `id`, declared here (with `sink`) or before. */
  deadLetter(id: string, sink?: SinkSpec<never, unknown, unknown>, options?: RawOptions): WorkflowBuilder {
    const declared = sink === undefined ? this : new WorkflowBuilder(
      { ...this.state, nodes: [...this.state.nodes, makeNode("sink", id, sink, [], options)] },
      this.last
    )
    return declared.wrapLast("deadLetter", (n) => withDeadLetter(n, id))
  }

  restartOnFailure(strategy: RestartStrategy): WorkflowBuilder {
    return this.execution({ restart_strategy: strategy })
  }

  /** A side output is only a type-level declaration. */
  port(): WorkflowBuilder {
    return this
  }

  build(): WorkflowGraph {
    return toGraph(this.state)
  }
}

/** An empty workflow. */
export const empty = (name: string, version: string | undefined, execution: ExecutionSettings): WorkflowBuilder =>
  new WorkflowBuilder({ name, version, execution, nodes: [] })
