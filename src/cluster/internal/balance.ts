/**
 * Spreading a batch's parts evenly over the runners. effect/cluster places an entity by the hash
 * of its id (its shard) and the shards on the runners by a hash ring, so a few parts may land
 * 2 + 4 + 0 on three runners. The runners publish the shards they hold (`<prefix>_shards`,
 * {@link publishShards}); `submit` reads them and gives each part an entity id — `<workflow>/<part>`,
 * or `<workflow>/<part>~k` for the first k that does — whose shard the least-loaded runner holds
 * ({@link place}). The part's request carries its workflow and part, so the id is only where it
 * runs. Runners that join or leave later move shards, and the parts on them, as effect/cluster decides.
 */
import { Effect } from "effect"
import * as EntityId from "effect/cluster/EntityId"
import * as ShardId from "effect/cluster/ShardId"
import { Sharding } from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import type { Table } from "./table.ts"

/** The shard group of the part entity (effect/cluster's default). */
const GROUP = "default"
/** How often a runner checks its shards (and publishes them when they changed). */
const PUBLISH_MS = 1000
/**
 * A runner publishes its shards again after this long even when they did not change: a row not
 * refreshed for {@link Table.shardOwners}' 10 s is a runner gone (a killed runner stays `healthy`
 * in effect/cluster's runners table for a long while).
 */
const REFRESH_MS = 3000
/** How many entity ids are tried per part before taking the first one's runner. */
const TRIES = 64

/**
 * Publishes the shards this runner holds whenever they change (checked every second) and every
 * few seconds anyway (so that a dead runner's row goes stale). Runs until interrupted.
 */
export const publishShards = (table: Table, runner: string): Effect.Effect<never, never, Sharding> =>
  Effect.gen(function*() {
    const sharding = yield* Sharding
    const count = ShardingConfig.defaults.shardsPerGroup
    let last = ""
    let at = 0
    while (true) {
      const held: Array<number> = []
      for (let i = 1; i <= count; i++) if (sharding.hasShardId(ShardId.make(GROUP, i))) held.push(i)
      const key = held.join(",")
      const now = Date.now()
      if (key !== last || now - at >= REFRESH_MS) {
        const published = yield* Effect.option(table.publishShards(runner, held))
        if (published._tag === "Some") {
          last = key
          at = now
        }
      }
      yield* Effect.sleep(PUBLISH_MS)
    }
  })

/**
 * The entity id of each part of a batch, in order: each part goes to the runner that has the
 * fewest of the batch's parts so far (ties: the first by address), through the first id of
 * `<id>`, `<id>~1`, `<id>~2`, ... whose shard it holds. When the published shards do not cover
 * all `shards` (no runner yet, or shards moving: a runner joined or died), the plain ids.
 */
export const place = (
  ids: ReadonlyArray<string>,
  owners: ReadonlyMap<number, string>,
  shardOf: (entityId: string) => number,
  shards: number = ShardingConfig.defaults.shardsPerGroup
): ReadonlyArray<string> => {
  const load = new Map([...new Set(owners.values())].sort().map((r) => [r, 0]))
  if (owners.size < shards) return ids
  return ids.map((id) => {
    const least = Math.min(...load.values())
    const target = [...load.keys()].find((r) => load.get(r) === least)!
    for (let k = 0; k < TRIES; k++) {
      const candidate = k === 0 ? id : `${id}~${k}`
      if (owners.get(shardOf(candidate)) === target) {
        load.set(target, least + 1)
        return candidate
      }
    }
    const owner = owners.get(shardOf(id))
    if (owner !== undefined) load.set(owner, load.get(owner)! + 1)
    return id
  })
}

/** The shard number of an entity id, as the cluster's sharding computes it. */
export const shardOf: Effect.Effect<(entityId: string) => number, never, Sharding> = Effect.gen(function*() {
  const sharding = yield* Sharding
  return (entityId: string) => sharding.getShardId(EntityId.make(entityId), GROUP).id
})
