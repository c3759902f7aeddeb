/** Test helper of the broker sources' lag: waits until `reader.lag()` reports an expected value. */
import { Effect } from "effect"
import type { SourceLag, SourceReader } from "../../src/Connector.ts"

/**
 * Polls `reader.lag()` every 50 ms until it is `{ value: expected, unit: "records" }`, giving up
 * after 60 s (a generous bound: the caller asserts on the value returned, the last one seen).
 */
export const untilLag = (reader: SourceReader<unknown>, expected: number): Effect.Effect<SourceLag | undefined> =>
  Effect.gen(function*() {
    let lag = reader.lag?.()
    for (let i = 0; i < 1200; i++) {
      if (lag !== undefined && lag.unit === "records" && lag.value === expected) return lag
      yield* Effect.sleep("50 millis")
      lag = reader.lag?.()
    }
    return lag
  })
