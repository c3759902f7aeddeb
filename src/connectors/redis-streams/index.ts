/**
 * The Redis Streams connectors: the `redis-streams` source (a consumer group member,
 * acknowledging after checkpoints) and sink (`XADD`). `Builtins.layer` registers them; alone,
 * with `Registry.layer(RedisStreams.definitions)`.
 *
 * @example
 * ```ts
 * import { Pipeline, RedisStreams } from "dataflare/dsl"
 *
 * const copy = Pipeline.from("events", RedisStreams.source({ url: "redis://127.0.0.1:6379", stream: "events", group: "g", consumer: "c" }))
 *   .to("out", RedisStreams.sink({ url: "redis://127.0.0.1:6379", stream: "events-copy" }))
 * ```
 * @since 0.4.0
 */
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import type { SinkConfig, SourceConfig } from "./RedisStreamsConfig.ts"
import { RedisStreamsSink, spec as sinkSpec } from "./RedisStreamsSink.ts"
import { type Record, RedisStreamsSource, spec as sourceSpec } from "./RedisStreamsSource.ts"

/**
 * @since 0.4.0
 */
export * as RedisStreamsConfig from "./RedisStreamsConfig.ts"
/**
 * @since 0.4.0
 */
export * as RedisStreamsSink from "./RedisStreamsSink.ts"
/**
 * @since 0.4.0
 */
export * as RedisStreamsSource from "./RedisStreamsSource.ts"

/**
 * The `redis-streams` source and sink definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.4.0
 */
export const definitions: ReadonlyArray<Definition> = [RedisStreamsSource, RedisStreamsSink]

/**
 * A typed DSL spec of the `redis-streams` source (`A`: the record type the entries hold).
 *
 * @category specs
 * @since 0.4.0
 */
export const source: <A extends Record = Record>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec

/**
 * A typed DSL spec of the `redis-streams` sink accepting records of type `A`.
 *
 * @category specs
 * @since 0.4.0
 */
export const sink: <A = unknown>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec
