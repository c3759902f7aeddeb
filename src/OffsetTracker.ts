/**
 * Contiguous-offset tracking for sources whose records are acknowledged out of order (parallel
 * sinks, brokers with per-message acks).
 *
 * Offsets are registered in the order they are read (increasing, gaps allowed) and acknowledged
 * in any order. The tracker only ever reports as committable the highest offset below which
 * *everything* registered is acknowledged: committing past an unacknowledged record is how
 * other systems lose data after a crash. A cap bounds how far reading may run ahead of the
 * oldest unacknowledged record, so memory stays bounded when one record is stuck.
 *
 * @example
 * ```ts
 * const tracker = OffsetTracker.make({ maxInFlight: 10_000 })
 * tracker.register(1); tracker.register(2); tracker.register(3)
 * tracker.ack(2); tracker.committable() // undefined: 1 is not acknowledged
 * tracker.ack(1); tracker.committable() // 2
 * ```
 * @since 0.1.0
 */

/**
 * The tracker.
 *
 * @category models
 * @since 0.1.0
 */
export interface OffsetTracker {
  /** Registers an offset as read; false (and nothing registered) when the cap is reached. */
  readonly register: (offset: number) => boolean
  /** Acknowledges a registered offset (unknown or repeated acks are ignored). */
  readonly ack: (offset: number) => void
  /** The highest offset below which everything registered is acknowledged, if any. */
  readonly committable: () => number | undefined
  /** Registered offsets not yet acknowledged or passed. */
  readonly inFlight: () => number
  /** True when `register` would refuse. */
  readonly full: () => boolean
}

/**
 * A tracker allowing at most `maxInFlight` registered offsets between the committable point and
 * the newest read.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly maxInFlight: number }): OffsetTracker => {
  // offsets in read order, with their acknowledgement; the head is the oldest not yet passed
  let offsets: Array<number> = []
  let acked: Array<boolean> = []
  let head = 0
  const index = new Map<number, number>()
  let committed: number | undefined
  const compact = () => {
    if (head > 1024 && head * 2 > offsets.length) {
      offsets = offsets.slice(head)
      acked = acked.slice(head)
      index.clear()
      for (let i = 0; i < offsets.length; i++) index.set(offsets[i], i)
      head = 0
    }
  }
  return {
    register: (offset) => {
      if (offsets.length - head >= options.maxInFlight) return false
      const last = offsets.length > head ? offsets[offsets.length - 1] : committed
      if (last !== undefined && offset <= last) throw new Error(`offset ${offset} registered after ${last}: offsets must increase`)
      index.set(offset, offsets.length)
      offsets.push(offset)
      acked.push(false)
      return true
    },
    ack: (offset) => {
      const i = index.get(offset)
      if (i === undefined || i < head) return
      acked[i] = true
      while (head < offsets.length && acked[head]) {
        committed = offsets[head]
        index.delete(offsets[head])
        head++
      }
      compact()
    },
    committable: () => committed,
    inFlight: () => offsets.length - head,
    full: () => offsets.length - head >= options.maxInFlight
  }
}
