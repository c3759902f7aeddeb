/** Opens the `mongodb` connectors over a fake (`make(fake.connect)`), configs decoded as a run decodes them. */
import { Effect, Schema } from "effect"
import type { OpenContext } from "../../../src/Connector.ts"
import { SinkConfig, SourceConfig } from "../../../src/connectors/mongodb/MongodbConfig.ts"
import * as MongodbSink from "../../../src/connectors/mongodb/MongodbSink.ts"
import * as MongodbSource from "../../../src/connectors/mongodb/MongodbSource.ts"
import type { FakeMongo } from "./fakeMongo.ts"

export const context: OpenContext = { node: "store", batchSize: 100, instance: 0, parallelism: 1 }

export const URL = "mongodb://app:s3cret@db-1:27017,db-2:27017/?replicaSet=rs0"

export const openSink = (fake: FakeMongo, config: Record<string, unknown>, ctx: OpenContext = context) =>
  Effect.flatMap(
    Schema.decodeUnknownEffect(SinkConfig)({ url: URL, database: "shop", collection: "orders", ...config }).pipe(Effect.orDie),
    (decoded) => MongodbSink.make(fake.connect).open(decoded, ctx)
  )

export const openSource = (fake: FakeMongo, config: Record<string, unknown>, ctx: OpenContext = context) =>
  Effect.flatMap(
    Schema.decodeUnknownEffect(SourceConfig)({ url: URL, database: "shop", collection: "orders", ...config }).pipe(Effect.orDie),
    (decoded) => MongodbSource.make(fake.connect).open(decoded, ctx)
  )
