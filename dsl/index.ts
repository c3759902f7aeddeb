/**
 * The typed DSL: {@link Pipeline} (linear: one source, a chain of steps, one sink) and
 * {@link Workflow} (a DAG: several sources, fan-out, fan-in, several sinks), and {@link Streams} (Effect
 * Streams and Sinks as sources and destinations). The builders build the same
 * `WorkflowGraph` value the YAML loader produces; the types carry node ids, record types, and the
 * user processors' error type and requirements. {@link Yaml} loads a YAML workflow into that value.
 * The connector modules (`Csv`, `Ndjson`, `Memory`, `Postgres`, `Mysql`, `RedisStreams`, `Nats`, `Rabbitmq`, `Mqtt`,
 * `Elasticsearch`, `Mongodb`, `Stdout`) and `Processors` (the
 * stateless and stateful processors, `worker_map`) are the same modules `dataflare` exports,
 * re-exported here for their typed spec constructors (`Csv.source({ path, columns })`,
 * `Processors.aggregateOf<Order>()({ ... })`).
 *
 * @example
 * ```ts
 * import { Memory, Pipeline, Stdout } from "dataflare/dsl"
 * const p = Pipeline.from("in", Memory.source({ records: [{ id: 1 }, { id: -1 }] }))
 *   .filter("positive", (r) => r.id > 0)
 *   .to("out", Stdout.sink())
 * ```
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Pipeline from "./Pipeline.ts"
/** @since 0.1.0 */
export * as Workflow from "./Workflow.ts"
/** @since 0.1.0 */
export * as Streams from "./Streams.ts"
/** @since 0.1.0 */
export * as Spec from "../src/Spec.ts"
/** @since 0.1.0 */
export * as Csv from "../src/connectors/csv/index.ts"
/** @since 0.1.0 */
export * as Memory from "../src/connectors/memory/index.ts"
/** @since 0.4.0 */
export * as Mqtt from "../src/connectors/mqtt/index.ts"
/** @since 0.4.0 */
export * as Nats from "../src/connectors/nats/index.ts"
/** @since 0.1.0 */
export * as Ndjson from "../src/connectors/ndjson/index.ts"
/** @since 0.4.0 */
export * as Mysql from "../src/connectors/mysql/index.ts"
/** @since 0.4.0 */
export * as Elasticsearch from "../src/connectors/elasticsearch/index.ts"
/** @since 0.4.0 */
export * as Mongodb from "../src/connectors/mongodb/index.ts"
/** @since 0.1.0 */
export * as Postgres from "../src/connectors/postgres/index.ts"
/** @since 0.4.0 */
export * as Rabbitmq from "../src/connectors/rabbitmq/index.ts"
/** @since 0.1.0 */
export * as Processors from "../src/processors/index.ts"
/** @since 0.4.0 */
export * as RedisStreams from "../src/connectors/redis-streams/index.ts"
/** @since 0.1.0 */
export * as Stdout from "../src/connectors/stdout/index.ts"
/** @since 0.1.0 */
export * as Yaml from "./yaml/Yaml.ts"
/** @since 0.1.0 */
export type { CompileError, NodeFailure, NodeOptions, RunError, SourceOptions } from "./internal/types.ts"
/** @since 0.5.0 */
export type { DeadLetterEnvelope } from "./internal/errors.ts"
