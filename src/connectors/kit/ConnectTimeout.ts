/**
 * The `connect_timeout` config key of a connector whose client connects to a broker: one field to
 * spread into its config Schema ({@link ConnectTimeoutFields}, default `10s`) and one reading of
 * it in milliseconds ({@link connectTimeoutMillis}), so every connector offering the key spells,
 * documents and defaults it the same way.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ConnectTimeout } from "dataflare"
 *
 * const Config = Schema.Struct({ url: Schema.String, ...ConnectTimeout.ConnectTimeoutFields })
 * const millis = ConnectTimeout.connectTimeoutMillis(Schema.decodeUnknownSync(Config)({ url: "mqtt://localhost" }))
 * ```
 * @since 0.5.0
 */
import { Schema } from "effect"
import { durationMillis, PositiveDuration } from "../../WorkflowGraph.ts"

/**
 * The default of `connect_timeout`: 10 seconds.
 *
 * @category constants
 * @since 0.5.0
 */
export const CONNECT_TIMEOUT_MS = 10_000

/**
 * `connect_timeout`: how long connecting may take (a duration, default `10s`), to spread into a
 * connector's config Schema.
 *
 * @category schemas
 * @since 0.5.0
 */
export const ConnectTimeoutFields = {
  connect_timeout: Schema.optionalKey(PositiveDuration).annotateKey({ description: "How long connecting may take", default: "10s" })
} as const

/**
 * The milliseconds a config's `connect_timeout` allows ({@link CONNECT_TIMEOUT_MS} when absent).
 *
 * @category getters
 * @since 0.5.0
 */
export const connectTimeoutMillis = (config: { readonly connect_timeout?: string | number | undefined }): number =>
  config.connect_timeout === undefined ? CONNECT_TIMEOUT_MS : durationMillis(config.connect_timeout)
