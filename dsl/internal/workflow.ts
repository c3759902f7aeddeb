/**
 * The run-time implementation of the DAG builder: nodes with explicit inputs. The typed view is
 * `Workflow.Builder` in `dsl/Workflow.ts`; this class only moves data.
 *
 * @since 0.1.0
 */
import type { ProcessorSpec, SinkSpec, SourceSpec } from "../../src/Spec.ts"
import type { ExecutionSettings, WorkflowGraph } from "../../src/WorkflowGraph.ts"
import { BuilderBase } from "./builderBase.ts"
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
  viaSpec
} from "./nodes.ts"

type Inputs = ReadonlyArray<string>

/** The untyped DAG builder. */
export class WorkflowBuilder extends BuilderBase<WorkflowBuilder, string | undefined> {
  constructor(state: State, last?: string) {
    super(state, last)
  }

  protected with(state: State, last: string | undefined): WorkflowBuilder {
    return new WorkflowBuilder(state, last)
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
