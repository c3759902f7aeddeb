/**
 * Node overrides: run the same workflow value with some connectors swapped, through a Layer.
 *
 * A workflow that reads a CSV file and writes to PostgreSQL in production can be tested by
 * providing a Layer that replaces the source node with an in-memory source and the sink node
 * with a collecting sink. The workflow value under test is the one that runs in production; only
 * its connectors differ. Overridden nodes keep their id, so errors and metrics read the same.
 *
 * An override must name a node of the workflow: `layer(graph, { ... })` checks the ids against a
 * DSL graph's type at compile time, and every run checks them before anything opens (an
 * override for an unknown id fails the run with a `DefinitionError`: a typo must never let the
 * production connector run in a test).
 *
 * @example
 * ```ts
 * const collected = yield* Testing.collector()
 * yield* Runtime.run(workflow).pipe(
 *   Effect.provide(Overrides.layer(workflow, {
 *     orders: Testing.memorySource([{ id: 1, status: "active" }]),
 *     out: collected.sink
 *   }))
 * )
 * ```
 * @since 0.1.0
 */
import { Context, Layer } from "effect"
import type { PreparedSink, PreparedSource } from "./Registry.ts"
import type { TypedGraph } from "./Spec.ts"
import type { WorkflowGraph } from "./WorkflowGraph.ts"

/**
 * The overrides in effect: node id → prepared connector to use instead of the node's own.
 *
 * @category services
 * @since 0.1.0
 */
export const NodeOverrides = Context.Reference<ReadonlyMap<string, PreparedSource | PreparedSink>>(
  "dataflare/NodeOverrides",
  { defaultValue: () => new Map() }
)

/**
 * Overrides keyed by the node ids `Ids` of a workflow: an object literal naming another id is a
 * compile error (`Object literal may only specify known properties, and 'ordrs' does not exist`).
 *
 * @category models
 * @since 0.1.0
 */
export type For<Ids extends string> = { readonly [K in Ids]?: PreparedSource | PreparedSink }

/**
 * A Layer that overrides the given nodes. With the workflow as first argument (a graph of the
 * typed DSL), the keys are checked against its node ids at compile time; without it (a YAML
 * graph), only at run time. Either way a run refuses an override of an id the workflow does
 * not have, before any connector opens.
 *
 * @example
 * ```ts
 * Overrides.layer(pipeline, { orders: Testing.memorySource(rows), out: collector.sink })
 * ```
 * @category layers
 * @since 0.1.0
 */
export const layer: {
  <Ids extends string>(graph: TypedGraph<Ids, unknown, unknown>, overrides: For<Ids>): Layer.Layer<never>
  (overrides: { readonly [node: string]: PreparedSource | PreparedSink | undefined }): Layer.Layer<never>
} = (
  ...args:
    | readonly [WorkflowGraph, { readonly [node: string]: PreparedSource | PreparedSink | undefined }]
    | readonly [{ readonly [node: string]: PreparedSource | PreparedSink | undefined }]
): Layer.Layer<never> => {
  const overrides = args.length === 2 ? args[1] : args[0]
  const entries: Array<readonly [string, PreparedSource | PreparedSink]> = []
  for (const [id, value] of Object.entries(overrides)) if (value !== undefined) entries.push([id, value])
  return Layer.succeed(NodeOverrides, new Map(entries))
}

/**
 * The override ids that name no node of `graph` (checked by `Runtime.prepare`, so a run refuses
 * them before any connector opens).
 *
 * @category validation
 * @since 0.1.0
 */
export const unknownIds = (graph: WorkflowGraph, overrides: ReadonlyMap<string, unknown>): ReadonlyArray<string> => {
  const ids = new Set(graph.nodes.map((n) => n.id))
  return [...overrides.keys()].filter((id) => !ids.has(id))
}
