/**
 * The source map of a workflow loaded from YAML: finds the file, line and column of a key path,
 * so errors found later (by `Runtime.prepare`: unknown types, config decode errors, unknown
 * inputs) point at the exact place in the file.
 */
import type { Pair } from "yaml"
import { isMap, isSeq } from "yaml"
import type { Location } from "../../../src/Errors.ts"
import type { SourceMap } from "../../../src/WorkflowGraph.ts"
import { deref, findPair, formatPath, locationOf, type Source } from "./document.ts"

/** Where a node is defined: its section (`sources`, ...) and its `id: {...}` pair. */
export interface NodeEntry {
  readonly section: string
  readonly pair: Pair
}

const indexOf = (segment: PropertyKey): number | undefined => {
  if (typeof segment === "number") return Number.isInteger(segment) && segment >= 0 ? segment : undefined
  if (typeof segment === "string" && /^[0-9]+$/.test(segment)) return Number(segment)
  return undefined
}

/**
 * Walks `path` down from `start` (whose own location is `startLocation`), returning the location
 * of the deepest segment found: a map entry's key, a list item's value.
 */
const walk = (
  source: Source,
  start: unknown,
  startLocation: Location | undefined,
  path: ReadonlyArray<PropertyKey>
): Location | undefined => {
  let current = deref(source, start)
  let location = startLocation
  for (const segment of path) {
    if (isMap(current)) {
      const pair = findPair(current, String(segment))
      if (pair === undefined) return location
      location = locationOf(source, pair.key) ?? location
      current = deref(source, pair.value)
    } else if (isSeq(current)) {
      const i = indexOf(segment)
      const item = i === undefined ? undefined : current.items[i]
      if (item === undefined) return location
      location = locationOf(source, item) ?? location
      current = deref(source, item)
    } else {
      return location
    }
  }
  return location
}

/** Builds the source map of a document whose nodes are indexed by id. */
export const make = (source: Source, nodes: ReadonlyMap<string, NodeEntry>): SourceMap => ({
  file: source.file,
  locate: (node, path) => {
    if (node === undefined) return walk(source, source.doc.contents, locationOf(source, source.doc.contents), path)
    const entry = nodes.get(node)
    if (entry === undefined) return undefined
    return walk(source, entry.pair.value, locationOf(source, entry.pair.key), path)
  },
  describe: (node, path) => {
    if (node === undefined) return formatPath(path)
    const section = nodes.get(node)?.section ?? "nodes"
    return formatPath([section, node, ...path])
  }
})
