/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the `redis-streams` sink against the
 * local Redis: at-least-once, each case on a stream of its own.
 */
import { Effect, Schema } from "effect"
import type * as Connector from "../../../src/Connector.ts"
import { SinkConfig } from "../../../src/connectors/redis-streams/RedisStreamsConfig.ts"
import { RedisStreamsSink } from "../../../src/connectors/redis-streams/RedisStreamsSink.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { client, stream, URL } from "./support.ts"

sinkSuite(
  "redis-streams sink (at-least-once)",
  Effect.gen(function*() {
    const c = yield* client
    const name = yield* stream("sinksuite")
    const config = { url: URL, stream: name, codec: "json" }
    return {
      open: RedisStreamsSink.open(Schema.decodeUnknownSync(SinkConfig)(config), { node: "sink", batchSize: 1000, instance: 0, parallelism: 1 }),
      read: Effect.promise(async () =>
        ((await c.sendCommand(["XRANGE", name, "-", "+"])) as unknown as Array<[string, Array<string>]>).map((e) => JSON.parse(e[1][1]) as unknown)
      ),
      guarantee: "at-least-once" as const,
      workflow: {
        definition: RedisStreamsSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
        config,
        badConfigs: [{ url: URL }, { ...config, maxlen: 0 }, { ...config, codec: "xml" }]
      }
    }
  })
)
