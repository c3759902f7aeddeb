/**
 * The MySQL/MariaDB connectors: `mysql` (table/query source and sink) and `mysql-cdc` (binlog
 * source). `Builtins.layer` registers them; alone, with `Registry.layer(Mysql.definitions)`.
 *
 * @since 0.4.0
 */
import type { Definition } from "../../Registry.ts"
import { MysqlCdc } from "./MysqlCdc.ts"
import { MysqlSink } from "./MysqlSink.ts"
import { MysqlSource } from "./MysqlSource.ts"

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
