/**
 * `max_keys` of the keyed stateful processors (`dedupe`, `aggregate`): the most keys (dedupe) or
 * groups per window (aggregate panes) one instance holds in its state. Without it the state grows
 * with every new key (an id-keyed dedupe over all time holds every id ever seen) until the process
 * runs out of memory, hours in. With it, the record that would add one key too many fails the run
 * with the limit and the ways out; nothing is evicted (an evicted dedupe key would let a duplicate
 * through, an evicted pane would emit a partial aggregate) — see docs/limits.md.
 */
import { RecordError } from "../../Errors.ts"

/** No limit (the default). */
export const UNLIMITED = Number.POSITIVE_INFINITY

/**
 * The error of a record whose key would be one more than `max` in the state of a `what`
 * processor instance. Thrown from the operator's loop (the task names the node).
 */
export const tooManyKeys = (what: "dedupe" | "aggregate", max: number, record: unknown): RecordError =>
  new RecordError({
    detail: `${what}: this record's key would be one more than max_keys (${max}) held in the state of one instance; ${
      what === "dedupe" ? "set a window so that keys expire" : "use a shorter window or fewer group_by fields"
    }, raise max_keys (each key costs memory), or raise the node's parallelism (each instance holds its own keys)`,
    record
  })
