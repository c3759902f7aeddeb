/**
 * The built-in stateless processors: `filter`, `map`, `select`, `rename`, `flat_map`,
 * `process` and `via`, their config Schemas, and the typed spec constructors the DSL uses.
 *
 * Register them with `Registry.layer([...processorDefinitions, ...])`.
 *
 * @since 0.1.0
 */
import type { ProcessorDefinition } from "../Processor.ts"
import { FilterDefinition } from "./filter.ts"
import { FlatMapDefinition } from "./flatMap.ts"
import { MapDefinition } from "./map.ts"
import { ProcessDefinition } from "./process.ts"
import { RenameDefinition } from "./rename.ts"
import { SelectDefinition } from "./select.ts"
import { ViaDefinition } from "./via.ts"

export { FilterConfig, FilterDefinition, filterSpec } from "./filter.ts"
export { FlatMapConfig, FlatMapDefinition, flatMapSpec } from "./flatMap.ts"
export { MapConfig, MapDefinition, mapFieldsSpec, mapSpec } from "./map.ts"
export { type BatchFunction, ProcessConfig, ProcessDefinition, processSpec } from "./process.ts"
export { RenameConfig, RenameDefinition, type Renamed, renameSpec } from "./rename.ts"
export { SelectConfig, SelectDefinition, selectSpec } from "./select.ts"
export { type StreamFunction, ViaConfig, ViaDefinition } from "./via.ts"

/**
 * Every built-in stateless processor definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const processorDefinitions: ReadonlyArray<ProcessorDefinition<unknown>> = [
  FilterDefinition,
  MapDefinition,
  SelectDefinition,
  RenameDefinition,
  FlatMapDefinition,
  ProcessDefinition,
  ViaDefinition
]
