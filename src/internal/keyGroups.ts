/**
 * Key groups: how keyed records and keyed state are spread over the instances of a task, after
 * Flink's `KeyGroupRangeAssignment`.
 *
 * A key hashes to one of `max` key groups (`execution.key_groups`, 128 by default: the most
 * instances a keyed node can ever run), and instance `i` of `n` owns the contiguous range of
 * groups `[⌈i·max/n⌉, ⌊((i+1)·max − 1)/n⌋]`. Producers route a record to the instance that owns its
 * key's group, and operators checkpoint the key group of every state entry, so a restore with
 * another parallelism hands each new instance exactly the entries of the groups it now owns.
 * `max` is stored with the state: changing it would move keys between groups, and is refused.
 */
import { hashKey } from "./hash.ts"

/**
 * The default number of key groups.
 */
export const DEFAULT_KEY_GROUPS = 128

/** Murmur3's 32-bit finalizer: spreads the key hash before it is reduced to a group (as Flink does). */
const mix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The key group (0 ≤ g < max) of a key value. */
export const keyGroupOf = (key: unknown, max: number): number => mix(hashKey(key)) % max

/** The instance (0 ≤ i < n) that owns key group `group` (Flink's `computeOperatorIndexForKeyGroup`). */
export const instanceOfGroup = (group: number, max: number, n: number): number => Math.floor((group * n) / max)

/** The instance that owns a key value. */
export const instanceOfKey = (key: unknown, max: number, n: number): number => instanceOfGroup(keyGroupOf(key, max), max, n)

/** The key groups instance `i` of `n` owns: `[first, last]` (Flink's `computeKeyGroupRangeForOperatorIndex`). */
export const groupRange = (instance: number, max: number, n: number): readonly [number, number] => [
  Math.floor((instance * max + n - 1) / n),
  Math.floor(((instance + 1) * max - 1) / n)
]

/** Whether two ranges of key groups overlap. */
export const overlaps = (a: readonly [number, number], b: readonly [number, number]): boolean => a[0] <= b[1] && b[0] <= a[1]
