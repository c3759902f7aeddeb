/**
 * The `stdout` sink: records to standard output as NDJSON or CSV.
 *
 * @since 0.1.0
 */
import type { Definition } from "../../Registry.ts"
import * as Spec from "../../Spec.ts"
import { StdoutConfig, StdoutSink } from "./StdoutSink.ts"

/** @since 0.1.0 */
export * as StdoutSink from "./StdoutSink.ts"

/**
 * The `stdout` config Schema.
 *
 * @category schemas
 * @since 0.1.0
 */
export const config = StdoutConfig

/**
 * The `stdout` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sinkDefinition = StdoutSink

/**
 * The `stdout` definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<Definition> = [StdoutSink]

/**
 * A typed `stdout` sink spec: accepts any object.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = (config: typeof StdoutConfig.Encoded = {}): Spec.SinkSpec<object> =>
  Spec.sink<object>("stdout", config)
