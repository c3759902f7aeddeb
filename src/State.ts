/**
 * Keyed operator state: the store behind every stateful processor (aggregate, dedupe, user
 * reducers), designed so that checkpoints can snapshot and restore it.
 *
 * A {@link KeyedState} is a map from string keys to values, owned by one operator instance. It
 * tracks which keys changed since the last {@link KeyedState.takeChanges} call, so a checkpoint
 * can write only what changed (incremental checkpoints), and it can produce a full snapshot or be
 * restored from one. Values are encoded with the operator's value Schema (to JSON) when they
 * leave the process, so the state of an older checkpoint is never misread.
 *
 * **Gotchas**: values are treated as immutable: call `set` again after changing a value, or
 * the change is not seen by an incremental checkpoint. Changes are tracked from the first
 * `takeChanges` on: its result is only complete when used as a full snapshot.
 *
 * @since 0.1.0
 */

/**
 * Changes since the last `takeChanges` call.
 *
 * @category models
 * @since 0.1.0
 */
export interface Changes<V> {
  readonly upserts: ReadonlyArray<readonly [string, V]>
  readonly deletes: ReadonlyArray<string>
}

/**
 * A keyed state store.
 *
 * @category models
 * @since 0.1.0
 */
export interface KeyedState<V> {
  readonly get: (key: string) => V | undefined
  readonly set: (key: string, value: V) => void
  readonly delete: (key: string) => void
  readonly has: (key: string) => boolean
  readonly size: () => number
  readonly entries: () => IterableIterator<[string, V]>
  /** The keys set or deleted since the last call, then forgets them. */
  readonly takeChanges: () => Changes<V>
  /** Every entry (a full snapshot). */
  readonly snapshot: () => ReadonlyArray<readonly [string, V]>
  /** Replaces the whole content with a snapshot; no change is pending afterwards. */
  readonly restore: (entries: Iterable<readonly [string, V]>) => void
}

/**
 * An in-memory keyed state with change tracking.
 *
 * @example
 * ```ts
 * const state = State.inMemory<number>()
 * state.set("a", 1)
 * state.takeChanges() // { upserts: [["a", 1]], deletes: [] }
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const inMemory = <V>(): KeyedState<V> => {
  const map = new Map<string, V>()
  // key → true when set since the last takeChanges, false when deleted. Tracking starts with the
  // first takeChanges (the first checkpoint is a full snapshot anyway), so a run without
  // checkpoints does not remember every key it ever touched.
  let dirty = new Map<string, boolean>()
  let tracking = false
  return {
    get: (key) => map.get(key),
    set: (key, value) => {
      map.set(key, value)
      if (tracking) dirty.set(key, true)
    },
    delete: (key) => {
      if (map.delete(key) && tracking) dirty.set(key, false)
    },
    has: (key) => map.has(key),
    size: () => map.size,
    entries: () => map.entries(),
    takeChanges: () => {
      tracking = true
      const upserts: Array<readonly [string, V]> = []
      const deletes: Array<string> = []
      for (const [key, present] of dirty) {
        if (present && map.has(key)) upserts.push([key, map.get(key) as V])
        else deletes.push(key)
      }
      dirty = new Map()
      return { upserts, deletes }
    },
    snapshot: () => [...map.entries()],
    restore: (entries) => {
      map.clear()
      dirty = new Map()
      for (const [k, v] of entries) map.set(k, v)
    }
  }
}
