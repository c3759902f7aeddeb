/**
 * The connector registry the CLI runs workflows with: every built-in connector and processor, those
 * with a client library or heavy machinery registered lazily (see src/connectors/lazy.ts and
 * src/processors/lazy.ts).
 * A registry that cannot be built (an API version mismatch) is an internal error (exit code 4).
 */
import { Effect, Layer } from "effect"
import { layer, type Registry, RegistryError } from "../../../src/Registry.ts"
import { engine } from "./engine.ts"
import { type CliExit, ExitCode, reportError } from "./exit.ts"

// every built-in type; the database and broker connectors' modules (and drivers), the stateful
// processors' and worker_map's load when a workflow uses them
const builtins = Layer.unwrap(Effect.map(engine, (modules) => layer([...modules.lazyConnectorDefinitions, ...modules.lazyProcessorDefinitions])))

/** Provides the built-in registry to a command's effect. */
export const provideRegistry = <A, E>(effect: Effect.Effect<A, E, Registry>): Effect.Effect<A, E | CliExit> =>
  effect.pipe(
    Effect.provide(builtins),
    Effect.catchIf(
      (error): error is RegistryError => error instanceof RegistryError,
      (error) => reportError(`cannot build the connector registry: ${error.message}`, ExitCode.internal)
    )
  )
