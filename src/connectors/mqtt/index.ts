/**
 * The MQTT connectors (`type: mqtt`, MQTT 5): a subscriber on a persistent session acknowledging
 * after checkpoints, and a publisher. `Builtins.layer` registers them; alone, with
 * `Registry.layer(Mqtt.definitions)`. See docs/connectors/mqtt.md.
 *
 * @example
 * ```ts
 * import { Mqtt, Pipeline } from "dataflare/dsl"
 *
 * type Reading = { readonly device: string; readonly celsius: number }
 * const relay = Pipeline.from("readings", Mqtt.source<Reading>({ url: "mqtt://localhost:1883", topic: "plant/+/t", client_id: "relay" }))
 *   .to("out", Mqtt.sink<Reading>({ url: "mqtt://localhost:1883", topic: "plant/all" }))
 * ```
 * @since 0.4.0
 */
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import type { SinkConfig, SourceConfig } from "./MqttConfig.ts"
import { MqttSink, spec as sinkSpec } from "./MqttSink.ts"
import { MqttSource, spec as sourceSpec } from "./MqttSource.ts"

/**
 * @since 0.4.0
 */
export * as MqttConfig from "./MqttConfig.ts"
/**
 * @since 0.4.0
 */
export * as MqttSink from "./MqttSink.ts"
/**
 * @since 0.4.0
 */
export * as MqttSource from "./MqttSource.ts"

/**
 * The MQTT connector definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.4.0
 */
export const definitions: ReadonlyArray<Definition> = [MqttSource, MqttSink]

/**
 * A typed DSL spec of the `mqtt` source: `A` is the type of the decoded payloads.
 *
 * @category specs
 * @since 0.4.0
 */
export const source: <A = unknown>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec

/**
 * A typed DSL spec of the `mqtt` sink.
 *
 * @category specs
 * @since 0.4.0
 */
export const sink: <A = unknown>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec
