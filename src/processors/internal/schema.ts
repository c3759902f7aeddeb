/**
 * Pieces shared by the processors: function-valued config keys (DSL only), and setting a field
 * of a new record safely.
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

/**
 * Sets an own field of a new record. A field named `__proto__` (JSON.parse makes such own keys,
 * and a YAML config may name one) is defined as a plain data property: a plain assignment would
 * replace the record's prototype instead.
 */
export const setOwn = (out: { [key: string]: unknown }, key: string, value: unknown): void => {
  if (key === "__proto__") {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    out[key] = value
  }
}
