/** Encoding and decoding of operator state values for checkpoints, with version checks. */
import { Effect, Schema } from "effect"
import { StateVersionError } from "../Errors.ts"
import type { StatefulProcessor } from "../Processor.ts"
import { decodeAll } from "./decode.ts"

/** Encodes state values with the operator's Schema (to JSON-safe values). */
export const encodeState = (
  processor: StatefulProcessor,
  entries: ReadonlyArray<readonly [string, unknown]>
): ReadonlyArray<readonly [string, unknown]> => {
  const encode = Schema.encodeUnknownSync(processor.stateSchema)
  return entries.map(([k, v]) => [k, encode(v)] as const)
}

/**
 * Decodes a saved operator state. A state written by another version of the operator is migrated
 * when the processor offers a migration, and refused with a clear error otherwise.
 */
export const decodeState = (
  node: string,
  processor: StatefulProcessor,
  saved: { readonly version: number; readonly entries: ReadonlyArray<readonly [string, unknown]> }
): Effect.Effect<ReadonlyArray<readonly [string, unknown]>, StateVersionError> =>
  Effect.gen(function*() {
    let entries = saved.entries
    if (saved.version !== processor.stateVersion) {
      const migrate = processor.migrate
      if (migrate === undefined) {
        return yield* new StateVersionError({
          node,
          found: saved.version,
          expected: processor.stateVersion,
          detail: "the operator offers no migration"
        })
      }
      const migrated: Array<readonly [string, unknown]> = []
      for (const [k, v] of entries) {
        const result = migrate(saved.version, v)
        if (result === undefined) {
          return yield* new StateVersionError({
            node,
            found: saved.version,
            expected: processor.stateVersion,
            detail: "the operator's migration does not handle this version"
          })
        }
        migrated.push([k, result.value])
      }
      entries = migrated
    }
    const decode = Schema.decodeUnknownExit(processor.stateSchema)
    const out: Array<readonly [string, unknown]> = []
    for (const [k, v] of entries) {
      const exit = decode(v)
      if (exit._tag === "Failure") {
        return yield* new StateVersionError({
          node,
          found: saved.version,
          expected: processor.stateVersion,
          detail: `state for key '${k}' does not decode (${decodeIssues(processor, v)})`
        })
      }
      out.push([k, exit.value])
    }
    return out
  })

/** What is wrong with a saved state value, as `path: message` parts (`total: Missing key`). */
const decodeIssues = (processor: StatefulProcessor, value: unknown): string => {
  const decoded = decodeAll(processor.stateSchema, value)
  if (decoded.ok) return "it decodes on its own"
  return decoded.issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message)).join("; ")
}
