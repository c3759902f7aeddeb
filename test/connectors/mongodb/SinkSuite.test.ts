/**
 * The sink conformance suite (src/testing/SinkSuite.ts) for the `mongodb` sink over the
 * MongoClient-shaped fake, in `replace` and `upsert` mode (exactly-once by idempotence): nothing
 * lost or duplicated on a restart, backpressure in a workflow, bad configs refused.
 */
import { Effect, Schema } from "effect"
import type * as Connector from "../../../src/Connector.ts"
import { SinkConfig } from "../../../src/connectors/mongodb/MongodbConfig.ts"
import * as MongodbSink from "../../../src/connectors/mongodb/MongodbSink.ts"
import { sinkSuite } from "../../../src/testing/vitest.ts"
import { fakeMongo } from "./fakeMongo.ts"

const context = { node: "sink", batchSize: 100, instance: 0, parallelism: 1 }

for (const mode of ["replace", "upsert"] as const) {
  sinkSuite(
    `mongodb sink (MongoClient-shaped fake, mode: ${mode})`,
    Effect.sync(() => {
      const fake = fakeMongo()
      const definition = MongodbSink.make(fake.connect)
      const config = { url: "mongodb://db:27017", database: "shop", collection: "suite", mode, id_field: "id", retry: { delay: "1ms" } }
      return {
        open: definition.open(Schema.decodeUnknownSync(SinkConfig)(config), context),
        // the documents without the _id the sink gave them (the id's value)
        read: Effect.sync(() => fake.documents("shop.suite").map(({ _id, ...rest }) => rest)),
        guarantee: "exactly-once" as const,
        workflow: {
          definition: definition as unknown as Connector.SinkDefinition<unknown, unknown, unknown>,
          config,
          badConfigs: [{ url: "mongodb://db", database: "shop", collection: "c", mode: "upsert" }, { url: "http://db", database: "shop", collection: "c" }]
        }
      }
    })
  )
}
