/**
 * Running a DSL workflow: `Runtime.run` with the user processors' error type and requirements
 * restored in the type (the runtime itself only knows the untyped graph).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { Registry } from "../../src/Registry.ts"
import * as Runtime from "../../src/Runtime.ts"
import type { RunError, TypedGraph } from "./types.ts"

/** `Runtime.run` of a typed graph. */
export const runTyped = <E, R>(
  graph: TypedGraph<string, E, R>,
  options?: Runtime.RunOptions
): Effect.Effect<Runtime.RunSummary, RunError<E>, Registry | R> =>
  Runtime.run(graph, options) as Effect.Effect<Runtime.RunSummary, RunError<E>, Registry | R>
