/** Key hashing for partitioning records across the instances of a keyed task. */

/** FNV-1a over the UTF-16 code units of a string. */
const hashString = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A stable hash of a key value: same value (by content) → same hash, in every process. */
export const hashKey = (key: unknown): number => {
  switch (typeof key) {
    case "string":
      return hashString(key)
    case "number":
      return Number.isInteger(key) ? (Math.imul(key | 0, 0x9e3779b1) ^ Math.floor(key / 4294967296)) >>> 0 : hashString(String(key))
    case "bigint":
    case "boolean":
      return hashString(String(key))
    case "undefined":
      return 0
    default:
      return key === null ? 0 : hashString(JSON.stringify(key))
  }
}

/** The instance (0 ≤ i < n) that owns a key. */
export const partitionOf = (key: unknown, n: number): number => hashKey(key) % n
