/**
 * Entry point of the `dataflare` executable (`bin/dataflare` runs this file with Node ≥ 22).
 *
 * The first SIGINT/SIGTERM asks a running workflow to stop gracefully (a checkpoint where it is,
 * or a drain with `--drain`; exit 0);
 * a second one, or one while nothing can stop gracefully, interrupts at once (exit 130). A signal
 * after the command is done changes nothing: the process exits with the command's code.
 *
 * @since 0.1.0
 */
import { Effect, Runtime } from "effect"
import { main, teardown } from "./Cli.ts"
import * as CliLog from "./internal/log.ts"
import * as Platform from "./internal/platform.ts"
import { announceStop, requestStop } from "./internal/signals.ts"

const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  const onSignal = () => {
    const message = requestStop()
    if (message !== undefined) {
      announceStop(message)
    } else {
      fiber.interruptUnsafe(fiber.id)
    }
  }
  fiber.addObserver((exit) => {
    // the command is done and the process exits with its code: a late signal changes nothing
    // (a second one while teardown hangs aborts). The late handlers go on before the first ones
    // come off: with no listener left, even for the instant between the two calls, Node puts the
    // signal back to its default action, and a SIGTERM landing then killed a completed run
    let late = 0
    const onLateSignal = () => {
      if (++late > 1) process.exit(130)
    }
    process.on("SIGINT", onLateSignal)
    process.on("SIGTERM", onLateSignal)
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    // Exit explicitly, also with 0, once stdout and stderr have taken everything written: a process
    // left to end by itself closes its signal handlers while it tears down, and a SIGTERM in those
    // milliseconds kills it (a completed run "killed by SIGTERM"; a third of the tries when the
    // signal follows the summary). process.exit keeps the handlers to the end.
    teardown(exit, (code) => {
      let pending = 2
      const flushed = () => {
        if (--pending === 0) process.exit(code)
      }
      process.stdout.write("", flushed)
      process.stderr.write("", flushed)
    })
  })
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
})

runMain(main.pipe(Effect.provide([Platform.layer, CliLog.layer])), { teardown })
