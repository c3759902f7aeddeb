/**
 * The run-time implementation of the linear builder. Every method returns a new builder (builders
 * are immutable, so a partial pipeline can be shared and extended twice). The public, typed view
 * is `Pipeline.Builder` in `dsl/Pipeline.ts`; this class only moves data.
 *
 * @since 0.1.0
 */
import type { ProcessorSpec, SinkSpec, SourceSpec } from "../../src/Spec.ts"
import type { WorkflowGraph } from "../../src/WorkflowGraph.ts"
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

/** The untyped builder. */
export class PipelineBuilder extends BuilderBase<PipelineBuilder, string> {
  protected with(state: State, last: string): PipelineBuilder {
    return new PipelineBuilder(state, last)
  }

  step(id: string, spec: TypeAndConfig, options: RawOptions | undefined): PipelineBuilder {
    const node = makeNode("processor", id, spec, [this.last], options)
    return new PipelineBuilder({ ...this.state, nodes: [...this.state.nodes, node] }, id)
  }

  filter(id: string, predicate: ((record: never) => boolean) | string, options?: RawOptions): PipelineBuilder {
    return this.step(id, filterSpec(predicate), options)
  }

  map(id: string, fn: (record: never) => unknown, options?: RawOptions): PipelineBuilder {
    return this.step(id, mapSpec(fn), options)
  }

  mapFields(id: string, fields: { readonly [name: string]: string }, options?: RawOptions): PipelineBuilder {
    return this.step(id, mapFieldsSpec(fields), options)
  }

  select(id: string, fields: ReadonlyArray<string>, options?: RawOptions): PipelineBuilder {
    return this.step(id, selectSpec(fields), options)
  }

  rename(id: string, fields: { readonly [name: string]: string }, options?: RawOptions): PipelineBuilder {
    return this.step(id, renameSpec(fields), options)
  }

  flatMap(id: string, fn: (record: never) => Iterable<unknown>, options?: RawOptions): PipelineBuilder {
    return this.step(id, flatMapSpec(fn), options)
  }

  process(id: string, fn: (records: never) => unknown, options?: RawOptions): PipelineBuilder {
    return this.step(id, processSpec(fn, options?.pure === true), options)
  }

  via(id: string, spec: ProcessorSpec<never, unknown, unknown, unknown> | ((records: never) => unknown), options?: RawOptions): PipelineBuilder {
    return this.step(id, typeof spec === "function" ? viaSpec(spec, options?.pure === true) : spec, options)
  }

  to(id: string, sink: SinkSpec<never, unknown, unknown>, options?: RawOptions): WorkflowGraph {
    const node = makeNode("sink", id, sink, [this.last], options)
    return toGraph({ ...this.state, nodes: [...this.state.nodes, node] })
  }
}

/** A builder reading from one source. */
export const start = (id: string, source: SourceSpec<unknown, unknown, unknown>, options: RawOptions | undefined): PipelineBuilder =>
  new PipelineBuilder(
    {
      name: id,
      version: undefined,
      execution: {},
      nodes: [makeNode("source", id, source, [], options)]
    },
    id
  )
