/**
 * DataFlare: typed data integration pipelines on Effect.
 *
 * Every module is a namespace named after its central type: `Batch.slice(batch, 0, 10)`,
 * `Runtime.run(graph)`, `Registry.layer([...])`. Every built-in connector (`Csv`, `Ndjson`,
 * `Memory`, `Postgres`, `Mysql`, `RedisStreams`, `Nats`, `Rabbitmq`, `Mqtt`, `Elasticsearch`, `Mongodb`,
 * `Stdout`) and processor (`Processors`: stateless, stateful, `worker_map`)
 * has its definitions and typed spec constructors here. The typed builder and the YAML loader live
 * in `dataflare/dsl`; in-memory connectors, conformance suites and the restore-equivalence
 * property in `dataflare/testing` (framework-free) and `dataflare/vitest`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AdaptiveBatcher from "./AdaptiveBatcher.ts"
/** @since 0.1.0 */
export * as Batch from "./Batch.ts"
/** @since 0.1.0 */
export * as Builtins from "./Builtins.ts"
/** @since 0.4.0 */
export * as BufferedSource from "./connectors/kit/bufferedSource.ts"
/** @since 0.5.0 */
export * as Capabilities from "./connectors/kit/Capabilities.ts"
/** @since 0.1.0 */
export * as Checkpoint from "./Checkpoint.ts"
/** @since 0.5.0 */
export * as Classify from "./connectors/kit/Classify.ts"
/** @since 0.4.0 */
export * as CheckpointTable from "./connectors/kit/CheckpointTable.ts"
/** @since 0.5.0 */
export * as Cluster from "./cluster/Cluster.ts"
/** @since 0.4.0 */
export * as Clients from "./connectors/kit/Clients.ts"
/** @since 0.4.0 */
export * as Codecs from "./connectors/kit/codecs/index.ts"
/** @since 0.5.0 */
export * as ConnectTimeout from "./connectors/kit/ConnectTimeout.ts"
/** @since 0.1.0 */
export * as Connector from "./Connector.ts"
/** @since 0.1.0 */
export * as Csv from "./connectors/csv/index.ts"
/** @since 0.4.0 */
export * as DeadLetter from "./connectors/kit/DeadLetter.ts"
/** @since 0.1.0 */
export * as Errors from "./Errors.ts"
/** @since 0.1.0 */
export * as Expression from "./expr/Expression.ts"
/** @since 0.1.0 */
export * as FileBackend from "./backends/FileBackend.ts"
/** @since 0.4.0 */
export * as FileSink from "./connectors/kit/FileSink.ts"
/** @since 0.1.0 */
export * as Memory from "./connectors/memory/index.ts"
/** @since 0.2.0 */
export * as Monitor from "./Monitor.ts"
/** @since 0.4.0 */
export * as Mqtt from "./connectors/mqtt/index.ts"
/** @since 0.1.0 */
export * as Ndjson from "./connectors/ndjson/index.ts"
/** @since 0.2.0 */
export * as Observability from "./Observability.ts"
/** @since 0.1.0 */
export * as OffsetTracker from "./OffsetTracker.ts"
/** @since 0.1.0 */
export * as Overrides from "./Overrides.ts"
/** @since 0.4.0 */
export * as Nats from "./connectors/nats/index.ts"
/** @since 0.1.0 */
export * as PlanFormat from "./PlanFormat.ts"
/** @since 0.4.0 */
export * as Mysql from "./connectors/mysql/index.ts"
/** @since 0.4.0 */
export * as Elasticsearch from "./connectors/elasticsearch/index.ts"
/** @since 0.4.0 */
export * as Mongodb from "./connectors/mongodb/index.ts"
/** @since 0.4.0 */
export * as Positions from "./connectors/kit/Positions.ts"
/** @since 0.1.0 */
export * as Postgres from "./connectors/postgres/index.ts"
/** @since 0.1.0 */
export * as PostgresBackend from "./backends/PostgresBackend.ts"
/** @since 0.1.0 */
export * as Processor from "./Processor.ts"
/** @since 0.1.0 */
export * as Processors from "./processors/index.ts"
/** @since 0.4.0 */
export * as Rabbitmq from "./connectors/rabbitmq/index.ts"
/** @since 0.4.0 */
export * as RedisStreams from "./connectors/redis-streams/index.ts"
/** @since 0.1.0 */
export * as Registry from "./Registry.ts"
/** @since 0.4.0 */
export * as Retry from "./connectors/kit/Retry.ts"
/** @since 0.1.0 */
export * as Runtime from "./Runtime.ts"
/** @since 0.4.0 */
export * as SinkKit from "./connectors/kit/SinkKit.ts"
/** @since 0.4.0 */
export * as SqlTableSource from "./connectors/kit/sqlTableSource.ts"
/** @since 0.1.0 */
export * as Spec from "./Spec.ts"
/** @since 0.1.0 */
export * as State from "./State.ts"
/** @since 0.1.0 */
export * as StateBackend from "./StateBackend.ts"
/** @since 0.1.0 */
export * as Stdout from "./connectors/stdout/index.ts"
/** @since 0.1.0 */
export * as WorkerMap from "./workers/WorkerMap.ts"
/** @since 0.1.0 */
export * as WorkflowGraph from "./WorkflowGraph.ts"
