/**
 * The NATS JetStream connectors: the `nats` source (a durable pull consumer, acknowledging after
 * checkpoints) and sink (publishing with `Nats-Msg-Id` de-duplication). `Builtins.layer`
 * registers them; alone, with `Registry.layer(Nats.definitions)`.
 *
 * @example
 * ```ts
 * import { Nats, Pipeline } from "dataflare/dsl"
 *
 * const copy = Pipeline.from("events", Nats.source({ servers: "127.0.0.1:4222", stream: "EVENTS", consumer: "copy" }))
 *   .to("out", Nats.sink({ servers: "127.0.0.1:4222", subject: "copy.events" }))
 * ```
 * @since 0.4.0
 */
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import type { SinkConfig, SourceConfig } from "./NatsConfig.ts"
import { NatsSink, spec as sinkSpec } from "./NatsSink.ts"
import { NatsSource, type Record, spec as sourceSpec } from "./NatsSource.ts"

/**
 * @since 0.4.0
 */
export * as NatsConfig from "./NatsConfig.ts"
/**
 * @since 0.4.0
 */
export * as NatsSink from "./NatsSink.ts"
/**
 * @since 0.4.0
 */
export * as NatsSource from "./NatsSource.ts"

/**
 * The `nats` source and sink definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.4.0
 */
export const definitions: ReadonlyArray<Definition> = [NatsSource, NatsSink]

/**
 * A typed DSL spec of the `nats` source (`A`: the record type the payloads hold).
 *
 * @category specs
 * @since 0.4.0
 */
export const source: <A extends Record = Record>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec

/**
 * A typed DSL spec of the `nats` sink accepting records of type `A`.
 *
 * @category specs
 * @since 0.4.0
 */
export const sink: <A = unknown>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec
