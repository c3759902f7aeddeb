/**
 * effect/cluster's sharding over sockets with PostgreSQL storage: runners (with a server) and
 * clients (`submit`, which only sends). Runners and messages live in `<prefix>_runners`,
 * `<prefix>_messages`, ... (effect/cluster's tables, created by its migrations), so clusters with
 * different prefixes can share one database.
 *
 * The timings are set for failover in seconds rather than minutes: a runner that stops answering
 * is checked every 2 s, and shard locks (PostgreSQL advisory locks, released at once when a
 * runner's connections drop) are refreshed every 5 s (tighter, their storage calls time out on a
 * loaded machine and shard hand-overs stall).
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Layer, Option, Redacted } from "effect"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import type { ShardingConfig } from "effect/cluster/ShardingConfig"
import * as ShardingConfigModule from "effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"

/** Where a runner listens. */
export interface Listen {
  readonly host: string
  readonly port: number
}

const config = (listen: Listen | undefined): Partial<ShardingConfig["Service"]> => ({
  ...(listen !== undefined ? { runnerAddress: Option.some(RunnerAddress.make(listen.host, listen.port)) } : {}),
  shardLockRefreshInterval: "5 seconds",
  shardLockExpiration: "15 seconds",
  runnerHealthCheckInterval: "2 seconds",
  refreshAssignmentsInterval: "1 second",
  entityMessagePollInterval: "1 second",
  entityReplyPollInterval: "1 second",
  sendRetryInterval: "500 millis",
  runnerJoinDebounce: "500 millis"
})

/** The sharding of a runner (`listen` given) or of a client (`listen` absent). */
export const layer = (url: Redacted.Redacted<string>, prefix: string, listen: Listen | undefined) => {
  const options = config(listen)
  const storage = Layer.mergeAll(
    SqlMessageStorage.layerWith({ prefix }),
    Layer.orDie(SqlRunnerStorage.layerWith({ prefix }))
  ).pipe(
    Layer.provide([ShardingConfigModule.layer(options), NodeCrypto.layerDigest]),
    Layer.provide(Layer.orDie(PgClient.layer({ url: Redacted.make(Redacted.value(url)), maxConnections: 8 })))
  )
  return listen !== undefined
    ? NodeClusterSocket.layer({ storage: "byo", shardingConfig: options }).pipe(Layer.provide(storage))
    : NodeClusterSocket.layer({ storage: "byo", clientOnly: true, shardingConfig: options }).pipe(Layer.provide(storage))
}
