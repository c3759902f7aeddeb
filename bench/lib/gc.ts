/**
 * A full garbage collection between measured runs (as JMH does between iterations), so a run does
 * not pay for the garbage the previous one left. Uses `--expose-gc` when the process has it, else
 * turns it on through V8's flags.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

let gc: (() => void) | undefined
export const collectGarbage = (): void => {
  if (gc === undefined) {
    const global = globalThis as { gc?: () => void }
    if (typeof global.gc === "function") {
      gc = global.gc
    } else {
      setFlagsFromString("--expose-gc")
      gc = runInNewContext("gc") as () => void
    }
  }
  gc()
}
