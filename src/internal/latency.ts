/**
 * A plain latency histogram a task updates per batch: one array increment and two additions, no
 * Effect and no allocation, so the hot loop stays a loop. Metrics read it when scraped (see
 * src/observability/internal/metrics.ts) and turn it into Effect's `HistogramState`.
 *
 * Why not an Effect `Metric.histogram` updated per batch: every update looks its series up in the
 * metric registry (a map keyed by name and attributes) through the fiber's context, which the
 * synchronous paths of the runtime (a source chained to an inline sink) do not have at hand.
 */

/** Upper bounds of the buckets, in milliseconds (the last bucket, +Inf, is implicit). */
export const LATENCY_BOUNDS_MS: ReadonlyArray<number> = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000]

/** Counts per bucket (not cumulative; index `LATENCY_BOUNDS_MS.length` is +Inf), count and sum. */
export interface Latency {
  readonly buckets: Float64Array
  count: number
  sumMs: number
  minMs: number
  maxMs: number
}

/** An empty histogram. */
export const makeLatency = (): Latency => ({
  buckets: new Float64Array(LATENCY_BOUNDS_MS.length + 1),
  count: 0,
  sumMs: 0,
  minMs: Number.POSITIVE_INFINITY,
  maxMs: Number.NEGATIVE_INFINITY
})

/** Records one observation of `ms` milliseconds. */
export const recordLatency = (h: Latency, ms: number): void => {
  let i = 0
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]) i++
  h.buckets[i] += 1
  h.count += 1
  h.sumMs += ms
  if (ms < h.minMs) h.minMs = ms
  if (ms > h.maxMs) h.maxMs = ms
}

/** Adds `from` into `into` (carrying an attempt's histogram over a restart). */
export const addLatency = (into: Latency, from: Latency): void => {
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i] += from.buckets[i]
  into.count += from.count
  into.sumMs += from.sumMs
  if (from.minMs < into.minMs) into.minMs = from.minMs
  if (from.maxMs > into.maxMs) into.maxMs = from.maxMs
}
