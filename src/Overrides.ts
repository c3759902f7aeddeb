/**
 * Node overrides: run the same workflow value with some connectors swapped, through a Layer.
 *
 * A workflow that reads a CSV file and writes to PostgreSQL in production can be tested by
 * providing a Layer that replaces the source node with an in-memory source and the sink node
 * with a collecting sink. The workflow value under test is the one that runs in production; only
 * its connectors differ. Overridden nodes keep their id, so errors and metrics read the same.
 *
 * @example
 * ```ts
 * const collected = yield* Testing.collector()
 * yield* Runtime.run(workflow).pipe(
 *   Effect.provide(Overrides.layer({
 *     orders: Testing.memorySource([{ id: 1, status: "active" }]),
 *     out: collected.sink
 *   }))
 * )
 * ```
 * @since 0.1.0
 */
import { Context, Layer } from "effect"
import type { PreparedSink, PreparedSource } from "./Registry.ts"

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
 * A Layer that overrides the given nodes.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  overrides: { readonly [node: string]: PreparedSource | PreparedSink }
): Layer.Layer<never> => Layer.succeed(NodeOverrides, new Map(Object.entries(overrides)))
