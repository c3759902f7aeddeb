/**
 * What the run-time linear builder (`pipeline.ts`) and DAG builder (`workflow.ts`) share: the
 * accumulated {@link State}, the node declared last, and the steps that only change the graph's
 * settings or act on the node declared last. Each builder says how to make a builder of its own
 * kind ({@link BuilderBase.with}); every step returns a new builder.
 *
 * @since 0.1.0
 */
import type { Effect, Schedule } from "effect"
import { DefinitionError } from "../../src/Errors.ts"
import type { SinkSpec } from "../../src/Spec.ts"
import type { ExecutionSettings, Node, RestartStrategy } from "../../src/WorkflowGraph.ts"
import { catchTagNode, retryNode } from "./handlers.ts"
import { makeNode, type RawOptions, type State, withDeadLetter } from "./nodes.ts"

/** The untyped builder steps both DSL builders have; `Self` is the builder's own class. */
export abstract class BuilderBase<Self extends BuilderBase<Self, Last>, Last extends string | undefined> {
  readonly state: State
  /** The id of the node declared last, which `retry`, `catchTag` and `deadLetter` act on. */
  readonly last: Last

  constructor(state: State, last: Last) {
    this.state = state
    this.last = last
  }

  /** A builder of the same kind holding `state`, with `last` as its node declared last. */
  protected abstract with(state: State, last: Last): Self

  pipe(...fns: ReadonlyArray<(a: unknown) => unknown>): unknown {
    let out: unknown = this
    for (const f of fns) out = f(out)
    return out
  }

  named(name: string): Self {
    return this.with({ ...this.state, name }, this.last)
  }

  version(version: string): Self {
    return this.with({ ...this.state, version }, this.last)
  }

  execution(settings: ExecutionSettings): Self {
    return this.with({ ...this.state, execution: { ...this.state.execution, ...settings } }, this.last)
  }

  /** This builder with its node declared last replaced by `f(node)`; `what` (the step) names it in the error when there is none. */
  protected onLast(what: string, f: (node: Node) => Node): Self {
    const last = this.last
    if (last === undefined) {
      throw new DefinitionError({ issues: [{ path: "transformations", message: `${what} before any node: it acts on the node declared last` }] })
    }
    return this.with({ ...this.state, nodes: this.state.nodes.map((n) => (n.id === last ? f(n) : n)) }, last)
  }

  retry(schedule: Schedule.Schedule<unknown, never, unknown, unknown>): Self {
    return this.onLast("retry", (n) => retryNode(n, schedule as Schedule.Schedule<unknown, unknown, unknown, unknown>))
  }

  catchTag(tag: string, handler: (error: never) => ReadonlyArray<unknown> | Effect.Effect<ReadonlyArray<unknown>, unknown, unknown>): Self {
    return this.onLast("catchTag", (n) => catchTagNode(n, tag, handler))
  }

  /**
   * The last node's failed records to the dead-letter sink `id`: declared here (with `sink`), or
   * declared by an earlier call (without).
   */
  deadLetter(id: string, sink?: SinkSpec<never, unknown, unknown>, options?: RawOptions): Self {
    const declared: BuilderBase<Self, Last> = sink === undefined
      ? this
      : this.with({ ...this.state, nodes: [...this.state.nodes, makeNode("sink", id, sink, [], options)] }, this.last)
    return declared.onLast("deadLetter", (n) => withDeadLetter(n, id))
  }

  restartOnFailure(strategy: RestartStrategy): Self {
    return this.execution({ restart_strategy: strategy })
  }
}
