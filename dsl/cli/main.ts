/**
 * Entry point of the `dataflare` executable (`bin/dataflare` runs this file with Node ≥ 22).
 *
 * The first SIGINT/SIGTERM asks a running workflow to stop gracefully (a checkpoint where it is,
 * or a drain with `--drain`; exit 0);
 * a second one, or one while nothing can stop gracefully, interrupts at once (exit 130).
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Runtime } from "effect"
import { main, teardown } from "./Cli.ts"
import * as CliLog from "./internal/log.ts"
import { requestStop } from "./internal/signals.ts"

const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  let signalled = false
  const onSignal = () => {
    signalled = true
    const message = requestStop()
    if (message !== undefined) {
      process.stderr.write(`\n${message} (signal again to abort)\n`)
    } else {
      fiber.interruptUnsafe(fiber.id)
    }
  }
  fiber.addObserver((exit) => {
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    // the command is done and the process exits with its code: a late signal changes nothing
    // (a second one while teardown hangs aborts)
    let late = 0
    const onLateSignal = () => {
      if (++late > 1) process.exit(130)
    }
    process.on("SIGINT", onLateSignal)
    process.on("SIGTERM", onLateSignal)
    teardown(exit, (code) => {
      if (signalled || code !== 0) process.exit(code)
    })
  })
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
})

runMain(main.pipe(Effect.provide([NodeServices.layer, CliLog.layer])), { teardown })
