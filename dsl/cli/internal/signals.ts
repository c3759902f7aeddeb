/**
 * Graceful stop on SIGINT/SIGTERM. A command that can stop cleanly (`run`) arms the handler for
 * its whole duration with {@link whileArmed} and waits on {@link stopRequested}; the first signal
 * completes it (the run checkpoints where it is, or drains with `--drain`). A signal that arrives
 * while the command is armed but no longer waits — the run has just completed and the summary is
 * being printed — changes nothing: the command finishes and exits 0. A second signal, or one
 * when no command is armed, interrupts the program at once (exit 130).
 */
import { Effect } from "effect"

let armed: string | undefined
let signalled = false
/** How the stop message is printed (see {@link announceStop}). */
const textAnnouncer = (message: string): void => {
  process.stderr.write(`\n${message} (signal again to abort)\n`)
}
let announcer: (message: string) => void = textAnnouncer
const waiters = new Set<() => void>()

/** Completes when a stop is requested by a signal (at once if one already was). */
export const stopRequested: Effect.Effect<void> = Effect.callback<void>((resume) => {
  if (signalled) {
    resume(Effect.void)
    return
  }
  const waiter = () => resume(Effect.void)
  waiters.add(waiter)
  return Effect.sync(() => {
    waiters.delete(waiter)
  })
})

/**
 * Runs `effect` with the stop handler armed: the first signal in that time is a graceful stop,
 * announced on stderr with `message`.
 */
export const whileArmed = <A, E, R>(
  message: string,
  effect: Effect.Effect<A, E, R>,
  announce: (message: string) => void = textAnnouncer
): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      armed = message
      signalled = false
      announcer = announce
    }),
    () => effect,
    () =>
      Effect.sync(() => {
        armed = undefined
        announcer = textAnnouncer
      })
  )

/**
 * Changes what the armed command prints when a stop is requested (e.g. once it knows whether its
 * checkpoints are kept); nothing when no command is armed.
 */
export const restate = (message: string): void => {
  if (armed !== undefined) armed = message
}

/** Prints the stop message on stderr as the armed command asked (text, or a JSON log line). */
export const announceStop = (message: string): void => announcer(message)

/**
 * Requests a graceful stop: the message to print, or `undefined` when nothing is armed or a stop
 * was already requested (the caller then interrupts).
 */
export const requestStop = (): string | undefined => {
  if (armed === undefined || signalled) return undefined
  signalled = true
  for (const waiter of [...waiters]) waiter()
  waiters.clear()
  return armed
}
