/**
 * Encoding and decoding of operator state values for checkpoints, with version checks; and which
 * saved entries an operator instance restores (by key group after a parallelism change).
 */
import { Effect, Schema } from "effect"
import type { Restored, RestoredOperator } from "../Checkpoint.ts"
import { StateVersionError } from "../Errors.ts"
import type { StatefulProcessor } from "../Processor.ts"
import { decodeAll } from "./decode.ts"
import { groupRange, overlaps } from "./keyGroups.ts"

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

/**
 * The saved state of operator instance `instance` of `parallelism` of `node`: the entries of that
 * instance when the checkpoint was taken at the same parallelism; otherwise the entries of the key
 * groups the instance now owns, gathered from every old instance, with the instance-wide entries
 * (key group -1) of each old instance whose groups overlap (to be merged by the processor).
 * `undefined` when the checkpoint holds no state of the node. The pre-flight phase has refused a
 * parallelism change of a state without key groups.
 */
export const savedStateOf = (
  restored: Restored,
  node: string,
  instance: number,
  parallelism: number,
  keyGroups: number
): { readonly version: number; readonly entries: ReadonlyArray<readonly [string, unknown]>; readonly shared: ReadonlyArray<readonly [string, unknown]> } | undefined => {
  const old: Array<RestoredOperator> = []
  for (let j = 0; restored.operators.has(`${node}/${j}`); j++) old.push(restored.operators.get(`${node}/${j}`)!)
  if (old.length === 0) return undefined
  if (old.length === parallelism) return { version: old[instance].version, entries: old[instance].entries, shared: [] }
  const mine = groupRange(instance, keyGroups, parallelism)
  const entries: Array<readonly [string, unknown]> = []
  const shared: Array<readonly [string, unknown]> = []
  old.forEach((saved, j) => {
    if (!overlaps(mine, groupRange(j, keyGroups, old.length))) return
    const groups = saved.groups ?? []
    saved.entries.forEach((entry, i) => {
      const g = groups[i] ?? -1
      if (g === -1) shared.push(entry)
      else if (g >= mine[0] && g <= mine[1]) entries.push(entry)
    })
  })
  return { version: old[0].version, entries, shared }
}

/**
 * Decodes a saved state (see {@link savedStateOf}) into the entries to restore: the key-group
 * entries, then each instance-wide entry merged over the old instances it came from.
 */
export const decodeSaved = (
  node: string,
  processor: StatefulProcessor,
  saved: { readonly version: number; readonly entries: ReadonlyArray<readonly [string, unknown]>; readonly shared: ReadonlyArray<readonly [string, unknown]> }
): Effect.Effect<ReadonlyArray<readonly [string, unknown]>, StateVersionError> =>
  Effect.gen(function*() {
    const entries = yield* decodeState(node, processor, saved)
    if (saved.shared.length === 0) return entries
    const shared = yield* decodeState(node, processor, { version: saved.version, entries: saved.shared })
    const byKey = new Map<string, Array<unknown>>()
    for (const [k, v] of shared) byKey.set(k, [...(byKey.get(k) ?? []), v])
    const merged: Array<readonly [string, unknown]> = [...entries]
    for (const [k, values] of byKey) {
      merged.push([k, values.length === 1 || processor.mergeEntries === undefined ? values[0] : processor.mergeEntries(k, values)])
    }
    return merged
  })
