/**
 * Helpers over the `yaml` package's document model: locations of nodes, dotted paths, aliases
 * and map lookups. Everything here is pure and works on a parsed (composed) document.
 */
import type { Document, LineCounter, Node, Pair } from "yaml"
import { isAlias, isMap, isScalar, isSeq } from "yaml"
import type { Location } from "../../../src/Errors.ts"

/** A parsed document with what is needed to turn offsets into locations. */
export interface Source {
  readonly file: string
  readonly text: string
  readonly doc: Document.Parsed
  readonly lines: LineCounter
}

/** The location of a source offset (1-based line and column). */
export const locationAt = (source: Source, offset: number): Location => {
  const { line, col } = source.lines.linePos(offset)
  return { file: source.file, line, column: col }
}

/** The location where a node starts, if the node came from the text. */
export const locationOf = (source: Source, node: unknown): Location | undefined => {
  if (node === null || typeof node !== "object" || !("range" in node)) return undefined
  const range = (node as Node).range
  return range === undefined || range === null ? undefined : locationAt(source, range[0])
}

/** A key path as written in a workflow file: `sources.orders.config.columns[0]`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else out += out.length === 0 ? String(segment) : `.${String(segment)}`
  }
  return out
}

/** Follows an alias (`*name`) to the node it refers to. */
export const deref = (source: Source, node: unknown): unknown => {
  if (isAlias(node)) return node.resolve(source.doc) ?? node
  return node
}

/** The key of a pair as a string (keys written as numbers or booleans are stringified). */
export const keyText = (pair: Pair): string | undefined => {
  const key = pair.key
  if (isScalar(key)) return key.value === null ? undefined : String(key.value)
  if (typeof key === "string" || typeof key === "number" || typeof key === "boolean") return String(key)
  return undefined
}

/** The pair of a map with the given key. */
export const findPair = (map: unknown, key: string): Pair | undefined => {
  if (!isMap(map)) return undefined
  for (const pair of map.items) if (keyText(pair) === key) return pair
  return undefined
}

/** A value that could not be made into plain data (an alias bomb), with why. */
export class Unreadable {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

/** At most this many aliases are expanded in one value (the `yaml` package's own guard). */
const MAX_ALIASES = 1000

/**
 * The plain JavaScript value of a node (aliases resolved); `undefined` for an absent node; an
 * {@link Unreadable} for a value whose aliases expand without bound (an alias bomb), which the
 * `yaml` package refuses with a `ReferenceError`.
 */
export const toJS = (source: Source, node: unknown): unknown => {
  if (node === null || node === undefined) return undefined
  if (isScalar(node) || isMap(node) || isSeq(node) || isAlias(node)) {
    try {
      return node.toJS(source.doc, { maxAliasCount: MAX_ALIASES })
    } catch (e) {
      if (e instanceof ReferenceError || e instanceof RangeError) {
        return new Unreadable(
          `this value expands its aliases (*name) more than ${MAX_ALIASES} times (a YAML alias bomb?): write the value out, or use fewer aliases`
        )
      }
      throw e
    }
  }
  return node
}

/** A short description of a YAML value's shape, for "expected X, got Y" messages. */
export const describeValue = (node: unknown): string => {
  if (isMap(node)) return "a mapping"
  if (isSeq(node)) return "a list"
  if (isScalar(node)) {
    const v = node.value
    if (v === null) return "nothing"
    if (typeof v === "string") return `the string ${JSON.stringify(v)}`
    return `${typeof v} ${String(v)}`
  }
  if (node === null || node === undefined) return "nothing"
  return "an unsupported value"
}
