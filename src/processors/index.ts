/**
 * Every built-in processor, in one place: the stateless ones (`filter`, `map`, `select`,
 * `rename`, `flat_map`, `process`, `via`), the stateful ones (`aggregate`, `dedupe`, keyed and windowed,
 * whose state is checkpointed) and `worker_map` (a function on worker threads) — their
 * definitions, config Schemas and the typed spec constructors the DSL takes with `.via(id, spec)`.
 *
 * `Builtins.layer` registers them all with the built-in connectors; to register only some, pass
 * definitions to `Registry.layer([...Processors.definitions, ...])`.
 *
 * @example
 * ```ts
 * import { Processors } from "dataflare"
 * import { Memory, Pipeline } from "dataflare/dsl"
 *
 * type Order = { readonly customer: string; readonly amount: number }
 * const totals = Pipeline.from("orders", Memory.source<Order>({ records: [] }))
 *   .via("totals", Processors.aggregateOf<Order>()({ group_by: ["customer"], aggregates: { sum: { op: "sum", field: "amount" } } }))
 *   .to("out", Memory.sink())
 * ```
 * @since 0.1.0
 */
import type { ProcessorDefinition } from "../Processor.ts"
import { definition as WorkerMapDefinition } from "../workers/WorkerMap.ts"
import { statefulDefinitions } from "./stateful.ts"
import { statelessDefinitions } from "./stateless.ts"

export { FilterConfig, FilterDefinition, filterSpec } from "./filter.ts"
export { FlatMapConfig, FlatMapDefinition, flatMapSpec } from "./flatMap.ts"
export { MapConfig, MapDefinition, mapFieldsSpec, mapSpec } from "./map.ts"
export { type BatchFunction, ProcessConfig, ProcessDefinition, processSpec } from "./process.ts"
export { RenameConfig, RenameDefinition, type Renamed, renameSpec } from "./rename.ts"
export { SelectConfig, SelectDefinition, selectSpec } from "./select.ts"
export { type StreamFunction, ViaConfig, ViaDefinition, viaSpec } from "./via.ts"
export { AggregateConfig, Aggregate as AggregateDefinition } from "./aggregate.ts"
export { DedupeConfig, Dedupe as DedupeDefinition } from "./dedupe.ts"
export {
  type AggregateField,
  type AggregateRow,
  type AggregateRowOf,
  type AggregateSpecConfig,
  type AggregateSpecConfigOf,
  type AnyReducer,
  type DedupeSpecConfig,
  type ReducerOf,
  aggregate,
  aggregateOf,
  dedupe,
  reducer,
  statefulDefinitions
} from "./stateful.ts"
export { WorkerMapConfig, definition as WorkerMapDefinition, spec as workerMapSpec } from "../workers/WorkerMap.ts"

/**
 * Every built-in stateless processor definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const processorDefinitions: ReadonlyArray<ProcessorDefinition<unknown>> = statelessDefinitions

/**
 * Every built-in processor definition: the stateless ones, the stateful ones and `worker_map`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<ProcessorDefinition<unknown>> = [
  ...processorDefinitions,
  ...statefulDefinitions,
  WorkerMapDefinition as ProcessorDefinition<unknown>
]
