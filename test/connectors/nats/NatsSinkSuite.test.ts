/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the `nats` sink against the local
 * NATS server: exactly-once (replays de-duplicated by Nats-Msg-Id), each case on a stream of its
 * own.
 */
import { Effect, Schema } from "effect"
import type * as Connector from "../../../src/Connector.ts"
import { SinkConfig } from "../../../src/connectors/nats/NatsConfig.ts"
import { NatsSink } from "../../../src/connectors/nats/NatsSink.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { nats, payloads, SERVERS, stream } from "./support.ts"

sinkSuite(
  "nats sink (exactly-once within the duplicate window)",
  Effect.gen(function*() {
    const n = yield* nats
    const name = yield* stream(n, "sinksuite")
    const config = { servers: SERVERS, subject: `${name}.out` }
    const decoded = Schema.decodeUnknownSync(SinkConfig)(config)
    return {
      open: NatsSink.open(decoded, { workflow: "suite", node: "sink", batchSize: 1000, instance: 0, parallelism: 1 }),
      read: Effect.map(payloads(n, name), (all) => all.map((p) => JSON.parse(p) as unknown)),
      guarantee: "exactly-once" as const,
      workflow: {
        definition: NatsSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
        config,
        badConfigs: [{ servers: SERVERS }, { ...config, codec: "xml" }, { ...config, subject: "" }]
      }
    }
  })
)
