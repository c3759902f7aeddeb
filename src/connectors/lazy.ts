/**
 * The built-in connectors for a registry that loads the heavy ones on first use: the file,
 * in-memory, console and stream connectors are registered as they are (they load no client
 * library); the PostgreSQL ones (`pg`, logical replication) are {@link Registry.lazy}
 * definitions whose modules load only when a workflow names their type. Same types, same order
 * and same descriptions as `connectorDefinitions` (a test compares them). What `dataflare`
 * registers: a CSV → NDJSON run never loads a database driver.
 *
 * @since 0.4.0
 */
import { type Definition, type LazyDefinition, lazy } from "../Registry.ts"
import { definitions as csv } from "./csv/index.ts"
import { definitions as memory } from "./memory/index.ts"
import { definitions as ndjson } from "./ndjson/index.ts"
import { definitions as stdout } from "./stdout/index.ts"
import { definitions as stream } from "./stream/index.ts"

/**
 * Every built-in connector, the PostgreSQL ones loaded on first use.
 *
 * @category definitions
 * @since 0.4.0
 */
export const lazyConnectorDefinitions: ReadonlyArray<Definition | LazyDefinition> = [
  ...csv,
  ...ndjson,
  ...memory,
  ...stdout,
  lazy(
    "source",
    "postgres",
    "Reads a PostgreSQL table or query with COPY, every type exact (snapshot, incremental, partitioned)",
    () => import("./postgres/PostgresSource.ts").then((m) => m.PostgresSource)
  ),
  lazy(
    "sink",
    "postgres",
    "Writes to a PostgreSQL table with COPY (insert, upsert, replace), exactly-once with checkpoint ids",
    () => import("./postgres/PostgresSink.ts").then((m) => m.PostgresSink)
  ),
  lazy(
    "source",
    "postgres-cdc",
    "Streams inserts, updates and deletes from PostgreSQL logical replication (pgoutput)",
    () => import("./postgres/PostgresCdc.ts").then((m) => m.PostgresCdc)
  ),
  ...stream
]
