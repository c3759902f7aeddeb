/**
 * Restarts: what a failed attempt failed with, whether a restart can help, and after how long
 * the restart strategy restarts the workflow.
 */
import { Cause } from "effect"
import { RestoreError } from "../Checkpoint.ts"
import { ConnectorError, NodeError, StateVersionError } from "../Errors.ts"
import { isRefusal, StateBackendError } from "../StateBackend.ts"
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

/** Causes a restart cannot help with: the same definition or state would fail again. */
export const isPermanent = (error: NodeError | StateBackendError | RestoreError): boolean => {
  if (error instanceof StateBackendError) return isRefusal(error)
  if (error instanceof RestoreError) return true
  const cause = error.cause
  if (cause instanceof StateVersionError) return true
  if (cause instanceof ConnectorError && cause.reason._tag === "ConfigurationError") return true
  return false
}

/** What a failed attempt failed with: a NodeError (see {@link nodeErrorOf}) or a backend error. */
export const failureOf = (cause: Cause.Cause<unknown>): NodeError | StateBackendError | RestoreError | undefined => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some" && (failure.value instanceof StateBackendError || failure.value instanceof RestoreError)) {
    return failure.value
  }
  return nodeErrorOf(cause)
}

/**
 * The NodeError a failed attempt ended with: its first failure, or else a defect that is a
 * NodeError. Two ways a NodeError arrives as a defect: a connector may only fail with connector
 * errors, so one that must blame a fused node dies with it; and when a second task fails while
 * the first failure interrupts it (its own defect still in its cause), Effect's `forEach`
 * combines the causes and, a defect being present, turns every failure into a defect
 * (`causeElectDefects`). `undefined` when the attempt failed otherwise (interrupted, or a defect
 * of another kind).
 */
const nodeErrorOf = (cause: Cause.Cause<unknown>): NodeError | undefined => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") return failure.value instanceof NodeError ? failure.value : undefined
  for (const reason of cause.reasons) if (reason._tag === "Die" && reason.defect instanceof NodeError) return reason.defect
  return undefined
}
