/**
 * The source map of a workflow loaded from YAML: finds the file, line and column of a key path,
 * so errors found later (by `Runtime.prepare`: unknown types, config decode errors, unknown
 * inputs) point at the exact place in the file.
 */
import type { Pair } from "yaml"
import { isMap, isScalar, isSeq } from "yaml"
import type { Location } from "../../../src/Errors.ts"
import type { SourceMap } from "../../../src/WorkflowGraph.ts"
import { deref, findPair, formatPath, locationAt, locationOf, type Source } from "./document.ts"

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

/**
 * The source map of a YAML workflow. Beyond {@link SourceMap}, `locateValue` finds the value at a
 * path (not its key) and, given a 1-based `column` inside a string value (an expression error),
 * the exact place of that character in the file when the value is written on one line.
 */
export interface YamlSourceMap extends SourceMap {
  readonly locateValue: (
    node: string | undefined,
    path: ReadonlyArray<PropertyKey>,
    column?: number
  ) => Location | undefined
}

const valueNode = (source: Source, start: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let current = deref(source, start)
  for (const segment of path) {
    if (isMap(current)) {
      const pair = findPair(current, String(segment))
      if (pair === undefined) return undefined
      current = deref(source, pair.value)
    } else if (isSeq(current)) {
      const i = indexOf(segment)
      if (i === undefined || current.items[i] === undefined) return undefined
      current = deref(source, current.items[i])
    } else return undefined
  }
  return current
}

/** The offset of the `column`-th character of a one-line scalar, when the source shows it verbatim. */
const columnOffset = (source: Source, node: unknown, column: number): number | undefined => {
  if (!isScalar(node) || typeof node.value !== "string" || node.range === undefined || node.range === null) return undefined
  const [start, end] = node.range
  const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE"
  if (!quoted && node.type !== "PLAIN") return undefined
  const first = start + (quoted ? 1 : 0)
  const raw = source.text.slice(first, end)
  if (raw.includes("\n")) return undefined
  // the characters up to the column must read the same in the file (no escapes before it)
  const prefix = node.value.slice(0, column - 1)
  if (raw.slice(0, prefix.length) !== prefix || column < 1 || column > node.value.length + 1) return undefined
  return first + column - 1
}

/** Builds the source map of a document whose nodes are indexed by id. */
export const make = (source: Source, nodes: ReadonlyMap<string, NodeEntry>): YamlSourceMap => ({
  file: source.file,
  locate: (node, path) => {
    if (node === undefined) return walk(source, source.doc.contents, locationOf(source, source.doc.contents), path)
    const entry = nodes.get(node)
    if (entry === undefined) return undefined
    return walk(source, entry.pair.value, locationOf(source, entry.pair.key), path)
  },
  locateValue: (node, path, column) => {
    const start = node === undefined ? source.doc.contents : nodes.get(node)?.pair.value
    if (node !== undefined && start === undefined) return undefined
    const value = valueNode(source, start, path)
    if (value === undefined || value === null) return undefined
    const offset = column === undefined ? undefined : columnOffset(source, value, column)
    return offset !== undefined ? locationAt(source, offset) : locationOf(source, value)
  },
  describe: (node, path) => {
    if (node === undefined) return formatPath(path)
    const section = nodes.get(node)?.section ?? "nodes"
    return formatPath([section, node, ...path])
  }
})
