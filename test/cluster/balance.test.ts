/**
 * Placing a batch's parts on the runners: each part goes to the runner with the fewest parts of
 * the batch so far, through the first entity id whose shard that runner holds.
 */
import { describe, expect, it } from "vitest"
import { place } from "../../src/cluster/internal/balance.ts"

/** A toy shard function: the number after the last `~` (0 without one) plus the part number. */
const shardOf = (id: string) => {
  const [base, salt] = id.split("~")
  return (Number(base!.split("/")[1]) + Number(salt ?? 0)) % 6
}

describe("cluster part placement", () => {
  it("spreads the parts evenly over the runners that hold shards", () => {
    // shards 0-3 on a (most of the ring), 4 on b, 5 on c: the plain ids would put 4 of 6 parts on a
    const owners = new Map([[0, "a"], [1, "a"], [2, "a"], [3, "a"], [4, "b"], [5, "c"]])
    const ids = place(["w/0", "w/1", "w/2", "w/3", "w/4", "w/5"], owners, shardOf, 6)
    const runners = ids.map((id) => owners.get(shardOf(id)))
    expect(runners).toEqual(["a", "b", "c", "a", "b", "c"])
    expect(ids).toEqual(["w/0", "w/1~3", "w/2~3", "w/3", "w/4", "w/5"])
  })

  it("keeps the plain ids when the published shards do not cover all shards", () => {
    expect(place(["w/0", "w/1"], new Map(), shardOf, 6)).toEqual(["w/0", "w/1"])
    // shard 5 unpublished (its runner died, or is taking it over)
    const partial = new Map([[0, "a"], [1, "a"], [2, "a"], [3, "a"], [4, "b"]])
    expect(place(["w/1", "w/2"], partial, shardOf, 6)).toEqual(["w/1", "w/2"])
  })
})
