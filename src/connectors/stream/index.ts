/**
 * The `stream` connectors (DSL only): an Effect `Stream` as a source, an Effect `Sink` or a
 * function per batch as a sink. Their configs hold Effect values, so YAML cannot write them; the
 * typed constructors are `Streams.source` and `Streams.sink` in `dataflare/dsl` (see the section
 * "Effect Streams in and out" of docs/dsl.md).
 *
 * @since 0.1.0
 */
import type { Definition } from "../../Registry.ts"
import { StreamSink } from "./StreamSink.ts"
import { StreamSource } from "./StreamSource.ts"

/** @since 0.1.0 */
export * as StreamSink from "./StreamSink.ts"
/** @since 0.1.0 */
export * as StreamSource from "./StreamSource.ts"

/**
 * The `stream` source definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sourceDefinition = StreamSource

/**
 * The `stream` sink definition.
 *
 * @category definitions
 * @since 0.1.0
 */
export const sinkDefinition = StreamSink

/**
 * Both definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<Definition> = [StreamSource, StreamSink]
