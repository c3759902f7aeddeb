/**
 * The built-in processors for a registry that loads the heavy ones on first use: the stateless
 * ones are registered as they are; `aggregate`, `dedupe` (windows, keyed state, checkpointed
 * aggregates) and `worker_map` (the worker-thread pool) are {@link Registry.lazy} definitions whose
 * modules load only when a workflow names their type. Same types, same order and same descriptions
 * as `definitions` (a test compares them). What `dataflare` registers: a CSV → filter → NDJSON run
 * never evaluates the windowing or worker-pool code (≈ 3 % of such a run's start-up).
 *
 * @since 0.5.0
 */
import type { ProcessorDefinition } from "../Processor.ts"
import { type LazyDefinition, lazy } from "../Registry.ts"
import { statelessDefinitions } from "./stateless.ts"

/**
 * Every built-in processor, the stateful ones and `worker_map` loaded on first use.
 *
 * @category definitions
 * @since 0.5.0
 */
export const lazyProcessorDefinitions: ReadonlyArray<ProcessorDefinition<unknown> | LazyDefinition> = [
  ...statelessDefinitions,
  lazy(
    "processor",
    "aggregate",
    "keyed count/sum/min/max/avg/first/last/count_distinct and reducers over event-time windows",
    () => import("./aggregate.ts").then((m) => m.Aggregate as ProcessorDefinition<unknown>)
  ),
  lazy(
    "processor",
    "dedupe",
    "drops repeated keys, over all time or within an event-time window",
    () => import("./dedupe.ts").then((m) => m.Dedupe as ProcessorDefinition<unknown>)
  ),
  lazy(
    "processor",
    "worker_map",
    "runs a CPU-heavy function from a module on worker threads (config: module, export, mode, workers)",
    () => import("../workers/WorkerMap.ts").then((m) => m.definition as ProcessorDefinition<unknown>)
  )
]
