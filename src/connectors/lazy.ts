/**
 * The built-in connectors for a registry that loads the heavy ones on first use: the file,
 * in-memory, console and stream connectors are registered as they are (they load no client
 * library); the database and broker ones (`pg`, `mysql2`, `redis`, NATS, AMQP, MQTT, Elasticsearch and
 * MongoDB clients) are {@link Registry.lazy} definitions whose modules load only when a workflow names their type. Same types, same order
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
 * Every built-in connector, those with a client library loaded on first use.
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
  lazy(
    "source",
    "mysql",
    "Reads a MySQL/MariaDB table or query, every value exact (snapshot, incremental, partitioned)",
    () => import("./mysql/MysqlSource.ts").then((m) => m.MysqlSource)
  ),
  lazy(
    "sink",
    "mysql",
    "Writes to a MySQL/MariaDB table (insert, upsert, replace), exactly-once with XA transactions and checkpoint ids",
    () => import("./mysql/MysqlSink.ts").then((m) => m.MysqlSink)
  ),
  lazy(
    "source",
    "mysql-cdc",
    "Streams row changes of MySQL/MariaDB tables from the binlog (ROW format), resumable exactly by binlog position",
    () => import("./mysql/MysqlCdc.ts").then((m) => m.MysqlCdc)
  ),
  lazy(
    "source",
    "redis-streams",
    "Reads a Redis stream as a consumer group member; XACK after the checkpoint covering the entries",
    () => import("./redis-streams/RedisStreamsSource.ts").then((m) => m.RedisStreamsSource)
  ),
  lazy(
    "sink",
    "redis-streams",
    "Appends records to a Redis stream (XADD, optional MAXLEN ~), at-least-once",
    () => import("./redis-streams/RedisStreamsSink.ts").then((m) => m.RedisStreamsSink)
  ),
  lazy(
    "source",
    "nats",
    "Reads a NATS JetStream stream through a durable pull consumer; acknowledges after the checkpoint covering the messages",
    () => import("./nats/NatsSource.ts").then((m) => m.NatsSource)
  ),
  lazy(
    "sink",
    "nats",
    "Publishes records to a NATS JetStream subject with Nats-Msg-Id de-duplication (exactly-once within the duplicate window)",
    () => import("./nats/NatsSink.ts").then((m) => m.NatsSink)
  ),
  ...stream,
  lazy(
    "source",
    "rabbitmq",
    "Consumes a RabbitMQ queue, acknowledging messages after the checkpoint covering them",
    () => import("./rabbitmq/RabbitmqSource.ts").then((m) => m.RabbitmqSource)
  ),
  lazy(
    "sink",
    "rabbitmq",
    "Publishes records to a RabbitMQ exchange with publisher confirms (at-least-once)",
    () => import("./rabbitmq/RabbitmqSink.ts").then((m) => m.RabbitmqSink)
  ),
  lazy(
    "source",
    "mqtt",
    "Subscribes to an MQTT 5 topic on a persistent session, acknowledging after checkpoints",
    () => import("./mqtt/MqttSource.ts").then((m) => m.MqttSource)
  ),
  lazy(
    "sink",
    "mqtt",
    "Publishes records to MQTT 5 topics (QoS 1/2: at-least-once; QoS 0: at most once)",
    () => import("./mqtt/MqttSink.ts").then((m) => m.MqttSink)
  ),
  lazy(
    "source",
    "elasticsearch",
    "Reads an Elasticsearch index in a point in time with search_after (position: the last sort values)",
    () => import("./elasticsearch/ElasticsearchSource.ts").then((m) => m.ElasticsearchSource)
  ),
  lazy(
    "sink",
    "elasticsearch",
    "Writes documents to an Elasticsearch index with the Bulk API (exactly-once by id with id_field)",
    () => import("./elasticsearch/ElasticsearchSink.ts").then((m) => m.ElasticsearchSink)
  ),
  lazy(
    "source",
    "mongodb",
    "Reads a MongoDB collection in _id order, or its change stream (resume tokens as positions)",
    () => import("./mongodb/MongodbSource.ts").then((m) => m.MongodbSource)
  ),
  lazy(
    "sink",
    "mongodb",
    "Writes documents to a MongoDB collection with unordered bulkWrite (insert, upsert, replace)",
    () => import("./mongodb/MongodbSink.ts").then((m) => m.MongodbSink)
  )
]
