/**
 * The Elasticsearch connectors (`type: elasticsearch`): a Bulk API sink and a point-in-time
 * source, through the official client `@elastic/elasticsearch`. `Builtins.layer` registers them;
 * alone, with `Registry.layer(Elasticsearch.definitions)`. The typed DSL takes
 * `Elasticsearch.sink<Doc>(config)` and `Elasticsearch.source<Doc>(config)`.
 *
 * @example
 * ```ts
 * import { Elasticsearch, Pipeline, Postgres } from "dataflare/dsl"
 *
 * type Customer = { readonly id: number; readonly email: string }
 * const index = Pipeline.from("customers", Postgres.source<Customer>({ connection_string: "postgres://localhost/crm", table: "customers" }))
 *   .to("search", Elasticsearch.sink<Customer>({ node: "http://localhost:9200", index: "customers", id_field: "id" }))
 * ```
 * @since 0.4.0
 */
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import type { SinkConfig, SourceConfig } from "./ElasticsearchConfig.ts"
import { ElasticsearchSink, spec as sinkSpec } from "./ElasticsearchSink.ts"
import { type Document, ElasticsearchSource, spec as sourceSpec } from "./ElasticsearchSource.ts"

/**
 * @since 0.4.0
 */
export * as ElasticsearchConfig from "./ElasticsearchConfig.ts"
/**
 * @since 0.4.0
 */
export * as ElasticsearchError from "./ElasticsearchError.ts"
/**
 * @since 0.4.0
 */
export * as ElasticsearchSink from "./ElasticsearchSink.ts"
/**
 * @since 0.4.0
 */
export * as ElasticsearchSource from "./ElasticsearchSource.ts"

/**
 * The Elasticsearch connector definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.4.0
 */
export const definitions: ReadonlyArray<Definition> = [ElasticsearchSource, ElasticsearchSink]

/**
 * A typed DSL spec of the `elasticsearch` sink accepting records of type `A`.
 *
 * @category specs
 * @since 0.4.0
 */
export const sink: <A = unknown>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec

/**
 * A typed DSL spec of the `elasticsearch` source: `A` is the documents' type.
 *
 * @category specs
 * @since 0.4.0
 */
export const source: <A extends Document = Document>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec
