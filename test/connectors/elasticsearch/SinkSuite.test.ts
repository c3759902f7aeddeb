/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the `elasticsearch` sink against the
 * HTTP fake: exactly-once by idempotence with `id_field` (a replay overwrites the same
 * documents), nothing lost on a restart, backpressure in a workflow, bad configs refused.
 */
import { Effect, Schema } from "effect"
import type * as Connector from "../../../src/Connector.ts"
import { SinkConfig } from "../../../src/connectors/elasticsearch/ElasticsearchConfig.ts"
import { ElasticsearchSink } from "../../../src/connectors/elasticsearch/ElasticsearchSink.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { fakeElasticsearch } from "./fakeServer.ts"

const context = { node: "sink", batchSize: 100, instance: 0, parallelism: 1 }

sinkSuite(
  "elasticsearch sink (HTTP fake, id_field)",
  Effect.map(fakeElasticsearch(), (fake) => {
    const config = { node: fake.url, index: "suite", id_field: "id", retry: { delay: "1ms" } }
    return {
      open: ElasticsearchSink.open(Schema.decodeUnknownSync(SinkConfig)(config), context),
      read: Effect.sync(() => [...(fake.indices.get("suite")?.values() ?? [])]),
      guarantee: "exactly-once" as const,
      workflow: {
        definition: ElasticsearchSink as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
        config,
        badConfigs: [{ node: fake.url }, { node: fake.url, index: "i", op: "delete" }, { node: fake.url, index: "i", username: "u" }]
      }
    }
  })
)
