/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the rabbitmq sink against the local
 * broker: each case publishes through the default exchange to a queue of its own, read back
 * without taking the messages away. At-least-once: a restart publishes again what came after the
 * restored checkpoint.
 */
import { Effect, Schema } from "effect"
import type * as Connector from "../../../src/Connector.ts"
import { RabbitmqSink } from "../../../src/connectors/rabbitmq/RabbitmqSink.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { browse, URL, withQueue } from "./support.ts"

sinkSuite(
  "rabbitmq sink",
  Effect.gen(function*() {
    const queue = yield* withQueue("df-rmq-suite")
    const config = { url: URL, exchange: "", routing_key: queue }
    return {
      open: Effect.flatMap(Schema.decodeUnknownEffect(RabbitmqSink.config)(config).pipe(Effect.orDie), (c) =>
        RabbitmqSink.open(c, { node: "sink", batchSize: 100, instance: 0, parallelism: 1 })),
      read: Effect.map(browse(queue), (bodies) => bodies.map((b) => JSON.parse(b) as unknown)),
      guarantee: "at-least-once" as const,
      workflow: {
        definition: RabbitmqSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
        config,
        badConfigs: [
          { url: URL, exchange: "" },
          { ...config, url: "http://127.0.0.1:5672" },
          { ...config, routing_key: { column: "x" } },
          { ...config, codec: "csv" }
        ]
      }
    }
  })
)
