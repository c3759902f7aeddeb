/**
 * The built-in stateless processors, in one list that the eager registry (`index.ts`) and the
 * lazy one (`lazy.ts`) share. Loads none of the stateful processors.
 *
 * @since 0.5.0
 */
import type { ProcessorDefinition } from "../Processor.ts"
import { FilterDefinition } from "./filter.ts"
import { FlatMapDefinition } from "./flatMap.ts"
import { MapDefinition } from "./map.ts"
import { ProcessDefinition } from "./process.ts"
import { RenameDefinition } from "./rename.ts"
import { SelectDefinition } from "./select.ts"
import { ViaDefinition } from "./via.ts"

/**
 * Every built-in stateless processor definition.
 *
 * @category definitions
 * @since 0.5.0
 */
export const statelessDefinitions: ReadonlyArray<ProcessorDefinition<unknown>> = [
  FilterDefinition,
  MapDefinition,
  SelectDefinition,
  RenameDefinition,
  FlatMapDefinition,
  ProcessDefinition,
  ViaDefinition
]
