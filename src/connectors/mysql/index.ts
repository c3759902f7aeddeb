/**
 * The MySQL/MariaDB connectors: `mysql` (table/query source and sink) and `mysql-cdc` (binlog
 * source). `Builtins.layer` registers them; alone, with `Registry.layer(Mysql.definitions)`. The
 * typed DSL takes `Mysql.source<Row>(config)`, `Mysql.sink<Row>(config)` and `Mysql.cdc(config)`.
 *
 * @example
 * ```ts
 * import { Mysql, Pipeline } from "dataflare/dsl"
 *
 * type Order = { readonly id: bigint; readonly amount: string }
 * const copy = Pipeline.from("orders", Mysql.source<Order>({ connection_string: "mysql://etl@127.0.0.1:3306/shop", table: "orders" }))
 *   .to("out", Mysql.sink<Order>({ connection_string: "mysql://etl@127.0.0.1:3306/dwh", table: "orders" }))
 * ```
 * @since 0.4.0
 */
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import { type ChangeRecord, MysqlCdc, spec as cdcSpec } from "./MysqlCdc.ts"
import type { CdcConfig, SinkConfig, SourceConfig } from "./MysqlConfig.ts"
import { MysqlSink, type SinkRecord, spec as sinkSpec } from "./MysqlSink.ts"
import { MysqlSource, type Row, spec as sourceSpec } from "./MysqlSource.ts"

/**
 * @since 0.4.0
 */
export * as MysqlCdc from "./MysqlCdc.ts"
/**
 * @since 0.4.0
 */
export * as MysqlConfig from "./MysqlConfig.ts"
/**
 * @since 0.4.0
 */
export * as MysqlError from "./MysqlError.ts"
/**
 * @since 0.4.0
 */
export * as MysqlSink from "./MysqlSink.ts"
/**
 * @since 0.4.0
 */
export * as MysqlSource from "./MysqlSource.ts"

/**
 * The MySQL connector definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.4.0
 */
export const definitions: ReadonlyArray<Definition> = [MysqlSource, MysqlSink, MysqlCdc]

/**
 * A typed DSL spec of the `mysql` source (a table or a query): `A` is the row type.
 *
 * @category specs
 * @since 0.4.0
 */
export const source: <A extends Row = Row>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec

/**
 * A typed DSL spec of the `mysql` sink accepting records of type `A` (rows, or change records
 * with `mode: upsert`).
 *
 * @category specs
 * @since 0.4.0
 */
export const sink: <A extends SinkRecord = SinkRecord>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec

/**
 * A typed DSL spec of the `mysql-cdc` source: change records of the configured tables.
 *
 * @category specs
 * @since 0.4.0
 */
export const cdc: (config: typeof CdcConfig.Encoded) => Spec.SourceSpec<ChangeRecord> = cdcSpec
