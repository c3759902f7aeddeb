/**
 * Adaptive batching: the batch size of a source moves between `min` and `max` to carry as much
 * as it can without end-to-end latency passing a target.
 *
 * The batcher is fed one observation per batch that reached a sink: how many records and how
 * long they took from the source's read to the sink's acknowledgement. It grows the size
 * additively while the latency stays under the target and batches come full (there is load to
 * take), and halves it when the latency passes the target (AIMD, as TCP does). A `linger` bound
 * stops a partial batch from waiting for more records too long.
 *
 * Halving stops at a throughput floor, as Flink's buffer debloating sizes buffers: the records the
 * sinks acknowledged in the last second, times the latency target, spread over the batches that
 * can be in flight between the source and the sink (`inFlightBatches`). At that size the records
 * in flight take about the target to drain, so a smaller size would not lower the latency; it
 * would only cut the throughput. This matters when a backlog builds up (a stall, a burst): the
 * latency then passes the target because of the backlog, not the batch size, and halving down to
 * `min` would make every batch pay the per-batch cost while the backlog waits.
 *
 * Pure and synchronous: the runtime calls it with times taken from `Clock`, so tests drive it
 * with `TestClock`.
 *
 * @since 0.1.0
 */

/**
 * Settings (`execution.batching`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Settings {
  readonly min: number
  readonly max: number
  /** End-to-end latency to stay under, in ms. */
  readonly latencyTargetMs: number
  /** Longest a partial batch waits for more records, in ms. */
  readonly lingerMs: number
  /** Starting size (default: `min`). */
  readonly initial?: number
  /**
   * How many batches can be in flight between the source and its sinks (queue capacities plus one
   * per task on the way); the throughput floor divides by it (default 1).
   */
  readonly inFlightBatches?: number
}

/**
 * What the batcher reports.
 *
 * @category models
 * @since 0.1.0
 */
export interface Metrics {
  /** The batch size the source is asked for now. */
  readonly size: number
  /** Records per second acknowledged by the sinks over the last observations. */
  readonly rate: number
  /** Smoothed end-to-end latency of the last batches, in ms. */
  readonly latencyMs: number
  /** Observations so far. */
  readonly observations: number
}

/**
 * An adaptive batcher for one source.
 *
 * @category models
 * @since 0.1.0
 */
export interface AdaptiveBatcher {
  readonly settings: Settings
  /** Set by the source: whether its last batch was as large as asked (there is load to take). */
  full: boolean
  /** The size to ask the source for. */
  readonly size: () => number
  /**
   * One batch reached a sink: `records` records, `latencyMs` after they were read, at clock time
   * `now`; `full` tells whether the batch was as large as asked (there was load to take).
   */
  readonly observe: (observation: { readonly records: number; readonly latencyMs: number; readonly now: number; readonly full: boolean }) => void
  readonly metrics: () => Metrics
}

/**
 * A new batcher.
 *
 * @example
 * ```ts
 * const b = AdaptiveBatcher.make({ min: 100, max: 10_000, latencyTargetMs: 20, lingerMs: 5 })
 * b.observe({ records: 100, latencyMs: 3, now: 1000, full: true })
 * b.size() // > 100
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (settings: Settings): AdaptiveBatcher => {
  const min = Math.max(1, Math.floor(settings.min))
  const max = Math.max(min, Math.floor(settings.max))
  let size = Math.min(max, Math.max(min, Math.floor(settings.initial ?? min)))
  let latency = 0
  let observations = 0
  // sliding window of (time, records) for the rate
  const window: Array<readonly [number, number]> = []
  // additive step: grow to max in about 20 good observations
  const step = Math.max(1, Math.ceil((max - min) / 20))
  const inFlight = Math.max(1, settings.inFlightBatches ?? 1)
  const rate = (): number => {
    const span = window.length > 1 ? window[window.length - 1][0] - window[0][0] : 0
    if (span <= 0) return 0
    let records = 0
    for (let i = 1; i < window.length; i++) records += window[i][1]
    return (records * 1000) / span
  }
  return {
    settings,
    full: false,
    size: () => size,
    observe: ({ records, latencyMs, now, full }) => {
      observations += 1
      latency = observations === 1 ? latencyMs : latency * 0.7 + latencyMs * 0.3
      window.push([now, records])
      while (window.length > 1 && now - window[0][0] > 1000) window.shift()
      if (latencyMs > settings.latencyTargetMs) {
        // what drains within the target at the rate the sinks acknowledge: no use going lower
        const floor = Math.floor((rate() * settings.latencyTargetMs) / 1000 / inFlight)
        size = Math.min(max, Math.max(min, Math.floor(size / 2), floor))
      } else if (full && latency <= settings.latencyTargetMs * 0.8) {
        size = Math.min(max, size + step)
      }
    },
    metrics: () => ({ size, rate: rate(), latencyMs: latency, observations })
  }
}
