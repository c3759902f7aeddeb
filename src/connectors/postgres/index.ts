/**
 * The PostgreSQL connectors: `postgres` (table/query source and COPY sink) and `postgres-cdc`
 * (logical replication source). `Builtins.layer` registers them; alone, with
 * `Registry.layer(Postgres.definitions)`. The typed DSL takes `Postgres.source<Row>(config)`,
 * `Postgres.sink<Row>(config)` and `Postgres.cdc(config)`; `PostgresSource.discover` writes the
 * Schema of a table's rows, `PostgresCdc.replicationLag` measures a slot's lag.
 *
 * @example
 * ```ts
 * import { Postgres, Pipeline } from "dataflare/dsl"
 *
 * type Customer = { readonly id: number; readonly email: string }
 * const copy = Pipeline.from("customers", Postgres.source<Customer>({ connection_string: "postgres://localhost/crm", table: "customers" }))
 *   .to("out", Postgres.sink<Customer>({ connection_string: "postgres://localhost/dwh", table: "customers" }))
 * ```
 * @since 0.1.0
 */
import type { Definition } from "../../Registry.ts"
import type * as Spec from "../../Spec.ts"
import { type ChangeRecord, PostgresCdc, spec as cdcSpec } from "./PostgresCdc.ts"
import type { CdcConfig, SinkConfig, SourceConfig } from "./PostgresConfig.ts"
import { PostgresSink, type SinkRecord, spec as sinkSpec } from "./PostgresSink.ts"
import { PostgresSource, type Row, spec as sourceSpec } from "./PostgresSource.ts"

/**
 * @since 0.1.0
 */
export * as PostgresCdc from "./PostgresCdc.ts"
/**
 * @since 0.1.0
 */
export * as PostgresConfig from "./PostgresConfig.ts"
/**
 * @since 0.1.0
 */
export * as PostgresError from "./PostgresError.ts"
/**
 * @since 0.1.0
 */
export * as PostgresSink from "./PostgresSink.ts"
/**
 * @since 0.1.0
 */
export * as PostgresSource from "./PostgresSource.ts"

/**
 * The three PostgreSQL connector definitions, for `Registry.layer`.
 *
 * @category definitions
 * @since 0.1.0
 */
export const definitions: ReadonlyArray<Definition> = [PostgresSource, PostgresSink, PostgresCdc]

/**
 * A typed DSL spec of the `postgres` source (a table or a query): `A` is the row type, e.g. the
 * Schema's type that `PostgresSource.discover` writes for the table.
 *
 * @category specs
 * @since 0.1.0
 */
export const source: <A extends Row = Row>(config: typeof SourceConfig.Encoded) => Spec.SourceSpec<A> = sourceSpec

/**
 * A typed DSL spec of the `postgres` sink accepting records of type `A` (rows, or change records
 * with `mode: upsert`).
 *
 * @category specs
 * @since 0.1.0
 */
export const sink: <A extends SinkRecord = SinkRecord>(config: typeof SinkConfig.Encoded) => Spec.SinkSpec<A> = sinkSpec

/**
 * A typed DSL spec of the `postgres-cdc` source: change records of the tables a publication covers.
 *
 * @category specs
 * @since 0.1.0
 */
export const cdc: (config: typeof CdcConfig.Encoded) => Spec.SourceSpec<ChangeRecord> = cdcSpec
