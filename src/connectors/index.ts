/**
 * The built-in connectors: `csv`, `ndjson`, `memory`, `generator`, `collect`, `stdout`, `stream`,
 * `postgres`, `postgres-cdc`, `redis-streams`, `nats`, `elasticsearch` and `mongodb`. Register them with
 * `Registry.layer(connectorDefinitions)`;
 * processors are registered separately.
 *
 * @since 0.1.0
 */
import type { Definition } from "../Registry.ts"
import { definitions as csv } from "./csv/index.ts"
import { definitions as elasticsearch } from "./elasticsearch/index.ts"
import { definitions as memory } from "./memory/index.ts"
import { definitions as mongodb } from "./mongodb/index.ts"
import { definitions as nats } from "./nats/index.ts"
import { definitions as ndjson } from "./ndjson/index.ts"
import { definitions as postgres } from "./postgres/index.ts"
import { definitions as redisStreams } from "./redis-streams/index.ts"
import { definitions as stdout } from "./stdout/index.ts"
import { definitions as stream } from "./stream/index.ts"

/**
 * Every built-in connector definition (files, in-memory, console, PostgreSQL).
 *
 * @category definitions
 * @since 0.1.0
 */
export const connectorDefinitions: ReadonlyArray<Definition> = [
  ...csv,
  ...ndjson,
  ...memory,
  ...stdout,
  ...postgres,
  ...redisStreams,
  ...nats,
  ...stream,
  ...elasticsearch,
  ...mongodb
]
