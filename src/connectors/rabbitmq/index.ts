/**
 * The RabbitMQ connectors (`type: rabbitmq`): a queue consumer acknowledging after checkpoints,
 * and an exchange publisher with publisher confirms. `Builtins.layer` registers them; alone, with
 * `Registry.layer(Rabbitmq.definitions)`. See docs/connectors/rabbitmq.md.
 *
 * @example
 * ```ts
 * import { Pipeline, Rabbitmq } from "dataflare/dsl"
 *
 * type Order = { readonly id: number; readonly region: string }
 * const relay = Pipeline.from("orders", Rabbitmq.source<Order>({ url: "amqp://guest:guest@localhost", queue: "orders" }))
 *   .to("out", Rabbitmq.sink<Order>({ url: "amqp://guest:guest@localhost", exchange: "regions", routing_key: { field: "region" } }))
 * ```
 * @since 0.4.0
 */
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import type { SinkConfig, SourceConfig } from "./RabbitmqConfig.ts"
import { RabbitmqSink, spec as sinkSpec } from "./RabbitmqSink.ts"
import { RabbitmqSource, spec as sourceSpec } from "./RabbitmqSource.ts"

/**
 * @since 0.4.0
 */
export * as RabbitmqConfig from "./RabbitmqConfig.ts"
/**
 * @since 0.4.0
 */
export * as RabbitmqSink from "./RabbitmqSink.ts"
/**
 * @since 0.4.0
 */
export * as RabbitmqSource from "./RabbitmqSource.ts"

/**
 * The RabbitMQ connector definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.4.0
 */
export const definitions: ReadonlyArray<Definition> = [RabbitmqSource, RabbitmqSink]

/**
 * A typed DSL spec of the `rabbitmq` source: `A` is the type of the messages' JSON bodies.
 *
 * @category specs
 * @since 0.4.0
 */
export const source: <A = unknown>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec

/**
 * A typed DSL spec of the `rabbitmq` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const sink: <A = unknown>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec
