/** Restart strategies: after a task failure, whether to restart the workflow and after how long. */
import { durationMillis, type RestartStrategy } from "../WorkflowGraph.ts"

/**
 * Decides the delay before restart number `attempt` (1-based), or `undefined` to give up.
 * `failureTimes` are the clock times of every failure so far, newest last; `random` is in [0, 1).
 */
export const nextDelay = (
  strategy: RestartStrategy | undefined,
  attempt: number,
  failureTimes: ReadonlyArray<number>,
  random: number
): number | undefined => {
  if (strategy === undefined) return undefined
  switch (strategy.type) {
    case "none":
      return undefined
    case "fixed-delay":
      return attempt <= strategy.attempts ? durationMillis(strategy.delay) : undefined
    case "exponential-backoff": {
      if (strategy.attempts !== undefined && attempt > strategy.attempts) return undefined
      const base = Math.min(
        durationMillis(strategy.max),
        durationMillis(strategy.initial) * (strategy.multiplier ?? 2) ** (attempt - 1)
      )
      const jitter = strategy.jitter ?? 0
      return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random)))
    }
    case "failure-rate": {
      const now = failureTimes[failureTimes.length - 1] ?? 0
      const window = durationMillis(strategy.interval)
      const recent = failureTimes.filter((t) => t > now - window).length
      if (recent > strategy.max_failures) return undefined
      return strategy.delay !== undefined ? durationMillis(strategy.delay) : 0
    }
  }
}
