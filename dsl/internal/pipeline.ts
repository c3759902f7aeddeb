/**
 * The run-time implementation of the linear builder. Every method returns a new builder (builders
 * are immutable, so a partial pipeline can be shared and extended twice). The public, typed view
 * is `Pipeline.Builder` in `dsl/Pipeline.ts`; this class only moves data.
 *
 * @since 0.1.0
 */
import type { Effect, Schedule } from "effect"
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

/** The untyped builder. */
export class PipelineBuilder {
  readonly state: State
  /** The id of the node the next step reads from. */
  readonly last: string

  constructor(state: State, last: string) {
    this.state = state
    this.last = last
  }

  pipe(...fns: ReadonlyArray<(a: unknown) => unknown>): unknown {
    let out: unknown = this
    for (const f of fns) out = f(out)
    return out
  }

  named(name: string): PipelineBuilder {
    return new PipelineBuilder({ ...this.state, name }, this.last)
  }

  version(version: string): PipelineBuilder {
    return new PipelineBuilder({ ...this.state, version }, this.last)
  }

  execution(settings: ExecutionSettings): PipelineBuilder {
    return new PipelineBuilder({ ...this.state, execution: { ...this.state.execution, ...settings } }, this.last)
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

  /** This builder with its last node replaced by `f(node)`. */
  private wrapLast(f: (node: Node) => Node): PipelineBuilder {
    const nodes = this.state.nodes.map((n) => (n.id === this.last ? f(n) : n))
    return new PipelineBuilder({ ...this.state, nodes }, this.last)
  }

  retry(schedule: Schedule.Schedule<unknown, never, unknown, unknown>): PipelineBuilder {
    return this.wrapLast((n) => retryNode(n, schedule as Schedule.Schedule<unknown, unknown, unknown, unknown>))
  }

  catchTag(tag: string, handler: (error: never) => ReadonlyArray<unknown> | Effect.Effect<ReadonlyArray<unknown>, unknown, unknown>): PipelineBuilder {
    return this.wrapLast((n) => catchTagNode(n, tag, handler))
  }

  /**
   * The last node's failed records to the dead-letter sink `id`: declared here (with `sink`), or
   * declared by an earlier call (without).
   */
  deadLetter(id: string, sink?: SinkSpec<never, unknown, unknown>, options?: RawOptions): PipelineBuilder {
    const declared = sink === undefined ? this : new PipelineBuilder(
      { ...this.state, nodes: [...this.state.nodes, makeNode("sink", id, sink, [], options)] },
      this.last
    )
    return declared.wrapLast((n) => withDeadLetter(n, id))
  }

  restartOnFailure(strategy: RestartStrategy): PipelineBuilder {
    return this.execution({ restart_strategy: strategy })
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
