/**
 * Schema pieces shared by the processor configs: function-valued keys (DSL only) and the
 * field-name maps of `map` and `rename`.
 */
import { Schema } from "effect"

/**
 * A config key whose value is a function. YAML can never produce one; the DSL puts the user's
 * function there. Decoding checks only that the value is a function (its types are the DSL's
 * business), so such configs still decode through the one config Schema and unknown keys are
 * still rejected.
 */
export const fn = <F extends Function>(expected: string): Schema.declare<F> =>
  Schema.declare((u: unknown): u is F => typeof u === "function", { expected })

/** True when `key` is an own property of `record` (records are plain objects). */
export const hasOwn = (record: unknown, key: string): boolean =>
  typeof record === "object" && record !== null && Object.hasOwn(record, key)
