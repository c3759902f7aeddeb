/**
 * The built-in connectors and processors, and a registry Layer holding them.
 *
 * `Builtins.layer` is what `dataflare run` uses. To add your own connectors or processors, build a
 * registry from `Builtins.definitions` plus yours: `Registry.layer([...Builtins.definitions, Mine])`.
 *
 * @since 0.1.0
 */
import type { Layer } from "effect"
import { connectorDefinitions } from "./connectors/index.ts"
import { definitions as processorDefinitions } from "./processors/index.ts"
import * as Registry from "./Registry.ts"

/**
 * Every built-in definition: connectors (csv, ndjson, memory, generator, collect, stdout,
 * postgres, postgres-cdc) and processors (filter, map, select, rename, flat_map, process,
 * aggregate, dedupe, worker_map).
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<Registry.Definition> = [
  ...connectorDefinitions,
  ...processorDefinitions
]

/**
 * A registry with every built-in definition.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Registry.Registry, Registry.RegistryError> = Registry.layer(definitions)
