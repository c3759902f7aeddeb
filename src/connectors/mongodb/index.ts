/**
 * The MongoDB connectors (`type: mongodb`): an unordered `bulkWrite` sink and a source reading a
 * collection in `_id` order or its change stream, through the official driver `mongodb`.
 * `Builtins.layer` registers them; alone, with `Registry.layer(Mongodb.definitions)`. The typed DSL
 * takes `Mongodb.sink<Doc>(config)` and `Mongodb.source<Doc>(config)`; `MongodbSink.make(connect)`
 * and `MongodbSource.make(connect)` build the definitions over another client (a test fake).
 *
 * @example
 * ```ts
 * import { Mongodb, Ndjson, Pipeline } from "dataflare/dsl"
 *
 * type Order = { readonly order_id: string; readonly amount: number }
 * const load = Pipeline.from("orders", Ndjson.source({ path: "orders.ndjson" }))
 *   .to("store", Mongodb.sink<unknown>({ url: "mongodb://localhost:27017", database: "shop", collection: "orders", mode: "upsert", id_field: "order_id" }))
 * ```
 * @since 0.4.0
 */
import type { Document } from "mongodb"
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import type { SinkConfig, SourceConfig } from "./MongodbConfig.ts"
import { MongodbSink, spec as sinkSpec } from "./MongodbSink.ts"
import { MongodbSource, spec as sourceSpec } from "./MongodbSource.ts"

/**
 * @since 0.4.0
 */
export * as MongodbConfig from "./MongodbConfig.ts"
/**
 * @since 0.4.0
 */
export * as MongodbError from "./MongodbError.ts"
/**
 * @since 0.4.0
 */
export * as MongodbSink from "./MongodbSink.ts"
/**
 * @since 0.4.0
 */
export * as MongodbSource from "./MongodbSource.ts"

/**
 * The MongoDB connector definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.4.0
 */
export const definitions: ReadonlyArray<Definition> = [MongodbSource, MongodbSink]

/**
 * A typed DSL spec of the `mongodb` sink accepting records of type `A`.
 *
 * @category specs
 * @since 0.4.0
 */
export const sink: <A = unknown>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec

/**
 * A typed DSL spec of the `mongodb` source: documents of type `A` (`mode: scan`), or change
 * records (`mode: change_stream`, `MongodbSource.Change`).
 *
 * @category specs
 * @since 0.4.0
 */
export const source: <A = Document>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec
