/**
 * Pieces shared by the processors: function-valued config keys (DSL only).
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

