/**
 * Graceful stop on SIGINT/SIGTERM. A command that can stop cleanly (`run`) waits on
 * {@link stopRequested}; the first signal completes it (sources stop reading, in-flight batches
 * drain, a final checkpoint is taken). A signal when nothing is waiting — or a second signal —
 * interrupts the program at once (exit code 130).
 */
import { Effect } from "effect"

let onStop: (() => void) | undefined

/** Completes when a stop is requested by a signal; only one waiter at a time. */
export const stopRequested: Effect.Effect<void> = Effect.callback<void>((resume) => {
  onStop = () => resume(Effect.void)
  return Effect.sync(() => {
    onStop = undefined
  })
})

/** Requests a graceful stop; `false` when nothing is waiting for one (interrupt instead). */
export const requestStop = (): boolean => {
  const stop = onStop
  if (stop === undefined) return false
  onStop = undefined
  stop()
  return true
}
