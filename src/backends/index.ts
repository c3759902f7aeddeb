/**
 * The durable state backends: `FileBackend` (the embedded default, a state directory per
 * workflow) and `PostgresBackend` (state shared by several processes). The in-memory backend
 * lives in `StateBackend`.
 *
 * @since 0.1.0
 */

/**
 * Checkpoint records as atomically written JSON files under a state directory.
 *
 * @category backends
 * @since 0.1.0
 */
export * as FileBackend from "./FileBackend.ts"

/**
 * Checkpoint records in a PostgreSQL table, written in one transaction each.
 *
 * @category backends
 * @since 0.1.0
 */
export * as PostgresBackend from "./PostgresBackend.ts"
