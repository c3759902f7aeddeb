/**
 * The fixtures the DSL's type-level error tests share: two tagged errors of a user processor, an
 * orders source, sinks for any records and for dead-letter envelopes, a restart strategy, and a
 * user processor failing with both errors. Each test file declares its own `Order` type.
 */
import { Effect, Schema } from "effect"
import type * as Pipeline from "../../dsl/Pipeline.ts"
import * as Spec from "../../src/Spec.ts"

/** A user processor's error: a call took too long. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", { ms: Schema.Number }) {}

/** A user processor's error: a record it cannot handle. */
export class Invalid extends Schema.TaggedError<Invalid>()("Invalid", { id: Schema.Number }) {}

/** A memory source typed as records `O`. */
export const ordersOf = <O>() => Spec.source<O>("memory", { records: [] })

/** A sink for any records. */
export const out = Spec.sink<unknown>("memory_sink", {})

/** A dead-letter sink (it accepts envelopes). */
export const letters = Spec.sink<Pipeline.DeadLetterEnvelope>("memory_sink", {})

/** A restart strategy (it handles `ConnectorError`). */
export const restart = { type: "fixed-delay", attempts: 3, delay: "1s" } as const

/** A user processor of records `O` that can fail with {@link Timeout} or {@link Invalid}. */
export const enrichOf = <O>() => (records: ReadonlyArray<O>): Effect.Effect<ReadonlyArray<O>, Timeout | Invalid> => Effect.succeed(records)
