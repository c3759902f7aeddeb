/**
 * The PostgreSQL connectors: `postgres` (table/query source and COPY sink) and `postgres-cdc`
 * (logical replication source). Register them with `Registry.layer(Postgres.definitions)`.
 *
 * @since 0.1.0
 */
import type { Definition } from "../../Registry.ts"
import { PostgresCdc } from "./PostgresCdc.ts"
import { PostgresSink } from "./PostgresSink.ts"
import { PostgresSource } from "./PostgresSource.ts"

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
